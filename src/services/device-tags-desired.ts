import { DomainError, DomainErrors } from '../domain/errors.ts';
import { validateValue } from '../domain/tsl/value-check.ts';
import type { GroupCommitter } from '../events/committer.ts';
import { requireRole, type Principal } from './access.ts';
import type { CoreServiceDeps } from './core-deps.ts';
import { findDevice } from '../db/repositories/devices.ts';
import {
  deleteDesired,
  deleteTags,
  listDesired,
  lockDesired,
  upsertDesired,
  upsertTags,
} from '../db/repositories/tags-desired.ts';

/** alink-protocol.md §3.9 / §7: at most 200 tags per message; attrKey at most 100 bytes. */
export const TAG_LIMITS = { perMessage: 200, keyBytes: 100, valueChars: 1024 } as const;
export const TAG_KEY = /^[A-Za-z][A-Za-z0-9_.-]*$/;

export type { TagRow } from '../db/repositories/tags-desired.ts';

/** Batch sinks for tags and desired-property deletes (one statement each per group commit). */
export function registerTagsDesiredSinks(committer: GroupCommitter): void {
  committer.sink('tagsUpsert', upsertTags);
  committer.sink('tagsDelete', deleteTags);
  committer.sink('desiredDelete', deleteDesired);
}

/**
 * Device tags (thing/deviceinfo/update|delete, §6.12) and desired properties (thing/property/desired/get|delete) with a
 * version per property: the cloud sets desired values (setDesiredProperty); a device that was offline asks for them
 * and, once applied, deletes them at the version it saw, so it only ever receives what changed since.
 * Not the device shadow (`/shadow/...` topics): that is device-shadow.ts.
 */
export function createTagsDesiredService(deps: CoreServiceDeps) {
  const db = deps.database.db;

  return {
    async setDesired(
      p: Principal,
      input: { productKey: string; deviceName: string; items: unknown; versions?: unknown },
    ) {
      requireRole(p, 'OPERATOR');
      const info = await deps.productCache.get(input.productKey);
      if (!info || (p.productKeys !== null && !p.productKeys.includes(input.productKey))) {
        throw new DomainError('PRODUCT_NOT_FOUND', `product ${input.productKey} does not exist`, [
          'input',
          'productKey',
        ]);
      }
      const d = await findDevice(db, input.productKey, input.deviceName);
      if (!d)
        throw new DomainError('DEVICE_NOT_FOUND', `device ${input.deviceName} does not exist`, ['input', 'deviceName']);
      const items = input.items;
      if (!items || typeof items !== 'object' || Array.isArray(items) || Object.keys(items).length === 0) {
        throw new DomainError('INVALID_VALUE', 'items must be a non-empty JSON object', ['input', 'items']);
      }
      const versions = (input.versions ?? {}) as Record<string, unknown>;
      const errors = [];
      for (const [id, value] of Object.entries(items)) {
        const prop = info.model.properties.get(id);
        if (!prop) {
          errors.push({
            code: 'IDENTIFIER_NOT_FOUND',
            message: `property ${id} is not defined in the thing model`,
            field: ['input', 'items', id],
          });
          continue;
        }
        const r = validateValue(prop.dataType, value, id);
        if (!r.ok) errors.push({ code: 'INVALID_VALUE', message: r.message, field: ['input', 'items', id] });
      }
      if (errors.length) throw new DomainErrors(errors);
      return deps.log.transaction(async (tx) => {
        const current = await lockDesired(tx, d.id);
        const out: Record<string, number> = {};
        for (const [id, value] of Object.entries(items)) {
          const cur = current.find((c) => c.identifier === id);
          const expected = versions[id];
          // Optimistic concurrency: a caller that names the version it saw loses to a newer write.
          if (typeof expected === 'number' && (cur?.version ?? 0) !== expected) {
            throw new DomainError(
              'VERSION_CONFLICT',
              `desired ${id} is at version ${cur?.version ?? 0}, not ${expected}`,
              ['input', 'versions', id],
            );
          }
          const version = (cur?.version ?? 0) + 1;
          await upsertDesired(tx, d.id, id, value as object, version);
          out[id] = version;
        }
        return { versions: out };
      });
    },

    async desired(deviceId: number) {
      const rows = await listDesired(db, deviceId);
      return rows.map((r) => ({ identifier: r.identifier, value: r.value, version: r.version, time: r.updatedAt }));
    },
  };
}

export type TagsDesiredService = ReturnType<typeof createTagsDesiredService>;
