import { canSeeProduct, requireRole, type Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import {
  findDeviceSecret,
  findDevicesByIotIds,
  findDevicesByNames,
  listDevicesByOffset,
} from '../db/repositories/devices.ts';
import { listProductsByOffset } from '../db/repositories/products.ts';
import type { DeviceRecord, ProductRecord } from '../db/records.ts';

/**
 * Reads the Alibaba OpenAPI needs beyond what GraphQL asks for (cloud-api.md §6): offset pages (`CurrentPage`),
 * batch lookups by name, and device secrets for ADMIN keys. Writes go through the same services GraphQL uses.
 */
export function createCloudApiReads(deps: ServiceDeps) {
  const db = deps.database.db;

  return {
    async devicesByName(productKey: string, names: readonly string[]): Promise<Map<string, DeviceRecord>> {
      const rows = await findDevicesByNames(db, productKey, names);
      return new Map(rows.map((d) => [d.deviceName, d]));
    },

    async devicesByIotId(p: Principal, productKey: string, iotIds: readonly string[]): Promise<DeviceRecord[]> {
      if (!canSeeProduct(p, productKey) || iotIds.length === 0) return [];
      return findDevicesByIotIds(db, productKey, iotIds);
    },

    /** ADMIN only: a device's secret, decrypted. */
    async deviceSecret(p: Principal, deviceId: number): Promise<string | null> {
      requireRole(p, 'ADMIN');
      const row = await findDeviceSecret(db, deviceId);
      return row && canSeeProduct(p, row.productKey) ? deps.secrets.decrypt(row.secretEnc) : null;
    },

    async devicePage(
      p: Principal,
      productKey: string,
      pageSize: number,
      page: number,
    ): Promise<{ total: number; rows: DeviceRecord[] }> {
      if (!canSeeProduct(p, productKey)) return { total: 0, rows: [] };
      return listDevicesByOffset(db, productKey, pageSize, page);
    },

    async productPage(p: Principal, pageSize: number, page: number): Promise<{ total: number; rows: ProductRecord[] }> {
      return listProductsByOffset(db, p.productKeys, pageSize, page);
    },
  };
}

export type CloudApiReads = ReturnType<typeof createCloudApiReads>;
