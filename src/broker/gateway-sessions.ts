import { canSubscribe } from '../domain/alink/acl.ts';
import { encodeReply } from '../domain/alink/envelope.ts';
import { filterOwner } from '../domain/alink/owner.ts';
import { extErrorTopic } from '../domain/alink/topics.ts';
import type { Logger } from '../logger.ts';
import type { CachedDevice, DeviceAuthService } from '../services/device-auth.ts';
import type { GatewayService } from '../services/gateway.ts';
import type { DevicePublisher } from '../services/ports.ts';
import type { OfflineReason } from '../services/presence.ts';
import type { ProductCache } from '../services/product-cache.ts';
import { isAutoSubscription } from './auto-subscriptions.ts';
import { deviceKey, type Session } from './sessions.ts';

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
  publisher: DevicePublisher;
  logger: Logger;
}) {
  const { gateway, deviceAuth, products } = deps;
  const isSelf = (s: Session, o: { productKey: string; deviceName: string } | null) =>
    !o || (o.productKey === s.device.productKey && o.deviceName === s.device.deviceName);

  /** Whom a publish on a topic owned by `owner` is for (domain/alink/uplink.ts gives the owner). */
  async function acting(s: Session, owner: { productKey: string; deviceName: string } | null): Promise<Acting> {
    if (isSelf(s, owner)) return { kind: 'self' };
    const logged = s.subs?.get(deviceKey(owner!.productKey, owner!.deviceName));
    if (logged) return { kind: 'sub', device: logged.device };
    const sub = await deviceAuth.lookup(owner!.productKey, owner!.deviceName);
    if (sub && (await gateway.isBound(s.device.id, sub.id))) return { kind: 'noSession', device: sub };
    return { kind: 'deny' };
  }

  return {
    acting,

    async canSubscribeAs(s: Session, filter: string): Promise<boolean> {
      const owner = filterOwner(filter);
      let device: { productKey: string; deviceName: string } = s.device;
      if (!isSelf(s, owner) && s.subs !== undefined) {
        const logged = s.subs.get(deviceKey(owner!.productKey, owner!.deviceName))?.device;
        if (logged && isAutoSubscription(logged.productKey, logged.deviceName, filter)) return true;
        const sub = logged ?? (await deviceAuth.lookup(owner!.productKey, owner!.deviceName));
        if (!sub || !(await gateway.isBound(s.device.id, sub.id))) return false;
        device = sub;
      }
      if (device === s.device && isAutoSubscription(device.productKey, device.deviceName, filter)) return true;
      const info = await products.get(device.productKey);
      return Boolean(info && canSubscribe(device, filter, info.categories));
    },

    /** 520: the gateway sent traffic for a sub-device that is not logged in; the message is dropped (§3.10). */
    noSession(s: Session, sub: CachedDevice): void {
      deps.publisher
        .publish(
          extErrorTopic(s.device.productKey, s.device.deviceName),
          encodeReply({
            code: 520,
            data: { productKey: sub.productKey, deviceName: sub.deviceName },
            message: 'sub-device has no session: log it in first',
          }),
          0,
        )
        .catch(() => undefined);
    },

    /** The gateway connection ended: its sub-devices go offline with the same reason (§1.7). */
    async closeAll(s: Session, reason: OfflineReason): Promise<void> {
      for (const [key, sub] of s.subs ?? []) {
        s.subs!.delete(key);
        await gateway
          .logout(sub.device, sub.epoch, reason)
          .catch((err: unknown) => deps.logger.warn({ err }, 'sub-device logout failed'));
      }
    },
  };
}

export type GatewaySessions = ReturnType<typeof createGatewaySessions>;
