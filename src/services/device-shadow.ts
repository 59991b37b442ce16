import {
  applyShadowWrite,
  SHADOW,
  shadowDocumentMessage,
  shadowState,
  type ShadowDocument,
} from '../domain/alink/shadow.ts';
import { shadowTopic } from '../domain/alink/topics.ts';
import { DomainError } from '../domain/errors.ts';
import { readShadow, writeShadow, type ShadowView } from '../db/repositories/shadows.ts';
import { platformEvent } from '../events/catalog.ts';
import type { NewEvent } from '../events/types.ts';
import { assertProductVisible, requireRole, type Principal } from './access.ts';
import type { CoreServiceDeps } from './core-deps.ts';
import { findDevice } from '../db/repositories/devices.ts';
import type { DeviceIdentity } from './presence.ts';

export type { ShadowView } from '../db/repositories/shadows.ts';

export const shadowSeconds = (): number => Math.floor(Date.now() / 1000);

/** The `device.shadow` event of a committed write (events/catalog.ts). */
export const shadowEvent = (
  d: DeviceIdentity,
  doc: ShadowDocument,
  source: 'device' | 'cloud',
  method: string,
): NewEvent =>
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
    if (!d)
      throw new DomainError('DEVICE_NOT_FOUND', `device ${deviceName} does not exist in product ${productKey}`, [
        'input',
        'deviceName',
      ]);
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
    async update(
      p: Principal,
      input: {
        productKey: string;
        deviceName: string;
        desired: unknown;
        version: number;
        deltaUpdate?: boolean | null;
      },
    ) {
      const d = await device(p, input.productKey, input.deviceName, 'OPERATOR');
      const desired = input.desired;
      const section =
        desired === null || desired === 'null'
          ? ({ kind: 'clear' } as const)
          : typeof desired === 'object' && !Array.isArray(desired)
            ? ({ kind: 'attributes', values: desired as Record<string, unknown> } as const)
            : null;
      if (!section)
        throw new DomainError(
          'INVALID_VALUE',
          'desired must be a JSON object (an attribute "null" deletes it) or "null"',
          ['input', 'desired'],
        );
      if (!Number.isSafeInteger(input.version) || input.version < 1)
        throw new DomainError('INVALID_INPUT', 'version must be a positive integer', ['input', 'version']);
      let outcome: ReturnType<typeof applyShadowWrite> | null = null;
      await deps.committer.transact(async (tx) => {
        // Refused writes change nothing and must not fail the grouped transaction: the outcome is kept, not thrown.
        outcome = applyShadowWrite(
          await readShadow(tx, d.id, true),
          { method: 'update', version: input.version, desired: section },
          shadowSeconds(),
          { replaceDesired: !input.deltaUpdate },
        );
        if (!outcome.ok) return [];
        await writeShadow(tx, d.id, outcome.value);
        return [shadowEvent(d, outcome.value, 'cloud', 'update')];
      });
      const applied = outcome as ReturnType<typeof applyShadowWrite> | null;
      if (!applied) throw new Error('shadow update committed without an outcome');
      if (!applied.ok) {
        const code = applied.error.code === SHADOW.VERSION_CONFLICT ? 'VERSION_CONFLICT' : 'INVALID_VALUE';
        throw new DomainError(code, applied.error.message, [
          'input',
          code === 'VERSION_CONFLICT' ? 'version' : 'desired',
        ]);
      }
      const done = applied.value;
      await deps.publisher
        .publish(
          shadowTopic('get', d.productKey, d.deviceName),
          shadowDocumentMessage('control', done, shadowSeconds()),
          1,
        )
        .catch((err: unknown) =>
          deps.logger.warn({ err, deviceName: d.deviceName }, 'could not push the shadow to the device'),
        );
      return { shadow: { ...done, updatedAt: new Date() } as ShadowView };
    },
  };
}

export type DeviceShadowService = ReturnType<typeof createDeviceShadowService>;
