import { and, asc, count, eq, inArray, type SQL } from 'drizzle-orm';
import { devices, products } from '../db/tables.ts';
import { canSeeProduct, requireRole, type Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { toDeviceRecord } from '../db/repositories/devices.ts';
import { toProductRecord } from '../db/repositories/products.ts';
import type { DeviceRecord, ProductRecord } from '../db/records.ts';

/**
 * Reads the Alibaba OpenAPI needs beyond what GraphQL asks for (cloud-api.md §6): offset pages (`CurrentPage`),
 * batch lookups by name, and device secrets for ADMIN keys. Writes go through the same services GraphQL uses.
 */
export function createCloudApiReads(deps: ServiceDeps) {
  const db = deps.database.db;
  const scope = (p: Principal): SQL | undefined => (p.productKeys === null ? undefined : inArray(products.productKey, [...p.productKeys, '']));

  return {
    async devicesByName(productKey: string, names: readonly string[]): Promise<Map<string, DeviceRecord>> {
      const out = new Map<string, DeviceRecord>();
      for (let i = 0; i < names.length; i += 1000) {
        const rows = await db.select().from(devices).where(and(eq(devices.productKey, productKey), inArray(devices.deviceName, names.slice(i, i + 1000))));
        for (const r of rows) out.set(r.deviceName, toDeviceRecord(r));
      }
      return out;
    },

    async devicesByIotId(p: Principal, productKey: string, iotIds: readonly string[]): Promise<DeviceRecord[]> {
      if (!canSeeProduct(p, productKey) || iotIds.length === 0) return [];
      const rows = await db.select().from(devices).where(and(eq(devices.productKey, productKey), inArray(devices.iotId, [...iotIds])));
      return rows.map(toDeviceRecord);
    },

    /** ADMIN only: a device's secret, decrypted. */
    async deviceSecret(p: Principal, deviceId: number): Promise<string | null> {
      requireRole(p, 'ADMIN');
      const rows = await db.select({ s: devices.secretEnc, pk: devices.productKey }).from(devices).where(eq(devices.id, deviceId));
      return rows[0] && canSeeProduct(p, rows[0].pk) ? deps.secrets.decrypt(rows[0].s) : null;
    },

    async devicePage(p: Principal, productKey: string, pageSize: number, page: number): Promise<{ total: number; rows: DeviceRecord[] }> {
      if (!canSeeProduct(p, productKey)) return { total: 0, rows: [] };
      const where = eq(devices.productKey, productKey);
      const [t] = await db.select({ n: count() }).from(devices).where(where);
      const rows = await db.select().from(devices).where(where).orderBy(asc(devices.id)).limit(pageSize).offset((page - 1) * pageSize);
      return { total: Number(t?.n ?? 0), rows: rows.map(toDeviceRecord) };
    },

    async productPage(p: Principal, pageSize: number, page: number): Promise<{ total: number; rows: ProductRecord[] }> {
      const where = scope(p);
      const [t] = await db.select({ n: count() }).from(products).where(where);
      const rows = await db.select().from(products).where(where).orderBy(asc(products.id)).limit(pageSize).offset((page - 1) * pageSize);
      return { total: Number(t?.n ?? 0), rows: rows.map(toProductRecord) };
    },
  };
}

export type CloudApiReads = ReturnType<typeof createCloudApiReads>;
