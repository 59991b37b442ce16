import { and, eq } from 'drizzle-orm';
import type { Executor } from '../client.ts';
import type { DeviceRecord } from '../records.ts';
import { devices } from '../tables.ts';

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
