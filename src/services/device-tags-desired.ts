import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { decodeRequest, encodeReply, type AlinkRequest } from '../domain/alink/envelope.ts';
import { parseTopic, replyTopic } from '../domain/alink/topics.ts';
import { DomainError, DomainErrors } from '../domain/errors.ts';
import { validateValue } from '../domain/tsl/value-check.ts';
import { desiredProperties, deviceTags } from '../db/tables.ts';
import type { GroupCommitter } from '../events/committer.ts';
import type { NewEvent } from '../events/types.ts';
import { requireRole, type Principal } from './access.ts';
import type { CommandDeps } from './commands.ts';
import { findDevice } from './devices.ts';
import type { InboundMessage, Outbound, StepResult, TopicHandler } from './ingest.ts';
import type { DeviceRef } from './presence.ts';

/** alink-protocol.md §3.9 / §7: at most 200 tags per message; attrKey at most 100 bytes. */
export const TAG_LIMITS = { perMessage: 200, keyBytes: 100, valueChars: 1024 } as const;
const TAG_KEY = /^[A-Za-z][A-Za-z0-9_.-]*$/;

type TagRow = { deviceId: number; attrKey: string; attrValue: string };

/** Batch sinks for tags and desired-property deletes (one statement each per group commit). */
export function registerTagsDesiredSinks(committer: GroupCommitter): void {
  committer.sink('tagsUpsert', async (tx, rows) => {
    const last = new Map((rows as TagRow[]).map((r) => [`${r.deviceId}:${r.attrKey}`, r]));
    await tx
      .insert(deviceTags)
      .values([...last.values()])
      .onConflictDoUpdate({ target: [deviceTags.deviceId, deviceTags.attrKey], set: { attrValue: sql`excluded.attr_value`, updatedAt: sql`now()` } });
  });
  committer.sink('tagsDelete', async (tx, rows) => {
    for (const r of rows as { deviceId: number; attrKey: string }[]) await tx.delete(deviceTags).where(and(eq(deviceTags.deviceId, r.deviceId), eq(deviceTags.attrKey, r.attrKey)));
  });
  committer.sink('desiredDelete', async (tx, rows) => {
    for (const r of rows as { deviceId: number; identifier: string; version: number | null }[]) {
      await tx
        .delete(desiredProperties)
        .where(
          and(
            eq(desiredProperties.deviceId, r.deviceId),
            eq(desiredProperties.identifier, r.identifier),
            r.version == null ? undefined : eq(desiredProperties.version, r.version),
          ),
        );
    }
  });
}

/**
 * Device tags (thing/deviceinfo/update|delete, §6.12) and desired properties (thing/property/desired/get|delete) with a
 * version per property: the cloud sets desired values (setDesiredProperty); a device that was offline asks for them
 * and, once applied, deletes them at the version it saw, so it only ever receives what changed since.
 * Not the device shadow (`/shadow/...` topics): that is device-shadow.ts.
 */
export function createTagsDesiredService(deps: CommandDeps) {
  const db = deps.database.db;

  function reply(msg: InboundMessage, req: Pick<AlinkRequest, 'id' | 'idType' | 'ack'>, code: number, data: unknown, message?: string): Outbound[] {
    if (!req.ack) return [];
    return [{ topic: replyTopic(msg.topic), qos: msg.qos >= 1 ? 1 : 0, payload: encodeReply({ id: req.id, idType: req.idType, code, data, ...(message ? { message } : {}) }) }];
  }

  const tagEvent = (d: DeviceRef, type: 'thing.deviceinfo.update' | 'thing.deviceinfo.delete', value: unknown): NewEvent => ({
    type,
    productKey: d.productKey,
    deviceName: d.deviceName,
    data: { iotId: d.iotId, productKey: d.productKey, deviceName: d.deviceName, value, messageCreateTime: Date.now() },
  });

  const handler: TopicHandler = async ({ device, msg }) => {
    const t = parseTopic(msg.topic);
    const path = t.kind === 'sys' ? t.path.join('/') : '';
    const decoded = decodeRequest(msg.payload);
    if (!decoded.ok) {
      const e = decoded.error;
      return { events: [], after: reply(msg, { id: e.id ?? '', idType: e.idType ?? 'string', ack: e.ack }, 460, {}, e.message) };
    }
    const req = decoded.value;
    const fail = (code: number, message: string): StepResult => ({ events: [], after: reply(msg, req, code, {}, message) });

    if (path === 'thing/deviceinfo/update' || path === 'thing/deviceinfo/delete') {
      const list = req.params;
      if (!Array.isArray(list) || list.length === 0) return fail(460, 'params must be a non-empty array of {attrKey, attrValue}');
      if (list.length > TAG_LIMITS.perMessage) return fail(460, `at most ${TAG_LIMITS.perMessage} tags per message`);
      const rows: TagRow[] = [];
      for (const item of list as { attrKey?: unknown; attrValue?: unknown }[]) {
        const key = item?.attrKey;
        if (typeof key !== 'string' || !TAG_KEY.test(key) || Buffer.byteLength(key) > TAG_LIMITS.keyBytes) return fail(460, `attrKey ${JSON.stringify(key)} must be 1-100 bytes of letters, digits, _ . - starting with a letter`);
        if (path.endsWith('update')) {
          const value = item.attrValue;
          if (typeof value !== 'string' && typeof value !== 'number') return fail(460, `attrValue of ${key} must be a string`);
          if (String(value).length > TAG_LIMITS.valueChars) return fail(460, `attrValue of ${key} is longer than ${TAG_LIMITS.valueChars} characters`);
          rows.push({ deviceId: device.id, attrKey: key, attrValue: String(value) });
        } else rows.push({ deviceId: device.id, attrKey: key, attrValue: '' });
      }
      const update = path.endsWith('update');
      return {
        events: [tagEvent(device, update ? 'thing.deviceinfo.update' : 'thing.deviceinfo.delete', rows.map((r) => (update ? { attrKey: r.attrKey, attrValue: r.attrValue } : { attrKey: r.attrKey })))],
        rows: update ? { tagsUpsert: rows } : { tagsDelete: rows.map((r) => ({ deviceId: r.deviceId, attrKey: r.attrKey })) },
        after: reply(msg, req, 200, {}),
      };
    }

    if (path === 'thing/property/desired/get') {
      const ids = req.params;
      if (!Array.isArray(ids) || !ids.every((i) => typeof i === 'string')) return fail(460, 'params must be an array of property identifiers');
      const rows = await db
        .select()
        .from(desiredProperties)
        .where(and(eq(desiredProperties.deviceId, device.id), ids.length ? inArray(desiredProperties.identifier, ids as string[]) : undefined));
      return { events: [], after: reply(msg, req, 200, Object.fromEntries(rows.map((r) => [r.identifier, { value: r.value, version: r.version }]))) };
    }

    if (path === 'thing/property/desired/delete') {
      const p = req.params;
      if (!p || typeof p !== 'object' || Array.isArray(p)) return fail(460, 'params must be {"identifier": {"version": n}}');
      const rows = Object.entries(p as Record<string, { version?: unknown } | null>).map(([identifier, v]) => ({
        deviceId: device.id,
        identifier,
        version: v && typeof v.version === 'number' ? v.version : null,
      }));
      return { events: [], rows: { desiredDelete: rows }, after: reply(msg, req, 200, {}) };
    }
    return null;
  };

  return {
    handler,

    async setDesired(p: Principal, input: { productKey: string; deviceName: string; items: unknown; versions?: unknown }) {
      requireRole(p, 'OPERATOR');
      const info = await deps.productCache.get(input.productKey);
      if (!info || (p.productKeys !== null && !p.productKeys.includes(input.productKey))) {
        throw new DomainError('PRODUCT_NOT_FOUND', `product ${input.productKey} does not exist`, ['input', 'productKey']);
      }
      const d = await findDevice(db, input.productKey, input.deviceName);
      if (!d) throw new DomainError('DEVICE_NOT_FOUND', `device ${input.deviceName} does not exist`, ['input', 'deviceName']);
      const items = input.items;
      if (!items || typeof items !== 'object' || Array.isArray(items) || Object.keys(items).length === 0) {
        throw new DomainError('INVALID_VALUE', 'items must be a non-empty JSON object', ['input', 'items']);
      }
      const versions = (input.versions ?? {}) as Record<string, unknown>;
      const errors = [];
      for (const [id, value] of Object.entries(items)) {
        const prop = info.model.properties.get(id);
        if (!prop) {
          errors.push({ code: 'IDENTIFIER_NOT_FOUND', message: `property ${id} is not defined in the thing model`, field: ['input', 'items', id] });
          continue;
        }
        const r = validateValue(prop.dataType, value, id);
        if (!r.ok) errors.push({ code: 'INVALID_VALUE', message: r.message, field: ['input', 'items', id] });
      }
      if (errors.length) throw new DomainErrors(errors);
      return deps.log.transaction(async (tx) => {
        const current = await tx.select().from(desiredProperties).where(eq(desiredProperties.deviceId, d.id)).for('update');
        const out: Record<string, number> = {};
        for (const [id, value] of Object.entries(items)) {
          const cur = current.find((c) => c.identifier === id);
          const expected = versions[id];
          // Optimistic concurrency: a caller that names the version it saw loses to a newer write.
          if (typeof expected === 'number' && (cur?.version ?? 0) !== expected) {
            throw new DomainError('VERSION_CONFLICT', `desired ${id} is at version ${cur?.version ?? 0}, not ${expected}`, ['input', 'versions', id]);
          }
          const version = (cur?.version ?? 0) + 1;
          await tx
            .insert(desiredProperties)
            .values({ deviceId: d.id, identifier: id, value: value as object, version })
            .onConflictDoUpdate({ target: [desiredProperties.deviceId, desiredProperties.identifier], set: { value: value as object, version, updatedAt: new Date() } });
          out[id] = version;
        }
        return { versions: out };
      });
    },

    async desired(deviceId: number) {
      const rows = await db.select().from(desiredProperties).where(eq(desiredProperties.deviceId, deviceId)).orderBy(asc(desiredProperties.identifier));
      return rows.map((r) => ({ identifier: r.identifier, value: r.value, version: r.version, time: r.updatedAt }));
    },
  };
}

/** Upstream topics of tags and desired properties (§2.3). */
export function tagsDesiredRoute(topic: string): boolean {
  const t = parseTopic(topic);
  if (t.kind !== 'sys') return false;
  const p = t.path.join('/');
  return p === 'thing/deviceinfo/update' || p === 'thing/deviceinfo/delete' || p === 'thing/property/desired/get' || p === 'thing/property/desired/delete';
}

export type TagsDesiredService = ReturnType<typeof createTagsDesiredService>;
