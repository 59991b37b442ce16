import { DomainError } from '../domain/errors.ts';
import type { Executor } from '../db/client.ts';
import type { NewEvent } from '../events/types.ts';
import { assertProductVisible, canSeeProduct, requireRole, type Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { idKey, keysetPage, noRows, toConnection, type PageArgs, idKeyOf } from './paging.ts';
import { findProduct } from '../db/repositories/products.ts';
import {
  countDevices,
  deleteDevice,
  findDevice,
  findDeviceById,
  findDeviceByIotId,
  insertDevices as insertDeviceRows,
  listDevicesPage,
  lockDevice,
  setDeviceEnabled,
  setDeviceSecret,
  type DeviceFilter,
} from '../db/repositories/devices.ts';
import { findGatewayOf, findGatewaysOf, listSubDevicesOf, unbindDevice } from '../db/repositories/gateways.ts';
import { deleteDeviceTags, listTags } from '../db/repositories/tags-desired.ts';
import type { DeviceRecord, DeviceState } from '../db/records.ts';
import { newDeviceName, newDeviceSecret, newIotId } from './secrets.ts';

/** RegisterDevice: DeviceName 4-32 of letters, digits and `-_@.:` (alink-protocol.md §5.4). */
export const DEVICE_NAME_RE = /^[A-Za-z0-9\-_@.:]{4,32}$/;
export const MAX_BATCH_REGISTER = 1000;

export const lifecycleEvent = (action: 'create' | 'delete' | 'enable' | 'disable', d: DeviceRecord): NewEvent => ({
  type: 'device.lifecycle',
  productKey: d.productKey,
  deviceName: d.deviceName,
  // alink-protocol.md §6.6, without `deviceSecret`: secrets never enter the event log (they would reach every subscriber).
  data: { action, iotId: d.iotId, productKey: d.productKey, deviceName: d.deviceName, messageCreateTime: Date.now() },
});

function checkNickname(n: string | null | undefined): string | null {
  if (n == null) return null;
  const len = [...n].length;
  if (len < 4 || len > 64)
    throw new DomainError('INVALID_NAME', 'nickname must be 4 to 64 characters', ['input', 'nickname']);
  return n;
}

export interface RegisteredDevice {
  device: DeviceRecord;
  deviceSecret: string;
}

export function createDeviceService(deps: ServiceDeps) {
  const { database, log, secrets } = deps;
  const db = database.db;

  async function requireProductIn(tx: Executor, productKey: string) {
    const product = await findProduct(tx, productKey);
    if (!product)
      throw new DomainError('PRODUCT_NOT_FOUND', `product ${productKey} does not exist`, ['input', 'productKey']);
    return product;
  }

  async function insertDevices(
    p: Principal,
    productKey: string,
    names: string[],
    nickname: string | null,
    fieldName: string,
  ) {
    requireRole(p, 'OPERATOR');
    assertProductVisible(p, productKey);
    names.forEach((n, i) => {
      if (!DEVICE_NAME_RE.test(n)) {
        throw new DomainError(
          'INVALID_NAME',
          `deviceName "${n}" must be 4 to 32 letters, digits or -_@.:`,
          fieldName === 'deviceName' ? ['input', 'deviceName'] : ['input', fieldName, String(i)],
        );
      }
    });
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new DomainError('DEVICE_ALREADY_EXISTS', `deviceName ${dup} appears twice`, ['input', fieldName]);
    const issued = names.map((deviceName) => ({ deviceName, secret: newDeviceSecret() }));
    return log.transaction(async (tx, emit) => {
      await requireProductIn(tx, productKey);
      const rows = await insertDeviceRows(
        tx,
        issued.map((d) => ({
          iotId: newIotId(),
          productKey,
          deviceName: d.deviceName,
          nickname,
          secretEnc: secrets.encrypt(d.secret),
        })),
      );
      if (rows.length !== issued.length) {
        const created = new Set(rows.map((r) => r.deviceName));
        const taken = issued.find((d) => !created.has(d.deviceName))!.deviceName;
        throw new DomainError('DEVICE_ALREADY_EXISTS', `device ${taken} already exists in product ${productKey}`, [
          'input',
          fieldName,
        ]);
      }
      const byName = new Map(rows.map((r) => [r.deviceName, r]));
      return issued.map((d): RegisteredDevice => {
        const device = byName.get(d.deviceName)!;
        emit(lifecycleEvent('create', device));
        return { device, deviceSecret: d.secret };
      });
    });
  }

  async function mutate(
    p: Principal,
    productKey: string,
    deviceName: string,
    role: 'OPERATOR' | 'ADMIN',
    fn: (tx: Executor, d: DeviceRecord, emit: (e: NewEvent) => void) => Promise<DeviceRecord | null>,
  ): Promise<DeviceRecord> {
    requireRole(p, role);
    assertProductVisible(p, productKey);
    return log.transaction(async (tx, emit) => {
      const before = await lockDevice(tx, productKey, deviceName);
      if (!before) {
        await requireProductIn(tx, productKey);
        throw new DomainError('DEVICE_NOT_FOUND', `device ${deviceName} does not exist in product ${productKey}`, [
          'input',
          'deviceName',
        ]);
      }
      return (await fn(tx, before, emit)) ?? before;
    });
  }

  const setEnabled = (enabled: boolean) => (p: Principal, productKey: string, deviceName: string) =>
    mutate(p, productKey, deviceName, 'OPERATOR', async (tx, d, emit) => {
      if (d.enabled === enabled) return d; // idempotent: no event for a no-op
      const after = (await setDeviceEnabled(tx, d.id, enabled))!;
      emit(lifecycleEvent(enabled ? 'enable' : 'disable', after));
      return after;
    });

  return {
    async register(
      p: Principal,
      input: { productKey: string; deviceName?: string | null; nickname?: string | null },
    ): Promise<RegisteredDevice> {
      requireRole(p, 'OPERATOR'); // before looking at the input: a VIEWER learns nothing from it
      const nickname = checkNickname(input.nickname);
      const [r] = await insertDevices(
        p,
        input.productKey,
        [input.deviceName ?? newDeviceName()],
        nickname,
        'deviceName',
      );
      return r!;
    },

    async registerMany(
      p: Principal,
      input: { productKey: string; deviceNames?: readonly string[] | null; count?: number | null },
    ): Promise<RegisteredDevice[]> {
      requireRole(p, 'OPERATOR');
      const hasNames = input.deviceNames != null;
      if (hasNames === (input.count != null)) {
        throw new DomainError('INVALID_INPUT', 'pass either deviceNames or count', [
          'input',
          hasNames ? 'count' : 'deviceNames',
        ]);
      }
      const names = hasNames
        ? [...input.deviceNames!]
        : Array.from({ length: Math.max(0, input.count!) }, newDeviceName);
      if (names.length < 1 || names.length > MAX_BATCH_REGISTER) {
        throw new DomainError('INVALID_INPUT', `register 1 to ${MAX_BATCH_REGISTER} devices per call`, [
          'input',
          hasNames ? 'deviceNames' : 'count',
        ]);
      }
      return insertDevices(p, input.productKey, names, null, 'deviceNames');
    },

    enable: setEnabled(true),
    disable: setEnabled(false),

    async delete(p: Principal, productKey: string, deviceName: string): Promise<DeviceRecord> {
      return mutate(p, productKey, deviceName, 'OPERATOR', async (tx, d, emit) => {
        await deleteDevice(tx, d.id);
        // Its place in a gateway topology (as sub-device or gateway) and its tags go with it; history ages out.
        await unbindDevice(tx, d.id);
        await deleteDeviceTags(tx, d.id);
        emit(lifecycleEvent('delete', d));
        return d;
      });
    },

    /** ADMIN only (graphql-api.md: device secrets are the ADMIN's); the old secret stops working at once. */
    async resetSecret(p: Principal, productKey: string, deviceName: string): Promise<RegisteredDevice> {
      const secret = newDeviceSecret();
      const device = await mutate(p, productKey, deviceName, 'ADMIN', async (tx, d, emit) => {
        await setDeviceSecret(tx, d.id, secrets.encrypt(secret));
        emit({
          type: 'registry.changed',
          productKey,
          deviceName,
          data: { entity: 'device', what: 'secretReset', productKey, deviceName, iotId: d.iotId },
        });
        return d;
      });
      return { device, deviceSecret: secret };
    },

    async get(p: Principal, productKey: string, deviceName: string): Promise<DeviceRecord | null> {
      if (!canSeeProduct(p, productKey)) return null;
      return findDevice(db, productKey, deviceName);
    },

    async getByIotId(p: Principal, iotId: string): Promise<DeviceRecord | null> {
      const d = await findDeviceByIotId(db, iotId);
      return d && canSeeProduct(p, d.productKey) ? d : null;
    },

    async getById(p: Principal, id: number): Promise<DeviceRecord | null> {
      if (!Number.isSafeInteger(id)) return null; // a global id of this type but not a row id: no such node
      const d = await findDeviceById(db, id);
      return d && canSeeProduct(p, d.productKey) ? d : null;
    },

    async list(
      p: Principal,
      filter: { productKey?: string | null; state?: DeviceState | null; nameContains?: string | null },
      args: PageArgs,
    ) {
      const page = keysetPage(args);
      if (filter.productKey != null && !canSeeProduct(p, filter.productKey))
        return toConnection([], page, () => 0, noRows);
      const where: DeviceFilter = { ...filter, productKeys: filter.productKey != null ? null : p.productKeys };
      const ids = {
        afterId: idKey(page.afterKey, 'after'),
        beforeId: idKey(page.beforeKey, 'before'),
        forward: page.direction === 'forward',
        limit: page.limit + 1,
      };
      const rows = await listDevicesPage(db, where, ids);
      return toConnection(rows, page, idKeyOf, () => countDevices(db, where));
    },

    /** The gateway a sub-device is bound to (topology, alink-protocol.md §1.7). */
    async gatewayOf(p: Principal, deviceId: number): Promise<DeviceRecord | null> {
      const d = await findGatewayOf(db, deviceId);
      return d && canSeeProduct(p, d.productKey) ? d : null;
    },

    /** The gateways of several sub-devices in one read (GraphQL's per-request loader batches Device.gateway). */
    async gatewaysOf(p: Principal, deviceIds: readonly number[]): Promise<Map<number, DeviceRecord>> {
      const ids = [...new Set(deviceIds)];
      if (ids.length === 0) return new Map();
      const gateways = await findGatewaysOf(db, ids);
      return new Map([...gateways].filter(([, d]) => canSeeProduct(p, d.productKey)));
    },

    async subDevicesOf(p: Principal, gatewayId: number): Promise<DeviceRecord[]> {
      return (await listSubDevicesOf(db, gatewayId)).filter((d) => canSeeProduct(p, d.productKey));
    },

    /** Device tags (thing/deviceinfo/update). */
    tags: (deviceId: number): Promise<{ attrKey: string; attrValue: string }[]> => listTags(db, deviceId),
  };
}

export type DeviceService = ReturnType<typeof createDeviceService>;
