import { dbKinds, freshPostgresDatabase, type DbKind } from '../helpers/platform.ts';
/**
 * The database-backed aedes persistence (src/broker/persistence.ts) on every database kind:
 * 1. aedes-persistence's own conformance suite (abstract.js, written for node:test), run here under vitest;
 * 2. what the suite cannot show: a restart, two instances, binary fidelity, and a real broker with a persistent session.
 */
import assert from 'node:assert';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { Aedes } from 'aedes';
import { sql } from 'drizzle-orm';
import mqtt from 'mqtt';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createPgPersistence, type Packet, type PgPersistence } from '../../src/broker/persistence.ts';
import { createDatabase, type Database } from '../../src/db/client.ts';

const require = createRequire(import.meta.url);
type NodeTestContext = { name: string; plan(n: number): void; assert: typeof assert; diagnostic(msg: string): void };
type AbstractSuite = (opts: {
  test: (name: string, fn: (t: NodeTestContext) => Promise<void>) => void;
  persistence: () => Promise<unknown>;
  testAsync?: boolean;
}) => void;
const abstractSuite = require('aedes-persistence/abstract.js') as AbstractSuite;
/** The in-process emitter aedes uses by default; mqemitter-redis has the same interface across instances. */
const mqemitter = require('mqemitter') as () => {
  emit(p: object, cb?: () => void): void;
  close(cb?: () => void): void;
};

/** A database of its own, migrated; dropped (PostgreSQL) or closed (PGlite) by `close`. */
async function openDatabase(kind: DbKind): Promise<{ database: Database; url?: string; close(): Promise<void> }> {
  if (kind === 'pglite') {
    const database = await createDatabase({
      url: 'memory://',
      dataDir: tmpdir(),
      pgliteLoadDataDir: new Blob([readFileSync(inject('pgliteTemplate'))]),
    });
    await database.migrate();
    return { database, close: () => database.close() };
  }
  const fresh = await freshPostgresDatabase();
  const url = new URL(fresh.url);
  const database = await createDatabase({ url: url.toString(), dataDir: tmpdir() });
  await database.migrate();
  return {
    database,
    url: url.toString(),
    async close() {
      await database.close();
      await fresh.drop();
    },
  };
}

/** Empty tables for the next test (DELETE: on tables this small it is much faster than TRUNCATE on PostgreSQL). */
async function emptyTables(database: Database): Promise<void> {
  for (const table of ['mqtt_subscriptions', 'mqtt_retained', 'mqtt_outgoing', 'mqtt_incoming', 'mqtt_wills']) {
    await database.db.execute(sql`delete from ${sql.identifier(table)}`);
  }
}

/**
 * node:test's `test(name, fn(t))` on vitest's `it`: `t.assert` is node:assert (the legacy, loose methods node:test
 * exposes), every assertion is counted, and a `t.plan(n)` that does not match the count fails the test, as it does
 * under node:test.
 */
function nodeTest(name: string, fn: (t: NodeTestContext) => Promise<void>): void {
  it(name, async () => {
    let planned: number | undefined;
    let count = 0;
    const counted = new Proxy(assert, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          count++;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    await fn({ name, plan: (n) => void (planned = n), assert: counted, diagnostic: () => {} });
    if (planned !== undefined) expect(count, `assertions run vs t.plan(${planned})`).toBe(planned);
  });
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of stream) out.push(x);
  return out;
}

describe.each(dbKinds())('mqtt persistence on %s', (kind) => {
  let db: Awaited<ReturnType<typeof openDatabase>>;
  beforeAll(async () => {
    db = await openDatabase(kind);
  });
  afterAll(async () => {
    await db?.close();
  });

  describe('aedes-persistence abstract suite', () => {
    // aedes 1.x calls the promise API and `await persistence.setup(broker)` (aedes.js listen), which is the suite's
    // `testAsync` mode. Every test gets empty tables, as the README's "clean" example does.
    abstractSuite({
      test: nodeTest,
      testAsync: true,
      persistence: async () => {
        await emptyTables(db.database);
        return createPgPersistence(db.database);
      },
    });
  });

  describe('beyond the abstract suite', () => {
    const opened: PgPersistence[] = [];
    const open = async (
      broker: { id: string; mq?: unknown } = { id: `broker-${randomBytes(3).toString('hex')}` },
      database = db.database,
    ) => {
      const p = createPgPersistence(database);
      await p.setup(broker as never);
      opened.push(p);
      return p;
    };
    beforeEach(async () => {
      await Promise.all(opened.splice(0).map((p) => p.destroy()));
      await emptyTables(db.database);
    });
    afterAll(async () => {
      await Promise.all(opened.splice(0).map((p) => p.destroy()));
    });

    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const properties = {
      correlationData: Buffer.from([0, 255, 1, 254]),
      userProperties: { k: 'v', list: ['a', 'b'] },
      messageExpiryInterval: 60,
    };

    it('keeps every byte of binary payloads and MQTT 5 properties in every store', async () => {
      const p = await open();
      const client = { id: 'bin' };
      await p.storeRetained({
        cmd: 'publish',
        topic: 'bin/retained',
        payload: allBytes,
        qos: 1,
        retain: true,
        properties,
      });
      await p.outgoingEnqueueCombi([{ clientId: client.id }], {
        cmd: 'publish',
        topic: 'bin/out',
        payload: allBytes,
        qos: 1,
        brokerId: 'b',
        brokerCounter: 7,
        properties,
      });
      await p.incomingStorePacket(client, {
        cmd: 'publish',
        topic: 'bin/in',
        payload: allBytes,
        qos: 2,
        messageId: 9,
        properties,
      });
      await p.putWill(client, { topic: 'bin/will', payload: allBytes, qos: 1, retain: false, properties });

      const [retained] = await collect(p.createRetainedStreamCombi(['bin/#']));
      const [queued] = await collect(p.outgoingStream(client));
      const incoming = await p.incomingGetPacket(client, { messageId: 9 });
      const will = await p.getWill(client);
      for (const packet of [retained, queued, incoming, will]) {
        expect(Buffer.isBuffer(packet!.payload)).toBe(true);
        expect((packet!.payload as Buffer).equals(allBytes)).toBe(true);
        expect(packet!.properties).toEqual(properties);
        expect(Buffer.isBuffer((packet!.properties as typeof properties).correlationData)).toBe(true);
      }
      // Stored as JSON objects and raw bytes, not as double-encoded strings (postgres.js and jsonb parameters).
      const stored = await db.database.db.execute(sql`
        select jsonb_typeof(packet) as json, octet_length(payload) as bytes from mqtt_retained union all
        select jsonb_typeof(packet), octet_length(payload) from mqtt_outgoing union all
        select jsonb_typeof(packet), octet_length(payload) from mqtt_incoming union all
        select jsonb_typeof(packet), octet_length(payload) from mqtt_wills`);
      const rows = (Array.isArray(stored) ? stored : (stored as { rows: unknown[] }).rows) as {
        json: string;
        bytes: number;
      }[];
      expect(rows.map((r) => [r.json, Number(r.bytes)])).toEqual(Array(4).fill(['object', 256]));
    });

    it('matches retained messages by wildcard, each once, and keeps $ topics from leading wildcards', async () => {
      const p = await open();
      for (const topic of ['a', 'a/b', 'a/b/c', 'ab/c', 'x/b', '$SYS/x'])
        await p.storeRetained({ topic, payload: Buffer.from(topic), qos: 0, retain: true });
      const topics = async (patterns: string[]) =>
        (await collect(p.createRetainedStreamCombi(patterns))).map((m) => m.topic).sort();
      expect(await topics(['a/#'])).toEqual(['a', 'a/b', 'a/b/c']);
      expect(await topics(['a/+', '+/b', 'a/b'])).toEqual(['a/b', 'x/b']);
      expect(await topics(['#'])).toEqual(['a', 'a/b', 'a/b/c', 'ab/c', 'x/b']); // [MQTT-4.7.2-1]
      expect(await topics(['$SYS/#'])).toEqual(['$SYS/x']);
      const small = createPgPersistence(db.database, { pageSize: 2 });
      await small.setup({ id: 'paging' } as never);
      expect((await collect(small.createRetainedStreamCombi(['+/#']))).length).toBe(5);
      await small.destroy();
    });

    it('streams long queues and many wills a page at a time, a queue up to its last packet when reading starts', async () => {
      const p = createPgPersistence(db.database, { pageSize: 2 });
      await p.setup({ id: 'paging' } as never);
      opened.push(p);
      const client = { id: 'long-queue' };
      const publish = (n: number) => ({
        cmd: 'publish',
        topic: 'q',
        payload: Buffer.from(String(n)),
        qos: 1,
        brokerId: 'paging',
        brokerCounter: n,
      });
      for (let n = 1; n <= 5; n++) await p.outgoingEnqueue({ clientId: client.id }, publish(n));
      const seen: string[] = [];
      for await (const packet of p.outgoingStream(client)) {
        seen.push(String(packet.payload));
        if (seen.length === 1) await p.outgoingEnqueue({ clientId: client.id }, publish(6)); // queued while reading
      }
      expect(seen).toEqual(['1', '2', '3', '4', '5']);
      expect((await collect(p.outgoingStream(client))).length).toBe(6);
      for (let n = 1; n <= 5; n++)
        await p.putWill({ id: `w${n}` }, { topic: 'lwt', payload: Buffer.from('x'), qos: 0, retain: false });
      expect((await collect(p.streamWill({}))).map((w) => w.clientId)).toEqual(['w1', 'w2', 'w3', 'w4', 'w5']);
      expect(await collect(p.streamWill({ paging: Date.now() }))).toEqual([]);
    });

    it('restores subscriptions, queued packets, retained messages, wills and QoS 2 ids after a restart', async () => {
      const before = await open({ id: 'broker-before' });
      const client = { id: 'dev-1' };
      await before.addSubscriptions(client, [
        { topic: 'cmd/dev-1/#', qos: 1 },
        { topic: 'status', qos: 0 },
      ]);
      await before.outgoingEnqueueCombi(await before.subscriptionsByTopic('cmd/dev-1/set'), {
        cmd: 'publish',
        topic: 'cmd/dev-1/set',
        payload: Buffer.from('on'),
        qos: 1,
        brokerId: 'broker-before',
        brokerCounter: 1,
      });
      await before.storeRetained({ topic: 'cmd/dev-1/last', payload: Buffer.from('r'), qos: 0, retain: true });
      await before.putWill(client, { topic: 'lwt/dev-1', payload: Buffer.from('gone'), qos: 1, retain: false });
      await before.incomingStorePacket(client, {
        cmd: 'publish',
        topic: 'up',
        payload: Buffer.from('x'),
        qos: 2,
        messageId: 3,
      });
      await before.destroy();

      const after = await open({ id: 'broker-after' });
      expect(await after.subscriptionsByTopic('cmd/dev-1/set')).toEqual([
        { clientId: 'dev-1', topic: 'cmd/dev-1/#', qos: 1, rh: undefined, rap: undefined, nl: undefined },
      ]);
      expect((await after.subscriptionsByClient(client)).map((s) => s.topic)).toEqual(['cmd/dev-1/#', 'status']);
      const queued = await collect(after.outgoingStream(client));
      expect(queued.map((q) => String(q.payload))).toEqual(['on']);
      expect((await collect(after.createRetainedStreamCombi(['cmd/dev-1/#']))).map((m) => m.topic)).toEqual([
        'cmd/dev-1/last',
      ]);
      // The will belongs to a broker that is gone: aedes publishes the wills streamWill returns for unknown brokers.
      expect(
        (await collect(after.streamWill({ 'broker-after': Date.now() }))).map((w) => [w.clientId, w.brokerId]),
      ).toEqual([['dev-1', 'broker-before']]);
      expect((await after.incomingGetPacket(client, { messageId: 3 })).topic).toBe('up');
      expect(await after.countOffline()).toEqual({ subsCount: 1, clientsCount: 1 });
    });

    it('lets one path have each queued packet of a reconnecting session: the queue replay or the live path', async () => {
      const p = await open({ id: 'b' });
      const client = { id: 'swap', clean: false }; // one connection (aedes' Client object)
      const publish = (n: number) => ({ cmd: 'publish', topic: 't', payload: Buffer.from(String(n)), qos: 1 });
      const queued = (n: number) => ({ ...publish(n), brokerId: 'b', brokerCounter: n });
      for (const n of [1, 2, 3]) await p.outgoingEnqueue({ clientId: client.id }, queued(n));
      // Live before the replay: 2 is sent live, then left out of the replay.
      expect(p.forwardOnce(client, queued(2))).toBe(true);
      const replay = p.outgoingStream(client)[Symbol.asyncIterator]();
      expect(String(((await replay.next()).value as Packet).payload)).toBe('1');
      // The replay's own packet, with its packet id, passes; live, the replayed 1 does not.
      expect(p.forwardOnce(client, { ...queued(1), messageId: 7 })).toBe(true);
      expect(p.forwardOnce(client, queued(1))).toBe(false);
      expect(String(((await replay.next()).value as Packet).payload)).toBe('3');
      expect((await replay.next()).done).toBe(true);
      // What the replay sent stays its own; anything else goes live, and another connection of the id is not affected.
      expect(p.forwardOnce(client, queued(3))).toBe(false);
      expect(p.forwardOnce(client, queued(4))).toBe(true);
      const nextConnection = { id: 'swap', clean: false };
      expect(p.forwardOnce(nextConnection, queued(1))).toBe(true);
      // Clean sessions, QoS 0 and retained deliveries (no broker id) are never held back.
      expect(p.forwardOnce({ clean: true }, queued(5))).toBe(true);
      expect(p.forwardOnce(client, { ...queued(5), qos: 0 })).toBe(true);
      expect(p.forwardOnce(client, { ...publish(5), brokerId: null })).toBe(true);
    });

    it('keeps a second instance matching through broker notices', async () => {
      const mq = mqemitter();
      const second = kind === 'postgres' ? await createDatabase({ url: db.url!, dataDir: tmpdir() }) : db.database;
      try {
        const a = await open({ id: 'broker-a', mq });
        const b = await open({ id: 'broker-b', mq }, second);
        const client = { id: 'roamer' };
        await a.addSubscriptions(client, [{ topic: 'r/+', qos: 1 }]);
        await until(async () => (await b.subscriptionsByTopic('r/1')).length === 1, 'b to learn the subscription');
        await a.addSubscriptions(client, [{ topic: 'r/+', qos: 0 }]);
        await until(async () => (await b.subscriptionsByTopic('r/1')).length === 0, 'b to drop the QoS 0 subscription');
        await b.addSubscriptions(client, [{ topic: 'q/#', qos: 2 }]);
        await until(async () => (await a.subscriptionsByTopic('q/z'))[0]?.qos === 2, 'a to learn the subscription');
        await a.cleanSubscriptions(client);
        await until(async () => (await b.subscriptionsByTopic('q/z')).length === 0, 'b to drop the cleaned session');
      } finally {
        if (second !== db.database) await second.close();
      }
    });

    it('refresh() reloads what changed without a notice', async () => {
      const a = await open({ id: 'broker-a' });
      const b = await open({ id: 'broker-b' });
      await a.addSubscriptions({ id: 'quiet' }, [{ topic: 'quiet/#', qos: 1 }]);
      expect(await b.subscriptionsByTopic('quiet/x')).toEqual([]);
      // A change that lands while the reload reads is not lost either.
      await Promise.all([b.refresh(), b.addSubscriptions({ id: 'meanwhile' }, [{ topic: 'quiet/x', qos: 1 }])]);
      expect((await b.subscriptionsByTopic('quiet/x')).map((s) => s.clientId).sort()).toEqual(['meanwhile', 'quiet']);
      await a.removeSubscriptions({ id: 'quiet' }, ['quiet/#']);
      await b.refresh();
      expect((await b.subscriptionsByTopic('quiet/x')).map((s) => s.clientId)).toEqual(['meanwhile']);
    });

    it('resyncs on a timer when configured', async () => {
      const a = await open({ id: 'broker-a' });
      const b = createPgPersistence(db.database, { resyncIntervalMs: 50 });
      await b.setup({ id: 'broker-b' } as never);
      opened.push(b);
      await a.addSubscriptions({ id: 'lost-notice' }, [{ topic: 'lost/#', qos: 1 }]);
      await until(async () => (await b.subscriptionsByTopic('lost/x')).length === 1, 'the periodic resync');
    });

    describe('with aedes', () => {
      async function startBroker(id: string, mq?: unknown, database = db.database) {
        const persistence = createPgPersistence(database);
        const broker = await Aedes.createBroker({ id, persistence, ...(mq ? { mq } : {}) } as never);
        // As the platform's broker does (broker.ts): a queued packet the reconnect replay sent is not sent again live.
        broker.authorizeForward = (client, packet) => (persistence.forwardOnce(client, packet) ? packet : null);
        const server = net.createServer(broker.handle);
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
        return {
          url,
          broker,
          persistence,
          async stop() {
            await new Promise<void>((resolve) => broker.close(() => resolve()));
            await new Promise<void>((resolve) => server.close(() => resolve()));
            await persistence.destroy();
          },
        };
      }

      /** Connect, and collect every message from the first packet on (queued ones arrive right after CONNACK). */
      async function connect(url: string, clientId: string, clean: boolean) {
        const client = mqtt.connect(url, { clientId, clean, reconnectPeriod: 0, protocolVersion: 4 });
        const received: { topic: string; payload: Buffer; qos: number; messageId?: number; dup: boolean }[] = [];
        client.on('message', (topic, payload, packet) =>
          received.push({ topic, payload, qos: packet.qos, messageId: packet.messageId, dup: packet.dup }),
        );
        const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
          client.once('connect', resolve);
          client.once('error', reject);
        });
        return { client, received, sessionPresent: connack.sessionPresent };
      }

      it('delivers QoS 1 messages queued for an offline persistent session after a broker restart', async () => {
        const first = await startBroker('thingql-1');
        const device = await connect(first.url, 'lamp-1', false);
        await device.client.subscribeAsync('cmd/lamp-1/#', { qos: 1 });
        await device.client.endAsync();

        const cloud = await connect(first.url, 'cloud', true);
        await cloud.client.publishAsync('cmd/lamp-1/set', allBytes, { qos: 1 });
        await cloud.client.endAsync();
        await first.stop();

        const second = await startBroker('thingql-2');
        try {
          const back = await connect(second.url, 'lamp-1', false);
          expect(back.sessionPresent).toBe(true);
          await until(() => back.received.length === 1, 'the queued message');
          expect(back.received[0]!.topic).toBe('cmd/lamp-1/set');
          expect(back.received[0]!.qos).toBe(1);
          expect(back.received[0]!.payload.equals(allBytes)).toBe(true);
          await back.client.endAsync();
          await until(
            async () =>
              (
                await db.database.db
                  .execute(sql`select 1 from mqtt_outgoing`)
                  .then((r) => (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows))
              ).length === 0,
            'the PUBACK to clear the queue',
          );
        } finally {
          await second.stop();
        }
      });

      it('moves a persistent session to another instance sharing the database and the emitter', async () => {
        const mq = mqemitter();
        const otherDb = kind === 'postgres' ? await createDatabase({ url: db.url!, dataDir: tmpdir() }) : db.database;
        const a = await startBroker('instance-a', mq);
        const b = await startBroker('instance-b', mq, otherDb);
        try {
          const device = await connect(a.url, 'lamp-2', false);
          await device.client.subscribeAsync('cmd/lamp-2/#', { qos: 1 });
          await device.client.endAsync();
          // B learns the subscription from A's notice; it must queue for the offline session itself.
          await until(
            async () => (await b.persistence.subscriptionsByTopic('cmd/lamp-2/set')).length === 1,
            'instance b to learn the subscription',
          );
          const cloud = await connect(b.url, 'cloud-b', true);
          // aedes PUBACKs before it queues: the device may be back while the message is still on its way, and then
          // both its queue replay and the live path have it (the gated tests below); it must arrive once all the same.
          await cloud.client.publishAsync('cmd/lamp-2/set', 'on', { qos: 1 });
          await cloud.client.endAsync();

          const moved = await connect(b.url, 'lamp-2', false);
          expect(moved.sessionPresent).toBe(true);
          await until(
            () => moved.received.some((m) => m.topic === 'cmd/lamp-2/set'),
            'the message queued on the other instance',
          );
          expect(moved.received.filter((m) => m.qos === 1).map((m) => String(m.payload))).toEqual(['on']);
          await moved.client.endAsync();
        } finally {
          await a.stop();
          await b.stop(); // aedes closes the (shared) emitter
          if (otherDb !== db.database) await otherDb.close();
        }
      });

      /**
       * aedes PUBACKs a QoS 1 publish, then queues and emits it. A persistent session reconnecting meanwhile has its
       * subscriptions restored before its queue is replayed, so a packet queued in between reaches both the live path
       * and the replay. Gates on the persistence put each path first; either way the device gets it once, under one
       * packet id, and its PUBACK empties the queue.
       */
      describe.each(['live', 'replay'] as const)(
        'a publish queued while its persistent session reconnects',
        (first) => {
          it(`is delivered once when the ${first} path has it first`, async () => {
            const node = await startBroker(`once-${first}`);
            const p = node.persistence;
            const topic = 'cmd/lamp-3/set';
            try {
              const device = await connect(node.url, 'lamp-3', false);
              await device.client.subscribeAsync('cmd/lamp-3/#', { qos: 1 });
              await device.client.endAsync();

              const replayStarted = deferred();
              const enqueued = deferred();
              const liveUpdated = deferred();
              const replayYielded = deferred();
              const published = deferred();
              const ready = deferred();
              node.broker.on('publish', (packet) => void (packet.topic === topic && published.resolve()));
              node.broker.on('clientReady', (client) => void (client.id === 'lamp-3' && ready.resolve()));
              const enqueue = p.outgoingEnqueueCombi.bind(p);
              p.outgoingEnqueueCombi = async (subs, packet) => {
                if (packet.topic !== topic) return enqueue(subs, packet);
                await replayStarted.promise; // the device is back and its subscriptions are restored
                await enqueue(subs, packet);
                enqueued.resolve();
                if (first === 'replay') await replayYielded.promise; // aedes emits the packet once this returns
              };
              const update = p.outgoingUpdate.bind(p);
              p.outgoingUpdate = async (client, packet) => {
                await update(client, packet);
                if (packet.topic === topic) liveUpdated.resolve(); // with the live path first, its update is the first
              };
              const clear = p.outgoingClearMessageId.bind(p);
              p.outgoingClearMessageId = async (client, packet) => {
                // The device's PUBACK waits for both paths: clearing the row first could hide a second delivery.
                await Promise.all([ready.promise, published.promise]);
                return clear(client, packet);
              };
              const stream = p.outgoingStream.bind(p);
              p.outgoingStream = (client) => {
                if (client.id !== 'lamp-3') return stream(client);
                replayStarted.resolve();
                return Readable.from(
                  (async function* () {
                    try {
                      await enqueued.promise;
                      if (first === 'live') await liveUpdated.promise;
                      for await (const packet of stream(client)) {
                        replayYielded.resolve();
                        yield packet as Packet;
                      }
                    } finally {
                      replayYielded.resolve();
                    }
                  })(),
                );
              };

              const cloud = await connect(node.url, 'cloud-3', true);
              await cloud.client.publishAsync(topic, 'on', { qos: 1 }); // PUBACKed before it is queued
              await cloud.client.endAsync();
              const back = await connect(node.url, 'lamp-3', false);
              // Both paths have had the packet (the replay ends before aedes' clientReady), and the first delivery
              // arrives: a persistent session's is written after a database update, so a round trip alone does not
              // order it. Once the device's PUBACK has cleared it, a round trip has the device read anything sent
              // before (a second copy).
              await Promise.all([ready.promise, published.promise]);
              await until(async () => back.received.some((m) => m.topic === topic), 'the first delivery');
              await until(async () => (await collect(stream({ id: 'lamp-3' }))).length === 0, 'the PUBACK to clear it');
              await back.client.publishAsync('ping/lamp-3', 'x', { qos: 1 });
              const got = back.received.filter((m) => m.topic === topic);
              const ids = `packet ids ${got.map((m) => m.messageId).join(', ')}`;
              expect(
                got.map((m) => [String(m.payload), m.dup]),
                ids,
              ).toEqual([['on', false]]);
              await back.client.endAsync();
            } finally {
              await node.stop();
            }
          });
        },
      );
    });
  });
});
