import type { EventHub } from '../events/hub.ts';
import type { Logger } from '../logger.ts';
import type { GatewayService } from './gateway.ts';
import { deviceKey, type DeviceConnection, type DevicePublisher, type SessionControl } from './ports.ts';
import type { DeviceIdentity, OfflineReason } from './presence.ts';

/**
 * Who must be disconnected, and which gateway connections must stop carrying a sub-device, when committed events
 * say so (from this instance or another):
 * - a newer ONLINE of a device connected here takes this connection over (D6 across instances);
 * - disable, delete and secret reset disconnect the device at once (KICKED) and log it out of any gateway here,
 *   telling the gateway with thing/topo/change (§3.9) unless it was only a secret reset;
 * - a topology removal logs the sub-devices out of their gateway's connection.
 * Each time the connection also drops the sub-device's subscriptions and cached ACL decisions.
 */
export function startSessionPolicy(deps: {
  hub: EventHub;
  sessions: SessionControl;
  gateway: GatewayService;
  publisher: DevicePublisher;
  logger: Logger;
}) {
  const { sessions, gateway } = deps;

  /** Forget a sub-device on a gateway connection; with a reason, record its logout. Returns it when it was there. */
  async function dropSub(
    conn: DeviceConnection,
    productKey: string,
    deviceName: string,
    reason: OfflineReason | null,
    newerEpoch?: number,
  ): Promise<DeviceIdentity | null> {
    const key = deviceKey(productKey, deviceName);
    const cur = conn.subDevices.get(key);
    if (!cur || (newerEpoch !== undefined && cur.epoch >= newerEpoch)) return null;
    conn.subDevices.delete(key);
    // Its filters and cached ACL decisions on this connection go in the same tick.
    conn.releaseDevice(productKey, deviceName);
    if (reason) await gateway.logout(cur.device, cur.epoch, reason).catch(() => undefined);
    return cur.device;
  }

  return deps.hub.on(['device.status', 'device.lifecycle', 'registry.changed', 'thing.topo.lifecycle'], (e) => {
    if (!e.productKey || !e.deviceName) return;
    const { productKey: pk, deviceName: dn } = e as { productKey: string; deviceName: string };
    if (e.type === 'device.status' && e.data.status === 'online') {
      const epoch = Number(e.data.connectionEpoch);
      sessions.kickOlderThan(pk, dn, epoch);
      // A sub-device logged in again elsewhere: forget it here (its old epoch no longer counts).
      for (const conn of sessions.carrying(pk, dn)) void dropSub(conn, pk, dn, null, epoch);
      return;
    }
    const action =
      e.type === 'device.lifecycle'
        ? String(e.data.action)
        : e.type === 'registry.changed' && e.data.entity === 'device' && e.data.what === 'secretReset'
          ? 'reset'
          : null;
    if (action === 'disable' || action === 'delete' || action === 'reset') {
      sessions.kick(pk, dn, 'KICKED');
      for (const conn of sessions.carrying(pk, dn)) {
        void dropSub(conn, pk, dn, 'KICKED').then((sub) => {
          if (!sub || action === 'reset') return;
          const out = gateway.topoChange(conn.device, action === 'delete' ? 1 : 8, [sub], String(Date.now()));
          deps.publisher.publish(out.topic, out.payload as Buffer, out.qos).catch(() => undefined);
        });
      }
    }
    if (e.type === 'thing.topo.lifecycle' && e.data.action === 'remove') {
      const conn = sessions.connectionOf(pk, dn);
      for (const d of (e.data.devices as { productKey: string; deviceName: string }[] | undefined) ?? []) {
        if (!conn) continue;
        void dropSub(conn, d.productKey, d.deviceName, 'KICKED');
        // Unbound: the filters of a sub-device that was only bound (not logged in) go too.
        conn.releaseDevice(d.productKey, d.deviceName);
      }
    }
  });
}
