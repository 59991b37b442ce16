import type { Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { deliveryQos, type CategoriesPeek } from './subscription-acl.ts';

const corked = new WeakSet<object>();

/**
 * Hold a connection's writes while a commit's settlement runs (stream cork/uncork): the PUBACKs and Alink replies of
 * every message the commit settled for it leave in one write instead of one syscall each. The settlement is a chain
 * of promise continuations; a tick queued from a microtask runs once the microtask queue has drained, so the
 * connection is uncorked right after it, not a whole event-loop turn later (with the embedded database a turn can
 * hold the next commit's statements, and the device would wait for them).
 */
export function corkForSettlement(client: Client): void {
  const conn = client.conn as unknown as { cork?: () => void; uncork?: () => void };
  if (corked.has(conn) || typeof conn.cork !== 'function') return;
  corked.add(conn);
  conn.cork();
  queueMicrotask(() =>
    process.nextTick(() => {
      corked.delete(conn);
      conn.uncork?.();
    }),
  );
}

/** What aedes keeps of a client that the direct path needs (not in its typings). */
interface ClientInternals {
  connected: boolean;
  closed: boolean;
  _nextId: number;
}

/** The persistence's record of a reply delivery, so that the device's PUBACK of it is not looked up (replies.ts). */
export type ReplyInflight = (client: Client, packet: { topic: string; messageId: number }) => void;

/**
 * Write a platform reply to the one connection that asked for it, at once, as aedes would deliver it.
 *
 * A reply answers a request of this connection and goes nowhere else, yet `aedes.publish` sent it through the whole
 * publish pipeline (retained store, a match against every subscription, the offline queue, then a `setImmediate` per
 * delivery), serialised per device (publisher.ts), and each reply left in a write of its own. Here the connection's
 * own subscriptions and the ACL of authorizeForward decide (`deliveryQos`: the D19/D22 gate of the automatic filter,
 * what the device unsubscribed, sub-devices logged in over a gateway), at the lower of the reply's QoS and theirs.
 * The write is corked with the PUBACK that follows it in the same turn. A reply is never queued for an offline session
 * (persistence/replies.ts); the device resends a request it never saw acknowledged and is answered then.
 *
 * Returns false only when the connection is gone (the caller may then publish the reply through the broker, for a
 * newer connection of the device); a reply this connection is not subscribed to, or may not receive, is dropped.
 */
export function deliverReply(
  client: Client,
  topic: string,
  payload: Buffer,
  qos: 0 | 1,
  peek: CategoriesPeek,
  inflight: ReplyInflight,
): boolean {
  const c = client as unknown as ClientInternals;
  if (!c.connected || c.closed) return false;
  const granted = deliveryQos(client, topic, peek);
  if (granted < 0) return true;
  const packet: mqttPacket.IPublishPacket = {
    cmd: 'publish',
    topic,
    payload,
    qos: Math.min(granted, qos) as 0 | 1,
    retain: false,
    dup: false,
  };
  if (packet.qos > 0) {
    // Numbered as aedes numbers its deliveries to this client (lib/qos-packet.js).
    packet.messageId = c._nextId;
    c._nextId = c._nextId >= 65535 ? 1 : c._nextId + 1;
    inflight(client, { topic, messageId: packet.messageId });
  }
  corkForSettlement(client);
  // A failed write errors the socket, and aedes closes the client: the device resends what it saw no PUBACK for.
  mqttPacket.writeToStream(packet, client.conn);
  return true;
}
