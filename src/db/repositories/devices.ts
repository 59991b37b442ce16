import { and, asc, count, eq, ilike, inArray, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../client.ts';
import type { DeviceRecord, DeviceState } from '../records.ts';
import { devices } from '../tables.ts';
import { idPageConds, idPageOrder, type IdPage } from './paging.ts';

export type NewDevice = Pick<
  typeof devices.$inferInsert,
  'iotId' | 'productKey' | 'deviceName' | 'nickname' | 'secretEnc'
>;

/** What a device login needs: identity, state and the encrypted secret. */
export interface DeviceCredentials {
  id: number;
  iotId: string;
  productKey: string;
  deviceName: string;
  enabled: boolean;
  activated: boolean;
  secretEnc: string;
}

export interface DeviceFilter {
  productKey?: string | null;
  /** Limit to these products (null: every product). */
  productKeys?: readonly string[] | null;
  state?: DeviceState | null;
  nameContains?: string | null;
}

export function toDeviceRecord(r: typeof devices.$inferSelect): DeviceRecord {
  return {
    id: r.id,
    iotId: r.iotId,
    productKey: r.productKey,
    deviceName: r.deviceName,
    nickname: r.nickname,
    enabled: r.enabled,
    online: r.online,
    connectionEpoch: r.connectionEpoch,
    clientIp: r.clientIp,
    rrpcForm: r.rrpcForm === 'ext' ? 'ext' : 'sys',
    activatedAt: r.activatedAt,
    lastOnlineAt: r.lastOnlineAt,
    lastOfflineAt: r.lastOfflineAt,
    createdAt: r.createdAt,
  };
}

export async function findDevice(ex: Executor, productKey: string, deviceName: string): Promise<DeviceRecord | null> {
  const rows = await ex
    .select()
    .from(devices)
    .where(and(eq(devices.productKey, productKey), eq(devices.deviceName, deviceName)))
    .limit(1);
  return rows[0] ? toDeviceRecord(rows[0]) : null;
}

/** The device, its row locked for the rest of the transaction. */
export async function lockDevice(ex: Executor, productKey: string, deviceName: string): Promise<DeviceRecord | null> {
  const rows = await ex
    .select()
    .from(devices)
    .where(and(eq(devices.productKey, productKey), eq(devices.deviceName, deviceName)))
    .for('update');
  return rows[0] ? toDeviceRecord(rows[0]) : null;
}

export async function findDeviceByIotId(ex: Executor, iotId: string): Promise<DeviceRecord | null> {
  const rows = await ex.select().from(devices).where(eq(devices.iotId, iotId)).limit(1);
  return rows[0] ? toDeviceRecord(rows[0]) : null;
}

export async function findDeviceById(ex: Executor, id: number): Promise<DeviceRecord | null> {
  const rows = await ex.select().from(devices).where(eq(devices.id, id)).limit(1);
  return rows[0] ? toDeviceRecord(rows[0]) : null;
}

export async function deviceExists(ex: Executor, id: number): Promise<boolean> {
  const rows = await ex.select({ id: devices.id }).from(devices).where(eq(devices.id, id));
  return rows.length > 0;
}

/** The devices of one product with these names, read 1,000 names per query. */
export async function findDevicesByNames(
  ex: Executor,
  productKey: string,
  names: readonly string[],
): Promise<DeviceRecord[]> {
  const out: DeviceRecord[] = [];
  for (let i = 0; i < names.length; i += 1000) {
    const rows = await ex
      .select()
      .from(devices)
      .where(and(eq(devices.productKey, productKey), inArray(devices.deviceName, names.slice(i, i + 1000))));
    for (const r of rows) out.push(toDeviceRecord(r));
  }
  return out;
}

export async function findDevicesByIotIds(
  ex: Executor,
  productKey: string,
  iotIds: readonly string[],
): Promise<DeviceRecord[]> {
  const rows = await ex
    .select()
    .from(devices)
    .where(and(eq(devices.productKey, productKey), inArray(devices.iotId, [...iotIds])));
  return rows.map(toDeviceRecord);
}

/** Product key and name of each of these devices (unordered; unknown ids are left out). */
export async function findDeviceNames(
  ex: Executor,
  ids: readonly number[],
): Promise<{ productKey: string; deviceName: string }[]> {
  if (ids.length === 0) return [];
  return ex
    .select({ productKey: devices.productKey, deviceName: devices.deviceName })
    .from(devices)
    .where(inArray(devices.id, [...ids]));
}

/** Login data of several devices in one query (null-free: unknown pairs are left out). */
export async function findDeviceCredentials(
  ex: Executor,
  pairs: readonly { productKey: string; deviceName: string }[],
): Promise<DeviceCredentials[]> {
  const rows = await ex
    .select({
      id: devices.id,
      iotId: devices.iotId,
      productKey: devices.productKey,
      deviceName: devices.deviceName,
      enabled: devices.enabled,
      activatedAt: devices.activatedAt,
      secretEnc: devices.secretEnc,
    })
    .from(devices)
    // Constant text whatever the batch size (one prepared statement per connection, not one per size); the limit
    // tells the planner how many rows the JSON holds (it assumes 100, and would scan every device instead of looking
    // each one up: docs/uplink-pipeline.md, "Row counts for the planner").
    .where(
      sql`(${devices.productKey}, ${devices.deviceName}) in (select x.pk, x.dn from json_to_recordset(${JSON.stringify(
        pairs.map((p) => ({ pk: p.productKey, dn: p.deviceName })),
      )}::text::json) as x(pk text, dn text) limit ${pairs.length})`,
    );
  return rows.map((r) => ({
    id: r.id,
    iotId: r.iotId,
    productKey: r.productKey,
    deviceName: r.deviceName,
    enabled: r.enabled,
    activated: r.activatedAt != null,
    secretEnc: r.secretEnc,
  }));
}

/** A device's encrypted secret and product. */
export async function findDeviceSecret(
  ex: Executor,
  id: number,
): Promise<{ secretEnc: string; productKey: string } | null> {
  const rows = await ex
    .select({ secretEnc: devices.secretEnc, productKey: devices.productKey })
    .from(devices)
    .where(eq(devices.id, id));
  return rows[0] ?? null;
}

/** Inserts the devices whose names are free in their product; returns those inserted. */
export async function insertDevices(ex: Executor, values: NewDevice[]): Promise<DeviceRecord[]> {
  const rows = await ex
    .insert(devices)
    .values(values)
    .onConflictDoNothing({ target: [devices.productKey, devices.deviceName] })
    .returning();
  return rows.map(toDeviceRecord);
}

/** Null when the device conflicts with an existing one (name or iotId). */
export async function insertDeviceIfAbsent(ex: Executor, values: NewDevice): Promise<DeviceRecord | null> {
  const [row] = await ex.insert(devices).values(values).onConflictDoNothing().returning();
  return row ? toDeviceRecord(row) : null;
}

export async function setDeviceEnabled(ex: Executor, id: number, enabled: boolean): Promise<DeviceRecord | null> {
  const [row] = await ex.update(devices).set({ enabled }).where(eq(devices.id, id)).returning();
  return row ? toDeviceRecord(row) : null;
}

export async function setDeviceSecret(ex: Executor, id: number, secretEnc: string): Promise<void> {
  await ex.update(devices).set({ secretEnc }).where(eq(devices.id, id));
}

export async function deleteDevice(ex: Executor, id: number): Promise<void> {
  await ex.delete(devices).where(eq(devices.id, id));
}

/** The SQL condition of a device state (records.ts `deviceState`). */
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

function filterConds(f: DeviceFilter): SQL[] {
  const conds: SQL[] = [];
  if (f.productKey != null) conds.push(eq(devices.productKey, f.productKey));
  if (f.productKeys != null) conds.push(inArray(devices.productKey, [...f.productKeys, '']));
  if (f.state) conds.push(stateCondition(f.state));
  if (f.nameContains) conds.push(ilike(devices.deviceName, `%${f.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
  return conds;
}

export async function listDevicesPage(ex: Executor, filter: DeviceFilter, page: IdPage): Promise<DeviceRecord[]> {
  const rows = await ex
    .select()
    .from(devices)
    .where(and(...filterConds(filter), ...idPageConds(devices.id, page)))
    .orderBy(idPageOrder(devices.id, page))
    .limit(page.limit);
  return rows.map(toDeviceRecord);
}

export const countDevices = (ex: Executor, filter: DeviceFilter): Promise<number> =>
  ex.$count(devices, and(...filterConds(filter)));

/** Offset paging of one product's devices (the OpenAPI's `CurrentPage`): one page and the total, in id order. */
export async function listDevicesByOffset(
  ex: Executor,
  productKey: string,
  pageSize: number,
  page: number,
): Promise<{ total: number; rows: DeviceRecord[] }> {
  const where = eq(devices.productKey, productKey);
  const [t] = await ex.select({ n: count() }).from(devices).where(where);
  const rows = await ex
    .select()
    .from(devices)
    .where(where)
    .orderBy(asc(devices.id))
    .limit(pageSize)
    .offset((page - 1) * pageSize);
  return { total: Number(t?.n ?? 0), rows: rows.map(toDeviceRecord) };
}
