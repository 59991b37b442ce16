import type { Client } from 'aedes';
import { canPublish, canSubscribe } from '../domain/alink/acl.ts';
import { decodeRequest, encodeReply } from '../domain/alink/envelope.ts';
import { filterOwner, topicOwner } from '../domain/alink/owner.ts';
import { extErrorTopic, parseTopic } from '../domain/alink/topics.ts';
import type { Logger } from '../logger.ts';
import type { CachedDevice, DeviceAuthService } from '../services/device-auth.ts';
import { LIMITS, type GatewayService } from '../services/gateway.ts';
import type { DevicePublisher } from '../services/ingest.ts';
import type { OfflineReason } from '../services/presence.ts';
import type { ProductCache } from '../services/product-cache.ts';
import { deviceKey, type Session } from './sessions.ts';
import { dropSubDeviceSubscriptions } from './subscription-acl.ts';

export type Acting =
  | { kind: 'self' }
  | { kind: 'sub'; device: CachedDevice }
  /** Bound to this gateway but not logged in: answered with 520 on /ext/error, not a disconnect (§3.10). */
  | { kind: 'noSession'; device: CachedDevice }
  | { kind: 'deny' };

/**
 * The gateway side of the broker (alink-protocol.md §1.7): which device a gateway connection acts for on a topic,
 * sub-device login/logout over the connection, and sub-device ACL (a gateway may use the topics of its bound
 * sub-devices, with their own topic categories).
 */
export function createGatewaySessions(deps: {
  gateway: GatewayService;
  deviceAuth: DeviceAuthService;
  products: ProductCache;
  publisher: () => DevicePublisher;
  autoSubscriptions: (pk: string, dn: string) => string[];
  logger: Logger;
}) {
  const { gateway, deviceAuth, products } = deps;
  const isSelf = (s: Session, o: { productKey: string; deviceName: string } | null) =>
    !o || (o.productKey === s.device.productKey && o.deviceName === s.device.deviceName);

  async function acting(s: Session, topic: string): Promise<Acting> {
    const owner = topicOwner(topic);
    if (isSelf(s, owner)) return { kind: 'self' };
    const logged = s.subs?.get(deviceKey(owner!.productKey, owner!.deviceName));
    if (logged) return { kind: 'sub', device: logged.device };
    const sub = await deviceAuth.lookup(owner!.productKey, owner!.deviceName);
    if (sub && (await gateway.isBound(s.device.id, sub.id))) return { kind: 'noSession', device: sub };
    return { kind: 'deny' };
  }

  function reply(topic: string, id: string | undefined, code: number, data: unknown, message: string) {
    return deps.publisher().publish(`${topic}_reply`, encodeReply({ ...(id !== undefined ? { id } : {}), code, data, message }), 0);
  }

  return {
    acting,

    async canPublishAs(s: Session, a: Acting, topic: string): Promise<boolean> {
      if (a.kind === 'deny') return false;
      const device = a.kind === 'self' ? s.device : a.device;
      const info = await products.get(device.productKey);
      return Boolean(info && canPublish(device, topic, info.categories));
    },

    async canSubscribeAs(s: Session, filter: string): Promise<boolean> {
      const owner = filterOwner(filter);
      let device: { productKey: string; deviceName: string } = s.device;
      if (!isSelf(s, owner) && s.subs !== undefined) {
        const sub = s.subs.get(deviceKey(owner!.productKey, owner!.deviceName))?.device ?? (await deviceAuth.lookup(owner!.productKey, owner!.deviceName));
        if (!sub || !(await gateway.isBound(s.device.id, sub.id))) return false;
        device = sub;
      }
      const info = await products.get(device.productKey);
      return Boolean(info && canSubscribe(device, filter, info.categories));
    },

    /** 520: the gateway sent traffic for a sub-device that is not logged in; the message is dropped (§3.10). */
    noSession(s: Session, sub: CachedDevice): void {
      deps
        .publisher()
        .publish(extErrorTopic(s.device.productKey, s.device.deviceName), encodeReply({ code: 520, data: { productKey: sub.productKey, deviceName: sub.deviceName }, message: 'sub-device has no session: log it in first' }), 0)
        .catch(() => undefined);
    },

    /** combine/login, logout, batch_login, batch_logout (§1.7, D20), after the message itself was committed. */
    async handleSession(client: Client, s: Session, topic: string, payload: Buffer): Promise<void> {
      const t = parseTopic(topic);
      if (t.kind !== 'extSession') return;
      const info = await products.get(s.device.productKey);
      const decoded = decodeRequest(payload);
      const id = decoded.ok ? decoded.value.id : decoded.error.id;
      if (info?.product.nodeType !== 'GATEWAY') return void (await reply(topic, id, 460, {}, 'only gateway products log sub-devices in'));
      if (!decoded.ok) return void (await reply(topic, id, 460, {}, decoded.error.message));
      const params = decoded.value.params;
      s.subs ??= new Map();
      const subs = s.subs;
      const login = async (p: Record<string, unknown>) => {
        if (!subs.has(deviceKey(String(p.productKey ?? ''), String(p.deviceName ?? ''))) && subs.size >= LIMITS.subDevicesOnline) {
          return { ok: false, code: 428, message: `at most ${LIMITS.subDevicesOnline} sub-devices online through one gateway`, productKey: String(p.productKey ?? ''), deviceName: String(p.deviceName ?? '') };
        }
        const r = await gateway.login(s.device, p, s.clientIp);
        if (r.ok) {
          const key = deviceKey(r.productKey, r.deviceName);
          const prev = subs.get(key);
          subs.set(key, { device: r.device!, epoch: r.epoch! });
          if (prev) await gateway.logout(prev.device, prev.epoch, 'TAKEN_OVER').catch(() => undefined);
          // D19 for sub-devices: the gateway connection is subscribed to the sub-device's downstream topics.
          client.subscribe({ subscriptions: deps.autoSubscriptions(r.productKey, r.deviceName).map((topic) => ({ topic, qos: 1 })) }, (err) => {
            if (err) deps.logger.warn({ err, deviceName: r.deviceName }, 'sub-device automatic subscription failed');
          });
        }
        return r;
      };
      const logout = async (p: Record<string, unknown>) => {
        const key = deviceKey(String(p.productKey ?? ''), String(p.deviceName ?? ''));
        const cur = subs.get(key);
        if (!cur) return { code: 520, message: 'sub-device has no session', productKey: String(p.productKey ?? ''), deviceName: String(p.deviceName ?? '') };
        subs.delete(key);
        dropSubDeviceSubscriptions(client, cur.device.productKey, cur.device.deviceName, (err) => deps.logger.warn({ err }, 'could not unsubscribe a logged-out sub-device'));
        await gateway.logout(cur.device, cur.epoch, 'CLIENT_DISCONNECT');
        return { code: 200, message: 'success', productKey: cur.device.productKey, deviceName: cur.device.deviceName };
      };
      const action = t.action;
      const obj = (params ?? {}) as Record<string, unknown>;
      if (action === 'combine/login' || action === 'combine/logout') {
        const r = action === 'combine/login' ? await login(obj) : await logout(obj);
        return void (await reply(topic, id, r.code, { productKey: r.productKey, deviceName: r.deviceName }, r.message));
      }
      if (action === 'combine/batch_login' || action === 'combine/batch_logout') {
        const list = (Array.isArray(params) ? params : Array.isArray(obj.deviceList) ? obj.deviceList : []) as Record<string, unknown>[];
        if (list.length === 0 || list.length > 50) return void (await reply(topic, id, 460, {}, 'deviceList must hold 1 to 50 sub-devices'));
        const results = [];
        for (const p of list) results.push(action === 'combine/batch_login' ? await login(p) : await logout(p));
        const failed = results.filter((r) => r.code !== 200);
        return void (await reply(
          topic,
          id,
          failed.length ? failed[0]!.code : 200,
          results.map((r) => ({ productKey: r.productKey, deviceName: r.deviceName, code: r.code, message: r.message })),
          failed.length ? failed[0]!.message : 'success',
        ));
      }
    },

    /** The gateway connection ended: its sub-devices go offline with the same reason (§1.7). */
    async closeAll(s: Session, reason: OfflineReason): Promise<void> {
      for (const [key, sub] of s.subs ?? []) {
        s.subs!.delete(key);
        await gateway.logout(sub.device, sub.epoch, reason).catch((err: unknown) => deps.logger.warn({ err }, 'sub-device logout failed'));
      }
    },

    /** A sub-device disabled, deleted, unbound or taken over elsewhere: drop it from this connection. */
    async drop(s: Session, productKey: string, deviceName: string, reason: OfflineReason | null, newerEpoch?: number): Promise<CachedDevice | null> {
      const key = deviceKey(productKey, deviceName);
      const cur = s.subs?.get(key);
      if (!cur || (newerEpoch !== undefined && cur.epoch >= newerEpoch)) return null;
      s.subs!.delete(key);
      if (reason) await gateway.logout(cur.device, cur.epoch, reason).catch(() => undefined);
      return cur.device;
    },
  };
}

export type GatewaySessions = ReturnType<typeof createGatewaySessions>;
