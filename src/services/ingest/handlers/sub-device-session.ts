import { ALINK } from '../../../domain/alink/codes.ts';
import { decodeRequest } from '../../../domain/alink/envelope.ts';
import type { UplinkOf } from '../../../domain/alink/uplink.ts';
import type { DeviceIdentity } from '../../presence.ts';
import { LIMITS, type GatewayService } from '../../gateway.ts';
import { deviceKey, type DeviceConnection } from '../../ports.ts';
import type { ProductCache } from '../../product-cache.ts';
import { alinkReply } from '../reply.ts';
import type { Outbound, UplinkHandler, UplinkRequest } from '../types.ts';

type Params = Record<string, unknown>;
interface Outcome {
  code: number;
  message: string;
  productKey: string;
  deviceName: string;
}

const SIGN_METHOD_KEYS = ['signmethod', 'signMethod', 'SignMethod'];
const ownSignMethod = (o: Params): unknown => SIGN_METHOD_KEYS.map((k) => o[k]).find((v) => v != null && v !== '');

/**
 * D24: the sub-devices of a batch login/logout. `params` is `{deviceList: [...]}` (the reference page; the Python Link
 * SDK adds `signMethod` at params level: `{"signMethod": "hmacSha256", "deviceList": [{productKey, deviceName,
 * clientId, timestamp, cleanSession, sign}]}`) or a plain array (the Python SDK's batch_logout). An entry without its
 * own sign method uses the params-level one. null: not 1 to LIMITS.loginBatch entries.
 */
export function batchEntries(params: unknown): Params[] | null {
  const obj = params !== null && typeof params === 'object' && !Array.isArray(params) ? (params as Params) : null;
  const list = Array.isArray(params) ? params : Array.isArray(obj?.deviceList) ? (obj!.deviceList as unknown[]) : null;
  if (!list || list.length === 0 || list.length > LIMITS.loginBatch) return null;
  const shared = obj ? ownSignMethod(obj) : undefined;
  return list.map((e) => {
    const entry = e !== null && typeof e === 'object' && !Array.isArray(e) ? (e as Params) : {};
    return shared !== undefined && ownSignMethod(entry) === undefined ? { ...entry, signMethod: shared } : entry;
  });
}

/**
 * Sub-device sessions over a gateway connection (alink-protocol.md §1.7, D20, D24): `subDeviceSession` takes
 * combine/login and combine/logout, `subDeviceBatchSession` combine/batch_login and combine/batch_logout. Handled after
 * the message itself is committed; the login decisions are the gateway service's, the connection (which sub-devices it
 * carries, its subscriptions) is reached through the `DeviceConnection` port. A login is answered only once the
 * gateway connection is subscribed to the sub-device's downstream topics (D19/D22), so a gateway that never subscribes
 * (`_ss=1`) gets the sub-device's first replies. Replies go out at QoS 0 on `${topic}_reply`.
 */
export function createSubDeviceSessionHandlers(deps: { products: ProductCache; gateway: GatewayService }): {
  single: UplinkHandler<'subDeviceSession'>;
  batch: UplinkHandler<'subDeviceBatchSession'>;
} {
  const { gateway } = deps;

  function ops(gw: DeviceIdentity, connection: DeviceConnection) {
    const subs = connection.subDevices;
    const login = async (p: Params): Promise<Outcome> => {
      const pk = String(p.productKey ?? '');
      const dn = String(p.deviceName ?? '');
      // The reference's gateway page: at most 1500 sub-devices online through one gateway (428 past it).
      if (!subs.has(deviceKey(pk, dn)) && subs.size >= LIMITS.subDevicesOnline) {
        return {
          code: ALINK.TOO_MANY_SUBDEVICES_ONLINE,
          message: `at most ${LIMITS.subDevicesOnline} sub-devices online through one gateway`,
          productKey: pk,
          deviceName: dn,
        };
      }
      const r = await gateway.login(gw, p, connection.clientIp);
      if (r.ok) {
        const key = deviceKey(r.productKey, r.deviceName);
        const prev = subs.get(key);
        subs.set(key, { device: r.device!, epoch: r.epoch! });
        if (prev) await gateway.logout(prev.device, prev.epoch, 'TAKEN_OVER').catch(() => undefined);
        await connection.subscribeDevice(r.productKey, r.deviceName);
      }
      return r;
    };
    const logout = async (p: Params): Promise<Outcome> => {
      const key = deviceKey(String(p.productKey ?? ''), String(p.deviceName ?? ''));
      const cur = subs.get(key);
      if (!cur)
        return {
          code: ALINK.SUBDEVICE_NO_SESSION,
          message: 'sub-device has no session',
          productKey: String(p.productKey ?? ''),
          deviceName: String(p.deviceName ?? ''),
        };
      subs.delete(key);
      // Nothing of it reaches the gateway any more: its filters go at once.
      connection.releaseDevice(cur.device.productKey, cur.device.deviceName);
      await gateway.logout(cur.device, cur.epoch, 'CLIENT_DISCONNECT');
      return {
        code: ALINK.SUCCESS,
        message: 'success',
        productKey: cur.device.productKey,
        deviceName: cur.device.deviceName,
      };
    };
    return { login, logout };
  }

  /** The common checks (a gateway's own session topic, a gateway product, a decodable request), then `run`. */
  const session =
    <K extends 'subDeviceSession' | 'subDeviceBatchSession'>(
      run: (
        params: unknown,
        o: ReturnType<typeof ops>,
        reply: (code: number, data: unknown, message: string) => Outbound[],
        request: UplinkRequest<UplinkOf<K>>,
      ) => Promise<Outbound[]>,
    ): UplinkHandler<K> =>
    (gw, request) => ({
      committed: async (): Promise<Outbound[]> => {
        const { connection } = request;
        // Only a gateway's own session topics: a logged-in sub-device cannot log others in.
        if (connection.device.id !== gw.id) return [];
        const decoded = decodeRequest(request.payload);
        const id = decoded.ok ? decoded.value.id : decoded.error.id;
        const reply = (code: number, data: unknown, message: string) =>
          alinkReply(request, { id }, { code, data, message }, { qos: 0 });
        const info = await deps.products.get(gw.productKey);
        if (info?.product.nodeType !== 'GATEWAY')
          return reply(ALINK.PARAM_ERROR, {}, 'only gateway products log sub-devices in');
        if (!decoded.ok) return reply(ALINK.PARAM_ERROR, {}, decoded.error.message);
        return run(decoded.value.params, ops(gw, connection), reply, request);
      },
    });

  const single = session<'subDeviceSession'>(async (params, { login, logout }, reply, request) => {
    const action = request.uplink.action;
    if (action !== 'combine/login' && action !== 'combine/logout') return [];
    const r =
      action === 'combine/login' ? await login((params ?? {}) as Params) : await logout((params ?? {}) as Params);
    return reply(r.code, { productKey: r.productKey, deviceName: r.deviceName }, r.message);
  });

  /** D24: each entry is verified and logged in (or out) on its own; 200 when all succeeded, else the first failure's code. */
  const batch = session<'subDeviceBatchSession'>(async (params, { login, logout }, reply, request) => {
    const entries = batchEntries(params);
    if (!entries) return reply(ALINK.PARAM_ERROR, {}, `deviceList must hold 1 to ${LIMITS.loginBatch} sub-devices`);
    const isLogin = request.uplink.action === 'combine/batch_login';
    const results: Outcome[] = [];
    for (const e of entries) results.push(isLogin ? await login(e) : await logout(e));
    const failed = results.find((r) => r.code !== ALINK.SUCCESS);
    return reply(
      failed ? failed.code : ALINK.SUCCESS,
      results.map((r) => ({ productKey: r.productKey, deviceName: r.deviceName, code: r.code, message: r.message })),
      failed ? failed.message : 'success',
    );
  });

  return { single, batch };
}
