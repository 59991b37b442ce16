import type { Config } from '../../config.ts';
import { isUnavailable } from '../../events/committer.ts';
import type { ApiRole, Principal } from '../../services/access.ts';
import type { Services } from '../../services/index.ts';
import type { DeviceRecord, ProductRecord } from '../../db/records.ts';
import { BusinessError, businessErrorOf, type CodeOverrides } from '../errors.ts';
import type { Params } from '../params.ts';

export interface OpContext {
  principal: Principal;
  params: Params;
  services: Services;
  config: Config;
}

/** Response fields besides `RequestId` and `Success` (cloud-api.md §6). */
export type OpResult = Record<string, unknown>;

export interface Operation {
  /** cloud-api.md §2: Query/Get/BatchGet/BatchQuery need VIEWER, the rest OPERATOR, CreateProduct ADMIN. */
  role: ApiRole;
  run(ctx: OpContext): Promise<OpResult>;
}

/** Runs a service call and turns its expected failures into the business errors of §5.2. */
export async function call<T>(fn: () => Promise<T>, overrides: CodeOverrides = {}): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toBusiness(e, overrides);
  }
}

/** The API code table lives in openapi/errors.ts; `overrides` are the operation's own readings of a code. */
export function toBusiness(e: unknown, overrides: CodeOverrides = {}): unknown {
  const business = businessErrorOf(e, overrides);
  if (business) return business;
  // The database (or its connection) failed: the caller may retry (§5.2).
  if (isUnavailable(e))
    return new BusinessError('iot.system.SystemException', 'a dependency is unavailable; retry later');
  return e;
}

export const productNotFound = (pk: string) =>
  new BusinessError('iot.prod.NotExistedProduct', `product ${pk} does not exist`);
export const deviceNotFound = (what: string) =>
  new BusinessError('iot.device.NotExistedDevice', `device ${what} does not exist`);

/** The product named, if the key may see it; else NotExistedProduct (the answer for a product that does not exist). */
export async function requireProduct(ctx: OpContext, productKey: string): Promise<ProductRecord> {
  const p = await ctx.services.products.get(ctx.principal, productKey);
  if (!p) throw productNotFound(productKey);
  return p;
}

/**
 * "dev" of §6: `IotId`, or `ProductKey` + `DeviceName` (IotId wins). A device outside the key's scope named by IotId
 * is NotExistedDevice; by product, NotExistedProduct (the answer for a product that does not exist).
 */
export async function resolveDevice(ctx: OpContext): Promise<DeviceRecord> {
  const iotId = ctx.params.opt('IotId');
  if (iotId !== undefined) {
    const d = await ctx.services.devices.getByIotId(ctx.principal, iotId);
    if (!d) throw deviceNotFound(iotId);
    return d;
  }
  const productKey = ctx.params.req('ProductKey');
  const deviceName = ctx.params.req('DeviceName');
  const d = await ctx.services.devices.get(ctx.principal, productKey, deviceName);
  if (d) return d;
  await requireProduct(ctx, productKey);
  throw deviceNotFound(deviceName);
}

/** A device as the services address it. */
export const deviceKey = (d: DeviceRecord): { productKey: string; deviceName: string } => ({
  productKey: d.productKey,
  deviceName: d.deviceName,
});

/** The `Items` JSON object of a property or desired-property set. */
export const propertyItems = (ctx: OpContext): Record<string, unknown> =>
  ctx.params.jsonObject('Items', 'iot.device.InvalidFormattedDevicePropertiesString');

/** `ProductKey` and the `DeviceName.N` list of a batch call: at least `DeviceName.1`. */
export function productDeviceNames(params: Params): { productKey: string; names: string[] } {
  const productKey = params.req('ProductKey');
  const names = params.list('DeviceName');
  if (names.length === 0) params.req('DeviceName.1');
  return { productKey, names };
}

/** Batch operations (§6.1): 1-100 names; any unknown one fails the whole call before anything is sent. */
export async function requireDevices(
  ctx: OpContext,
  productKey: string,
  names: string[],
  max = 100,
): Promise<DeviceRecord[]> {
  if (names.length === 0)
    throw new BusinessError('iot.common.InvalidFormattedParameter', 'DeviceName.N lists no devices');
  if (names.length > max)
    throw new BusinessError('iot.device.TooManyDevicePropertiesPerTime', `at most ${max} devices per call`);
  await requireProduct(ctx, productKey);
  const found = await ctx.services.cloudApi.devicesByName(productKey, names);
  const unknown = names.filter((n) => !found.has(n));
  if (unknown.length > 0) throw deviceNotFound(unknown.slice(0, 5).join(', '));
  return names.map((n) => found.get(n)!);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `yyyy-MM-dd HH:mm:ss` in UTC+8, the reference's Beijing time (§6). */
export function gmt(d: Date): string {
  const t = new Date(d.getTime() + 8 * 3600_000);
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
}

/** Device state names of the reference: ThingQL's DISABLED is DISABLE. */
export const statusOf = (s: string): string => (s === 'DISABLED' ? 'DISABLE' : s);

/** Values of properties are strings in responses: JSON for struct and array, `String(v)` otherwise. */
export const valueString = (v: unknown): string =>
  v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v);

/** Device secrets go to ADMIN keys only (§6.2). */
export const isAdmin = (p: Principal): boolean => p.role === 'ADMIN';
