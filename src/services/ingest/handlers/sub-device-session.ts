import { decodeRequest } from '../../../domain/alink/envelope.ts';
import { LIMITS, type GatewayService } from '../../gateway.ts';
import { deviceKey } from '../../ports.ts';
import type { ProductCache } from '../../product-cache.ts';
import { alinkReply } from '../reply.ts';
import type { Outbound, UplinkHandler } from '../types.ts';

type Params = Record<string, unknown>;
interface Outcome {
  code: number;
  message: string;
  productKey: string;
  deviceName: string;
}

/**
 * Sub-device sessions over a gateway connection (alink-protocol.md §1.7, D20): combine/login, logout, batch_login,
 * batch_logout. Handled after the message itself is committed; the login decisions are the gateway service's, the
 * connection (which sub-devices it carries, its subscriptions) is reached through the `DeviceConnection` port.
 * Replies go out at QoS 0 on `${topic}_reply`.
 */
export function createSubDeviceSessionHandler(deps: { products: ProductCache; gateway: GatewayService }): UplinkHandler<'subDeviceSession'> {
  const { gateway } = deps;
  return (gw, request) => ({
    committed: async (): Promise<Outbound[]> => {
      const { connection, uplink } = request;
      // Only a gateway's own session topics: a logged-in sub-device cannot log others in.
      if (connection.device.id !== gw.id) return [];
      const decoded = decodeRequest(request.payload);
      const id = decoded.ok ? decoded.value.id : decoded.error.id;
      const reply = (code: number, data: unknown, message: string) => alinkReply(request, { id }, { code, data, message }, { qos: 0 });
      const info = await deps.products.get(gw.productKey);
      if (info?.product.nodeType !== 'GATEWAY') return reply(460, {}, 'only gateway products log sub-devices in');
      if (!decoded.ok) return reply(460, {}, decoded.error.message);
      const params = decoded.value.params;
      const subs = connection.subDevices;

      const login = async (p: Params): Promise<Outcome> => {
        const pk = String(p.productKey ?? '');
        const dn = String(p.deviceName ?? '');
        // The reference's gateway page: at most 1500 sub-devices online through one gateway (428 past it, issue 16).
        if (!subs.has(deviceKey(pk, dn)) && subs.size >= LIMITS.subDevicesOnline) {
          return { code: 428, message: `at most ${LIMITS.subDevicesOnline} sub-devices online through one gateway`, productKey: pk, deviceName: dn };
        }
        const r = await gateway.login(gw, p, connection.clientIp);
        if (r.ok) {
          const key = deviceKey(r.productKey, r.deviceName);
          const prev = subs.get(key);
          subs.set(key, { device: r.device!, epoch: r.epoch! });
          if (prev) await gateway.logout(prev.device, prev.epoch, 'TAKEN_OVER').catch(() => undefined);
          // D19 for sub-devices: the gateway connection is subscribed to the sub-device's downstream topics.
          connection.subscribeDevice(r.productKey, r.deviceName);
        }
        return r;
      };
      const logout = async (p: Params): Promise<Outcome> => {
        const key = deviceKey(String(p.productKey ?? ''), String(p.deviceName ?? ''));
        const cur = subs.get(key);
        if (!cur) return { code: 520, message: 'sub-device has no session', productKey: String(p.productKey ?? ''), deviceName: String(p.deviceName ?? '') };
        subs.delete(key);
        // Nothing of it reaches the gateway any more: its filters go at once (issue 16, finding 7).
        connection.releaseDevice(cur.device.productKey, cur.device.deviceName);
        await gateway.logout(cur.device, cur.epoch, 'CLIENT_DISCONNECT');
        return { code: 200, message: 'success', productKey: cur.device.productKey, deviceName: cur.device.deviceName };
      };

      const action = uplink.action;
      const obj = (params ?? {}) as Params;
      if (action === 'combine/login' || action === 'combine/logout') {
        const r = action === 'combine/login' ? await login(obj) : await logout(obj);
        return reply(r.code, { productKey: r.productKey, deviceName: r.deviceName }, r.message);
      }
      if (action === 'combine/batch_login' || action === 'combine/batch_logout') {
        const list = (Array.isArray(params) ? params : Array.isArray(obj.deviceList) ? obj.deviceList : []) as Params[];
        if (list.length === 0 || list.length > 50) return reply(460, {}, 'deviceList must hold 1 to 50 sub-devices');
        const results: Outcome[] = [];
        for (const p of list) results.push(action === 'combine/batch_login' ? await login(p) : await logout(p));
        const failed = results.filter((r) => r.code !== 200);
        return reply(
          failed.length ? failed[0]!.code : 200,
          results.map((r) => ({ productKey: r.productKey, deviceName: r.deviceName, code: r.code, message: r.message })),
          failed.length ? failed[0]!.message : 'success',
        );
      }
      return [];
    },
  });
}
