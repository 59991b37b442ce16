import type { AedesPublishPacket } from 'aedes';
import { describe, expect, it } from 'vitest';
import { createAedes } from '../../src/broker/broker.ts';

interface MqEmitter {
  on(topic: string, notify: (packet: unknown, cb: () => void) => void, done: () => void): void;
  readonly length: number;
}

/**
 * Threat: a burst of publishes while the broker's emitter is busy. With aedes' default concurrency (100 emits in
 * flight), mqemitter queues the rest and drains its queue recursively, one stack frame chain per message that completes
 * at once (every device uplink does: nothing MQTT-subscribes to it). A backlog of a few thousand overflowed the stack:
 * RangeError in qlobber, uncaught, and the process died (seen under a paced 5,000 posts/s load).
 */
describe('the broker under a publish backlog', () => {
  it('drains tens of thousands of publishes queued behind slow deliveries without overflowing the stack', async () => {
    const broker = await createAedes({});
    // aedes' emitter (not in its public types).
    const mq = (broker as unknown as { mq: MqEmitter }).mq;
    try {
      const held: (() => void)[] = [];
      // A subscriber whose deliveries complete later (a socket's write, a persistence round trip).
      await new Promise<void>((r) => mq.on('slow/#', (_packet, cb) => void held.push(cb), r));
      const publish = (topic: string) =>
        broker.publish(
          { cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false } as AedesPublishPacket,
          () => {},
        );
      for (let i = 0; i < 150; i++) publish('slow/lane');
      // Uplinks nobody subscribes to, arriving while the slow ones are in flight.
      const BACKLOG = 50_000;
      for (let i = 0; i < BACKLOG; i++) publish(`/sys/pk/dn${i % 200}/thing/event/property/post`);
      expect(held.length).toBeGreaterThan(0);
      expect(() => {
        for (const cb of held.splice(0)) cb();
      }).not.toThrow();
      // Everything was emitted: nothing is left queued behind the slow deliveries.
      expect(mq.length).toBe(0);
    } finally {
      await new Promise<void>((r) => broker.close(() => r()));
    }
  });
});
