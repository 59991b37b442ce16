import type { Client } from 'aedes';
import type { Logger } from '../logger.ts';
import type { DeviceConnection, SessionControl } from '../services/ports.ts';
import { autoSubscriptions } from './auto-subscriptions.ts';
import { sessionOf, type Session, type SessionRegistry } from './sessions.ts';
import { dropSubDeviceSubscriptions, resetAutoOff } from './subscription-acl.ts';

/** Close a connection, recording why (D15) unless a reason was already set. */
export function kickClient(client: Client, reason: NonNullable<Session['reason']>): void {
  const s = sessionOf(client);
  if (s && !s.reason) s.reason = reason;
  client.close();
}

/**
 * Revocation (docs/security-device.md): the publish ACL decisions this connection cached (authorize.ts) for the topics of a device
 * that no longer goes through it are dropped, so its next publish there is decided afresh.
 */
export function forgetAclDecisions(s: Session, productKey: string, deviceName: string): void {
  for (const [topic, d] of s.acl ?? [])
    if (d.owner?.productKey === productKey && d.owner.deviceName === deviceName) s.acl!.delete(topic);
}

/** Writes a reply to one connection (broker/deliver.ts `deliverReply` with the broker's ACL and persistence). */
export type ReplyDelivery = (client: Client, topic: string, payload: Buffer, qos: 0 | 1) => boolean;

/** The `DeviceConnection` port of one logged-in connection (what services may do with it). */
export function deviceConnection(
  client: Client,
  s: Session,
  logger: Logger,
  sessions: Pick<SessionRegistry, 'subDevicesOf'>,
  deliver: ReplyDelivery,
): DeviceConnection {
  return {
    reply: (topic, payload, qos) => deliver(client, topic, payload, qos),
    device: s.device,
    clientIp: s.clientIp,
    get subDevices() {
      return sessions.subDevicesOf(client);
    },
    subscribeDevice(productKey, deviceName) {
      resetAutoOff(s, productKey, deviceName);
      return new Promise<void>((resolve) =>
        client.subscribe(
          { subscriptions: autoSubscriptions(productKey, deviceName).map((topic) => ({ topic, qos: 1 })) },
          (err) => {
            if (err) logger.warn({ err, deviceName }, 'automatic subscription failed');
            resolve();
          },
        ),
      );
    },
    releaseDevice(productKey, deviceName) {
      forgetAclDecisions(s, productKey, deviceName);
      dropSubDeviceSubscriptions(client, productKey, deviceName, (err) =>
        logger.warn({ err, deviceName }, 'could not unsubscribe a released sub-device'),
      );
    },
  };
}

/** The `SessionControl` port over this instance's live connections (services decide; this only acts). */
export function createSessionControl(sessions: SessionRegistry): SessionControl {
  return {
    kick(productKey, deviceName, reason) {
      const client = sessions.get(productKey, deviceName);
      if (!client) return false;
      kickClient(client, reason);
      return true;
    },
    kickOlderThan(productKey, deviceName, epoch) {
      const client = sessions.get(productKey, deviceName);
      const s = client && sessionOf(client);
      if (!client || !s || s.epoch >= epoch) return false;
      kickClient(client, 'TAKEN_OVER');
      return true;
    },
    connectionOf(productKey, deviceName) {
      const client = sessions.get(productKey, deviceName);
      return client ? sessionOf(client)?.connection : undefined;
    },
    connections() {
      return sessions.all().flatMap((c) => sessionOf(c)?.connection ?? []);
    },
    carrying(productKey, deviceName) {
      return sessions.carrying(productKey, deviceName).flatMap((c) => sessionOf(c)?.connection ?? []);
    },
  };
}
