import type { Packet } from './codec.ts';

/**
 * One delivery per queued packet to a reconnecting persistent session.
 *
 * aedes gives a persistent session its QoS > 0 packets two ways: live, through the subscriptions it restores on
 * CONNECT, and replayed from the queue (emptyQueue, `outgoingStream`) right after CONNACK. A publish still on its way
 * while the session reconnects goes both ways: aedes PUBACKs a QoS 1 publish before it queues and emits it, and
 * another instance's publish comes through the emitter after its queue row is committed. When the row is committed
 * after the subscriptions are restored and before the replay reads the queue, aedes sends the packet twice, under two
 * packet ids (or twice under the same one, neither a DUP). Its per-client duplicate check covers the live path only.
 *
 * Here, per connection (aedes' Client object), the first path to take a packet (brokerId, brokerCounter) keeps it:
 * the replay skips a packet the live path has sent, and the live path (authorizeForward -> `forwardOnce`) drops one
 * the replay has sent. The live path drops it before giving it a packet id, so its queue row is left alone and the
 * replay's PUBACK clears it.
 */
interface Handover {
  /** Packets sent live on this connection while the replay may still read them; undefined once it has ended. */
  live: Set<string> | undefined;
  /** Packets the replay has taken and the live path has not (yet) been offered. */
  replayed: Set<string>;
}

/** What `forwardOnce` looks at of aedes' Client and of the packet it is about to forward. */
export interface ForwardClient {
  clean?: boolean;
}
export interface ForwardPacket {
  qos?: number;
  messageId?: number;
  brokerId?: string | null;
  brokerCounter?: number;
}

function deliveryKey(p: ForwardPacket): string | undefined {
  if (typeof p.brokerId !== 'string' || p.brokerId === '' || p.brokerCounter === undefined) return undefined;
  return `${String(p.brokerCounter)} ${p.brokerId}`;
}

export class DeliveryHandover {
  readonly #connections = new WeakMap<object, Handover>();

  #of(client: object): Handover {
    let h = this.#connections.get(client);
    if (!h) {
      h = { live: new Set(), replayed: new Set() };
      this.#connections.set(client, h);
    }
    return h;
  }

  /** The queue replay of one connection: `packets`, less those the live path has already sent it. */
  async *replay(client: object, packets: AsyncIterable<Packet>): AsyncGenerator<Packet> {
    const h = this.#of(client);
    try {
      for await (const p of packets) {
        const key = deliveryKey(p);
        if (key !== undefined) {
          if (h.live?.has(key)) continue;
          h.replayed.add(key);
        }
        yield p;
      }
    } finally {
      // Nothing is replayed after this: the live path need not be recorded any longer.
      h.live = undefined;
    }
  }

  /**
   * For authorizeForward: false when the replay has sent this packet to this connection. The live path offers a
   * packet before it has a packet id; the replay offers its own (then true) with the id it is sent under.
   */
  forwardOnce(client: ForwardClient, packet: ForwardPacket): boolean {
    if (client.clean !== false || !packet.qos || typeof packet.messageId === 'number') return true;
    const key = deliveryKey(packet);
    if (key === undefined) return true;
    const h = this.#of(client);
    if (h.replayed.delete(key)) return false;
    h.live?.add(key);
    return true;
  }
}
