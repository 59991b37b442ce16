import { and, asc, eq, inArray, or } from 'drizzle-orm';
import type { Executor } from '../client.ts';
import type { DeviceRecord } from '../records.ts';
import { devices, deviceTopology, productSubDeviceGateways } from '../tables.ts';
import { toDeviceRecord } from './devices.ts';

/** Ids of the sub-devices bound to a gateway (topology, alink-protocol.md §1.7). */
export async function listBoundSubDeviceIds(ex: Executor, gatewayId: number): Promise<number[]> {
  const rows = await ex
    .select({ id: deviceTopology.subDeviceId })
    .from(deviceTopology)
    .where(eq(deviceTopology.gatewayId, gatewayId));
  return rows.map((r) => r.id);
}

/** The gateway id each of these sub-devices is bound to (sub-devices bound to none are left out). */
export async function findBindings(
  ex: Executor,
  subDeviceIds: readonly number[],
): Promise<{ subDeviceId: number; gatewayId: number }[]> {
  return ex
    .select({ subDeviceId: deviceTopology.subDeviceId, gatewayId: deviceTopology.gatewayId })
    .from(deviceTopology)
    .where(inArray(deviceTopology.subDeviceId, [...subDeviceIds]));
}

/** The id of the gateway a sub-device is bound to, or null. */
export async function findGatewayIdOf(ex: Executor, subDeviceId: number): Promise<number | null> {
  const [row] = await ex
    .select({ gatewayId: deviceTopology.gatewayId })
    .from(deviceTopology)
    .where(eq(deviceTopology.subDeviceId, subDeviceId));
  return row ? row.gatewayId : null;
}

export async function findGatewayOf(ex: Executor, subDeviceId: number): Promise<DeviceRecord | null> {
  const rows = await ex
    .select({ d: devices })
    .from(deviceTopology)
    .innerJoin(devices, eq(devices.id, deviceTopology.gatewayId))
    .where(eq(deviceTopology.subDeviceId, subDeviceId));
  return rows[0] ? toDeviceRecord(rows[0].d) : null;
}

/** The gateways of several sub-devices, by sub-device id. */
export async function findGatewaysOf(
  ex: Executor,
  subDeviceIds: readonly number[],
): Promise<Map<number, DeviceRecord>> {
  const rows = await ex
    .select({ sub: deviceTopology.subDeviceId, d: devices })
    .from(deviceTopology)
    .innerJoin(devices, eq(devices.id, deviceTopology.gatewayId))
    .where(inArray(deviceTopology.subDeviceId, [...subDeviceIds]));
  return new Map(rows.map((r) => [r.sub, toDeviceRecord(r.d)]));
}

/** The sub-devices bound to a gateway, in id order. */
export async function listSubDevicesOf(ex: Executor, gatewayId: number): Promise<DeviceRecord[]> {
  const rows = await ex
    .select({ d: devices })
    .from(deviceTopology)
    .innerJoin(devices, eq(devices.id, deviceTopology.subDeviceId))
    .where(eq(deviceTopology.gatewayId, gatewayId))
    .orderBy(asc(devices.id));
  return rows.map((r) => toDeviceRecord(r.d));
}

export async function bindSubDevices(ex: Executor, gatewayId: number, subDeviceIds: readonly number[]): Promise<void> {
  await ex
    .insert(deviceTopology)
    .values(subDeviceIds.map((id) => ({ subDeviceId: id, gatewayId })))
    .onConflictDoNothing();
}

export async function unbindSubDevices(
  ex: Executor,
  gatewayId: number,
  subDeviceIds: readonly number[],
): Promise<void> {
  await ex
    .delete(deviceTopology)
    .where(and(eq(deviceTopology.gatewayId, gatewayId), inArray(deviceTopology.subDeviceId, [...subDeviceIds])));
}

/** Removes a device from any topology, as sub-device or as gateway. */
export async function unbindDevice(ex: Executor, deviceId: number): Promise<void> {
  await ex
    .delete(deviceTopology)
    .where(or(eq(deviceTopology.subDeviceId, deviceId), eq(deviceTopology.gatewayId, deviceId)));
}

/** The gateway products allowed to register sub-devices in a product (`setSubDeviceGateways`), sorted. */
export async function listSubDeviceGatewayProducts(ex: Executor, productKey: string): Promise<string[]> {
  const t = productSubDeviceGateways;
  const rows = await ex
    .select({ k: t.gatewayProductKey })
    .from(t)
    .where(eq(t.productKey, productKey))
    .orderBy(asc(t.gatewayProductKey));
  return rows.map((r) => r.k);
}

export async function replaceSubDeviceGatewayProducts(
  ex: Executor,
  productKey: string,
  gatewayProductKeys: readonly string[],
): Promise<void> {
  const t = productSubDeviceGateways;
  await ex.delete(t).where(eq(t.productKey, productKey));
  if (gatewayProductKeys.length)
    await ex.insert(t).values(gatewayProductKeys.map((k) => ({ productKey, gatewayProductKey: k })));
}

/** Does the product allow gateways of `gatewayProductKey` to register its sub-devices? */
export async function allowsSubDeviceGateway(
  ex: Executor,
  productKey: string,
  gatewayProductKey: string,
): Promise<boolean> {
  const t = productSubDeviceGateways;
  const rows = await ex
    .select({ k: t.gatewayProductKey })
    .from(t)
    .where(and(eq(t.productKey, productKey), eq(t.gatewayProductKey, gatewayProductKey)));
  return rows.length > 0;
}
