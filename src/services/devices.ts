import { and, asc, desc, eq, gt, ilike, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import { DomainError } from '../domain/errors.ts';
import { devices, deviceTags, deviceTopology } from '../db/tables.ts';
import type { Executor } from '../db/client.ts';
import type { NewEvent } from '../events/types.ts';
import { assertProductVisible, canSeeProduct, requireRole, type Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { idKey, keysetPage, noRows, toConnection, type PageArgs } from './paging.ts';
import { findProduct } from '../db/repositories/products.ts';
import { findDevice, toDeviceRecord } from '../db/repositories/devices.ts';
import type { DeviceRecord, DeviceState } from '../db/records.ts';
import { newDeviceName, newDeviceSecret, newIotId } from './secrets.ts';

/** RegisterDevice: DeviceName 4-32 of letters, digits and `-_@.:` (alink-protocol.md §5.4). */
export const DEVICE_NAME_RE = /^[A-Za-z0-9\-_@.:]{4,32}$/;
export const MAX_BATCH_REGISTER = 1000;

export function stateCondition(state: DeviceState): SQL {
  switch (state) {
    case 'DISABLED':
      return sql`not ${devices.enabled}`;
    case 'ONLINE':
      return sql`${devices.enabled} and ${devices.online}`;
    case 'OFFLINE':
      return sql`${devices.enabled} and not ${devices.online} and ${devices.activatedAt} is not null`;
    case 'UNACTIVE':
      return sql`${devices.enabled} and not ${devices.online} and ${devices.activatedAt} is null`;
  }
}

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
  if (len < 4 || len > 64) throw new DomainError('INVALID_NAME', 'nickname must be 4 to 64 characters', ['input', 'nickname']);
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
    if (!product) throw new DomainError('PRODUCT_NOT_FOUND', `product ${productKey} does not exist`, ['input', 'productKey']);
    return product;
  }

  async function insertDevices(p: Principal, productKey: string, names: string[], nickname: string | null, fieldName: string) {
    requireRole(p, 'OPERATOR');
    assertProductVisible(p, productKey);
    names.forEach((n, i) => {
      if (!DEVICE_NAME_RE.test(n)) {
        throw new DomainError('INVALID_NAME', `deviceName "${n}" must be 4 to 32 letters, digits or -_@.:`, fieldName === 'deviceName' ? ['input', 'deviceName'] : ['input', fieldName, String(i)]);
      }
    });
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new DomainError('DEVICE_ALREADY_EXISTS', `deviceName ${dup} appears twice`, ['input', fieldName]);
    const issued = names.map((deviceName) => ({ deviceName, secret: newDeviceSecret() }));
    return log.transaction(async (tx, emit) => {
      await requireProductIn(tx, productKey);
      const rows = await tx
        .insert(devices)
        .values(issued.map((d) => ({ iotId: newIotId(), productKey, deviceName: d.deviceName, nickname, secretEnc: secrets.encrypt(d.secret) })))
        .onConflictDoNothing({ target: [devices.productKey, devices.deviceName] })
        .returning();
      if (rows.length !== issued.length) {
        const created = new Set(rows.map((r) => r.deviceName));
        const taken = issued.find((d) => !created.has(d.deviceName))!.deviceName;
        throw new DomainError('DEVICE_ALREADY_EXISTS', `device ${taken} already exists in product ${productKey}`, ['input', fieldName]);
      }
      const byName = new Map(rows.map((r) => [r.deviceName, toDeviceRecord(r)]));
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
      const rows = await tx
        .select()
        .from(devices)
        .where(and(eq(devices.productKey, productKey), eq(devices.deviceName, deviceName)))
        .for('update');
      if (!rows[0]) {
        await requireProductIn(tx, productKey);
        throw new DomainError('DEVICE_NOT_FOUND', `device ${deviceName} does not exist in product ${productKey}`, ['input', 'deviceName']);
      }
      const before = toDeviceRecord(rows[0]);
      return (await fn(tx, before, emit)) ?? before;
    });
  }

  const setEnabled = (enabled: boolean) => (p: Principal, productKey: string, deviceName: string) =>
    mutate(p, productKey, deviceName, 'OPERATOR', async (tx, d, emit) => {
      if (d.enabled === enabled) return d; // idempotent: no event for a no-op
      const [row] = await tx.update(devices).set({ enabled }).where(eq(devices.id, d.id)).returning();
      const after = toDeviceRecord(row!);
      emit(lifecycleEvent(enabled ? 'enable' : 'disable', after));
      return after;
    });

  return {
    async register(p: Principal, input: { productKey: string; deviceName?: string | null; nickname?: string | null }): Promise<RegisteredDevice> {
      requireRole(p, 'OPERATOR'); // before looking at the input: a VIEWER learns nothing from it
      const nickname = checkNickname(input.nickname);
      const [r] = await insertDevices(p, input.productKey, [input.deviceName ?? newDeviceName()], nickname, 'deviceName');
      return r!;
    },

    async registerMany(p: Principal, input: { productKey: string; deviceNames?: readonly string[] | null; count?: number | null }): Promise<RegisteredDevice[]> {
      requireRole(p, 'OPERATOR');
      const hasNames = input.deviceNames != null;
      if (hasNames === (input.count != null)) {
        throw new DomainError('INVALID_INPUT', 'pass either deviceNames or count', ['input', hasNames ? 'count' : 'deviceNames']);
      }
      const names = hasNames ? [...input.deviceNames!] : Array.from({ length: Math.max(0, input.count!) }, newDeviceName);
      if (names.length < 1 || names.length > MAX_BATCH_REGISTER) {
        throw new DomainError('INVALID_INPUT', `register 1 to ${MAX_BATCH_REGISTER} devices per call`, ['input', hasNames ? 'deviceNames' : 'count']);
      }
      return insertDevices(p, input.productKey, names, null, 'deviceNames');
    },

    enable: setEnabled(true),
    disable: setEnabled(false),

    async delete(p: Principal, productKey: string, deviceName: string): Promise<DeviceRecord> {
      return mutate(p, productKey, deviceName, 'OPERATOR', async (tx, d, emit) => {
        await tx.delete(devices).where(eq(devices.id, d.id));
        // Its place in a gateway topology (as sub-device or gateway) and its tags go with it; history ages out.
        await tx.delete(deviceTopology).where(or(eq(deviceTopology.subDeviceId, d.id), eq(deviceTopology.gatewayId, d.id)));
        await tx.delete(deviceTags).where(eq(deviceTags.deviceId, d.id));
        emit(lifecycleEvent('delete', d));
        return d;
      });
    },

    /** ADMIN only (graphql-api.md: device secrets are the ADMIN's); the old secret stops working at once. */
    async resetSecret(p: Principal, productKey: string, deviceName: string): Promise<RegisteredDevice> {
      const secret = newDeviceSecret();
      const device = await mutate(p, productKey, deviceName, 'ADMIN', async (tx, d, emit) => {
        await tx.update(devices).set({ secretEnc: secrets.encrypt(secret) }).where(eq(devices.id, d.id));
        emit({ type: 'registry.changed', productKey, deviceName, data: { entity: 'device', what: 'secretReset', productKey, deviceName, iotId: d.iotId } });
        return d;
      });
      return { device, deviceSecret: secret };
    },

    async get(p: Principal, productKey: string, deviceName: string): Promise<DeviceRecord | null> {
      if (!canSeeProduct(p, productKey)) return null;
      return findDevice(db, productKey, deviceName);
    },

    async getByIotId(p: Principal, iotId: string): Promise<DeviceRecord | null> {
      const rows = await db.select().from(devices).where(eq(devices.iotId, iotId)).limit(1);
      return rows[0] && canSeeProduct(p, rows[0].productKey) ? toDeviceRecord(rows[0]) : null;
    },

    async getById(p: Principal, id: number): Promise<DeviceRecord | null> {
      if (!Number.isSafeInteger(id)) return null; // a global id of this type but not a row id: no such node
      const rows = await db.select().from(devices).where(eq(devices.id, id)).limit(1);
      return rows[0] && canSeeProduct(p, rows[0].productKey) ? toDeviceRecord(rows[0]) : null;
    },

    async list(p: Principal, filter: { productKey?: string | null; state?: DeviceState | null; nameContains?: string | null }, args: PageArgs) {
      const page = keysetPage(args);
      const conds: SQL[] = [];
      if (filter.productKey != null) {
        if (!canSeeProduct(p, filter.productKey)) return toConnection([], page, () => 0, noRows);
        conds.push(eq(devices.productKey, filter.productKey));
      } else if (p.productKeys !== null) {
        conds.push(inArray(devices.productKey, [...p.productKeys, '']));
      }
      if (filter.state) conds.push(stateCondition(filter.state));
      if (filter.nameContains) conds.push(ilike(devices.deviceName, `%${filter.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
      const filters = and(...conds);
      const afterId = idKey(page.afterKey, 'after');
      const beforeId = idKey(page.beforeKey, 'before');
      if (afterId != null) conds.push(gt(devices.id, afterId));
      if (beforeId != null) conds.push(lt(devices.id, beforeId));
      const rows = await db
        .select()
        .from(devices)
        .where(and(...conds))
        .orderBy(page.direction === 'forward' ? asc(devices.id) : desc(devices.id))
        .limit(page.limit + 1);
      return toConnection(rows.map(toDeviceRecord), page, (r) => r.id, () => db.$count(devices, filters));
    },

    /** The gateway a sub-device is bound to (topology, alink-protocol.md §1.7). */
    async gatewayOf(p: Principal, deviceId: number): Promise<DeviceRecord | null> {
      const rows = await db.select({ d: devices }).from(deviceTopology).innerJoin(devices, eq(devices.id, deviceTopology.gatewayId)).where(eq(deviceTopology.subDeviceId, deviceId));
      const d = rows[0]?.d;
      return d && canSeeProduct(p, d.productKey) ? toDeviceRecord(d) : null;
    },

    /** The gateways of several sub-devices in one read (GraphQL's per-request loader batches Device.gateway). */
    async gatewaysOf(p: Principal, deviceIds: readonly number[]): Promise<Map<number, DeviceRecord>> {
      const ids = [...new Set(deviceIds)];
      if (ids.length === 0) return new Map();
      const rows = await db
        .select({ sub: deviceTopology.subDeviceId, d: devices })
        .from(deviceTopology)
        .innerJoin(devices, eq(devices.id, deviceTopology.gatewayId))
        .where(inArray(deviceTopology.subDeviceId, ids));
      return new Map(rows.filter((r) => canSeeProduct(p, r.d.productKey)).map((r) => [r.sub, toDeviceRecord(r.d)]));
    },

    async subDevicesOf(p: Principal, gatewayId: number): Promise<DeviceRecord[]> {
      const rows = await db
        .select({ d: devices })
        .from(deviceTopology)
        .innerJoin(devices, eq(devices.id, deviceTopology.subDeviceId))
        .where(eq(deviceTopology.gatewayId, gatewayId))
        .orderBy(asc(devices.id));
      return rows.map((r) => r.d).filter((d) => canSeeProduct(p, d.productKey)).map(toDeviceRecord);
    },

    /** Device tags (thing/deviceinfo/update). */
    async tags(deviceId: number): Promise<{ attrKey: string; attrValue: string }[]> {
      const rows = await db.select().from(deviceTags).where(eq(deviceTags.deviceId, deviceId)).orderBy(asc(deviceTags.attrKey));
      return rows.map((r) => ({ attrKey: r.attrKey, attrValue: r.attrValue }));
    },

  };
}

export type DeviceService = ReturnType<typeof createDeviceService>;
