import type { Aedes } from 'aedes';
import { topicOwner } from '../domain/alink/owner.ts';
import type { DevicePublisher } from '../services/ports.ts';

/**
 * The device a downstream topic is for, as a map key. Replies and commands are almost all `/sys/${pk}/${dn}/...`:
 * read those two levels directly instead of parsing the whole topic for every reply (it showed in profiles).
 */
function ownerKey(topic: string): string | null {
  if (topic.startsWith('/sys/')) {
    const a = topic.indexOf('/', 5);
    const b = a > 5 ? topic.indexOf('/', a + 1) : -1;
    if (b > a + 1 && b < topic.length - 1) return `${topic.slice(5, a)}\u0000${topic.slice(a + 1, b)}`;
  }
  const owner = topicOwner(topic);
  return owner ? `${owner.productKey}\u0000${owner.deviceName}` : null;
}

/**
 * Publishes to one device go out one after the other. aedes delivers QoS 1 through an extra asynchronous step and
 * QoS 0 at once, and its per-client dedupe then drops the QoS 1 packet that arrives after a later QoS 0 one
 * (moscajs/aedes#994): a post_reply followed by an RRPC request would lose the reply.
 */
export function createOrderedPublisher(broker: Aedes): DevicePublisher {
  const rawPublish = (topic: string, payload: Buffer, qos: 0 | 1) =>
    new Promise<void>((resolve, reject) =>
      broker.publish({ cmd: 'publish', topic, payload, qos, retain: false, dup: false }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  const tails = new Map<string, Promise<void>>();
  return {
    publish(topic, payload, qos) {
      const key = ownerKey(topic);
      if (key === null) return rawPublish(topic, payload, qos);
      const sent = (tails.get(key) ?? Promise.resolve()).then(() => rawPublish(topic, payload, qos));
      const tail = sent.catch(() => undefined);
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return sent;
    },
  };
}
