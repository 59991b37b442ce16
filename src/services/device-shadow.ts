import { eq } from 'drizzle-orm';
import { applyShadowWrite, SHADOW, shadowDocumentMessage, shadowState, type ShadowDocument } from '../domain/alink/shadow.ts';
import { shadowTopic } from '../domain/alink/topics.ts';
import { DomainError } from '../domain/errors.ts';
import type { Executor } from '../db/client.ts';
import { deviceShadows } from '../db/tables.ts';
import { platformEvent } from '../events/catalog.ts';
import type { NewEvent } from '../events/types.ts';
import { assertProductVisible, requireRole, type Principal } from './access.ts';
import type { CoreServiceDeps } from './deps.ts';
import { findDevice } from '../db/repositories/devices.ts';
import type { DeviceIdentity } from './presence.ts';

export interface ShadowView extends ShadowDocument {
  updatedAt: Date;
}

export const shadowSeconds = (): number => Math.floor(Date.now() / 1000);

function toDocument(r: typeof deviceShadows.$inferSelect): ShadowView {
  const metadata = (r.metadata ?? {}) as Partial<ShadowDocument['metadata']>;
  return {
    version: r.version,
    reported: (r.reported ?? {}) as Record<string, unknown>,
    desired: (r.desired ?? {}) as Record<string, unknown>,
    metadata: { reported: metadata.reported ?? {}, desired: metadata.desired ?? {} },
    updatedAt: r.updatedAt,
  };
}

/** The device's shadow, null until first written; `lock` takes the row for the version rule of a write. */
export async function readShadow(ex: Executor, deviceId: number, lock = false): Promise<ShadowView | null> {
  const q = ex.select().from(deviceShadows).where(eq(deviceShadows.deviceId, deviceId));
  const rows = lock ? await q.for('update') : await q;
  return rows[0] ? toDocument(rows[0]) : null;
}

export async function writeShadow(ex: Executor, deviceId: number, doc: ShadowDocument): Promise<void> {
  const values = { version: doc.version, reported: doc.reported, desired: doc.desired, metadata: doc.metadata, updatedAt: new Date() };
  await ex.insert(deviceShadows).values({ deviceId, ...values }).onConflictDoUpdate({ target: deviceShadows.deviceId, set: values });
}

/** The `device.shadow` event of a committed write (events/catalog.ts). */
export const shadowEvent = (d: DeviceIdentity, doc: ShadowDocument, source: 'device' | 'cloud', method: string): NewEvent =>
  platformEvent('device.shadow', d, {
    iotId: d.iotId,
    productKey: d.productKey,
    deviceName: d.deviceName,
    source,
    method,
    version: doc.version,
    ...shadowState(doc),
    gmtCreate: Date.now(),
  });

/**
 * The device shadow (alink-protocol.md §2.4, domain/alink/shadow.ts), cloud side: GraphQL reads it (`Device.shadow`)
 * and changes `desired` (`updateDeviceShadow`), which is pushed to the device on `/shadow/get` as a `control` message.
 * Devices update, get and delete it on `/shadow/update` (the `shadowUpdate` uplink handler,
 * services/ingest/handlers/device-shadow.ts). Every write reads and writes the document in one transaction with the
 * row locked, so the version rule (greater than the current one, else 409) holds for concurrent writers on any
 * instance.
 */
export function createDeviceShadowService(deps: CoreServiceDeps) {
  const db = deps.database.db;

  async function device(p: Principal, productKey: string, deviceName: string, role: 'VIEWER' | 'OPERATOR') {
    requireRole(p, role);
    assertProductVisible(p, productKey);
    const d = await findDevice(db, productKey, deviceName);
    if (!d) throw new DomainError('DEVICE_NOT_FOUND', `device ${deviceName} does not exist in product ${productKey}`, ['input', 'deviceName']);
    return d;
  }

  return {
    /** `Device.shadow`: null until the device or the cloud first writes it. */
    get: (deviceId: number): Promise<ShadowView | null> => readShadow(db, deviceId),

    /**
     * UpdateDeviceShadow: the cloud sets `desired` (an object; an attribute "null" deletes it; `"null"` clears the
     * section) at `version`, which must be greater than the shadow's; without `deltaUpdate` the given desired replaces
     * the section. The new document is pushed to the device as `control` on `/shadow/get` (QoS 1: kept for a
     * persistent session that is offline).
     */
    async update(p: Principal, input: { productKey: string; deviceName: string; desired: unknown; version: number; deltaUpdate?: boolean | null }) {
      const d = await device(p, input.productKey, input.deviceName, 'OPERATOR');
      const desired = input.desired;
      const section =
        desired === null || desired === 'null'
          ? ({ kind: 'clear' } as const)
          : typeof desired === 'object' && !Array.isArray(desired)
            ? ({ kind: 'attributes', values: desired as Record<string, unknown> } as const)
            : null;
      if (!section) throw new DomainError('INVALID_VALUE', 'desired must be a JSON object (an attribute "null" deletes it) or "null"', ['input', 'desired']);
      if (!Number.isSafeInteger(input.version) || input.version < 1) throw new DomainError('INVALID_INPUT', 'version must be a positive integer', ['input', 'version']);
      let outcome: ReturnType<typeof applyShadowWrite> | null = null;
      await deps.committer.transact(async (tx) => {
        // Refused writes change nothing and must not fail the grouped transaction: the outcome is kept, not thrown.
        outcome = applyShadowWrite(await readShadow(tx, d.id, true), { method: 'update', version: input.version, desired: section }, shadowSeconds(), { replaceDesired: !input.deltaUpdate });
        if (!outcome.ok) return [];
        await writeShadow(tx, d.id, outcome.value);
        return [shadowEvent(d, outcome.value, 'cloud', 'update')];
      });
      const applied = outcome as ReturnType<typeof applyShadowWrite> | null;
      if (!applied) throw new Error('shadow update committed without an outcome');
      if (!applied.ok) {
        const code = applied.error.code === SHADOW.VERSION_CONFLICT ? 'VERSION_CONFLICT' : 'INVALID_VALUE';
        throw new DomainError(code, applied.error.message, ['input', code === 'VERSION_CONFLICT' ? 'version' : 'desired']);
      }
      const done = applied.value;
      await deps.publisher
        .publish(shadowTopic('get', d.productKey, d.deviceName), shadowDocumentMessage('control', done, shadowSeconds()), 1)
        .catch((err: unknown) => deps.logger.warn({ err, deviceName: d.deviceName }, 'could not push the shadow to the device'));
      return { shadow: { ...done, updatedAt: new Date() } as ShadowView };
    },
  };
}

export type DeviceShadowService = ReturnType<typeof createDeviceShadowService>;
