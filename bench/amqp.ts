/**
 * AMQP server-side subscription throughput: `npx tsx bench/amqp.ts [--devices 50] [--window 4]
 * [--seconds 4] [--rounds 3] [--database-url postgres://...] [--quick] [--json FILE]`.
 *
 * One ThingQL (child process, fresh PostgreSQL database, AMQP_PORT set). Each round, `--devices` devices post
 * smart-lamp properties with QoS 1 in a closed loop for `--seconds` while nobody listens, so the same N committed
 * events wait for both readers:
 *  - measured: one AMQP consumer written like Alibaba's Node sample (rhea, auto-accept, credit window 1000) on a
 *    consumer group created just before the load: deliveries/s from its first message to its last (the time to the
 *    first message, connect + login + attach, is reported beside);
 *  - baseline, same events, same run: one graphql-ws subscriber to `devicePropertyPosted(after: <cursor before the
 *    load>)`: events/s from its first event to its last (time to the first event beside).
 * Rounds alternate which reader goes first. Then a live phase: both connected while the devices post; each reader's
 * rate counts the events it received between the first post and the moment it had all of them.
 */
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import rhea from 'rhea';
import WebSocket from 'ws';
import { startChild, type Child } from './lib/child.ts';
import { gqlClient, provision, smartLampTsl, type GqlClient } from './lib/gql.ts';
import { closedLoop, connectDevices, disconnectDevices, type LoadDevice } from './lib/mqtt-load.ts';
import { createFreshDatabase, DEFAULT_DATABASE_URL } from './lib/pg.ts';
import { fmtRatio, machine, say, writeResult, type BenchOutput, type Row } from './lib/report.ts';
import { fmtSpread, ratioOf, round, spread } from './lib/stats.ts';
import type { ThingqlReady } from './lib/thingql-child.ts';

const { values: opt } = parseArgs({
  options: {
    devices: { type: 'string' },
    window: { type: 'string', default: '4' },
    seconds: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    'database-url': { type: 'string', default: DEFAULT_DATABASE_URL },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const DEVICES = Number(opt.devices ?? (opt.quick ? 10 : 50));
const WINDOW = Math.max(1, Number(opt.window));
const SECONDS = Number(opt.seconds ?? (opt.quick ? 1 : 4));
const ROUNDS = Math.max(1, Number(opt.rounds));
const GOAL = 1;
const TIMEOUT_MS = 120_000;

const positionOf = (cursor: string): number => Number(Buffer.from(cursor, 'base64url').toString('utf8').slice(2));

/** Alibaba's Node sample (cloud-api.md §7.2), counting messages up to `last` (an event position). */
function amqpReader(port: number, key: { id: string; secret: string }, groupId: string) {
  const timestamp = String(Date.now());
  const container = rhea.create_container();
  const connection = container.connect({
    host: '127.0.0.1',
    port,
    transport: 'tcp',
    reconnect: false,
    idle_time_out: 60000,
    username: `bench|authMode=aksign,signMethod=hmacsha1,timestamp=${timestamp},authId=${key.id},iotInstanceId=,consumerGroupId=${groupId}|`,
    password: crypto.createHmac('sha1', key.secret).update(`authId=${key.id}&timestamp=${timestamp}`).digest('base64'),
  });
  let count = 0;
  let max = 0;
  let target = Infinity;
  let done: (() => void) | null = null;
  let first = 0;
  let lastAt = 0;
  const receiver = connection.open_receiver();
  receiver.on('message', (context) => {
    if (count === 0) first = performance.now();
    lastAt = performance.now();
    count++;
    max = Math.max(max, Number(context.message!.message_id));
    context.delivery!.accept();
    if (max >= target) done?.();
  });
  container.on('error', () => undefined);
  return {
    get count() {
      return count;
    },
    /** Deliveries per second from the first message to the last (connection set-up excluded). */
    rate: () => Math.round((count - 1) / Math.max(1e-3, (lastAt - first) / 1000)),
    firstAfter: (t0: number) => Math.round(first - t0),
    until(last: number): Promise<void> {
      target = last;
      return new Promise((resolve, reject) => {
        if (max >= last) return resolve();
        const t = setTimeout(() => reject(new Error(`AMQP: ${count} messages, last ${max} of ${last}`)), TIMEOUT_MS);
        done = () => (clearTimeout(t), resolve());
      });
    },
    close: () => connection.close(),
  };
}

function wsReader(httpPort: number, token: string, productKey: string, after: string | null) {
  const ws = createClient({
    url: `ws://127.0.0.1:${httpPort}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  let count = 0;
  let max = 0;
  let target = Infinity;
  let done: (() => void) | null = null;
  let first = 0;
  let lastAt = 0;
  const stop = ws.subscribe(
    {
      query: `subscription($pk: String, $after: String) { devicePropertyPosted(productKey: $pk, after: $after) { cursor } }`,
      variables: { pk: productKey, after },
    },
    {
      next: (r) => {
        if (count === 0) first = performance.now();
        lastAt = performance.now();
        count++;
        max = Math.max(
          max,
          positionOf((r.data as { devicePropertyPosted: { cursor: string } }).devicePropertyPosted.cursor),
        );
        if (max >= target) done?.();
      },
      error: (e) => say(`graphql-ws error: ${JSON.stringify(e)}`),
      complete: () => undefined,
    },
  );
  return {
    get count() {
      return count;
    },
    rate: () => Math.round((count - 1) / Math.max(1e-3, (lastAt - first) / 1000)),
    firstAfter: (t0: number) => Math.round(first - t0),
    until(last: number): Promise<void> {
      target = last;
      return new Promise((resolve, reject) => {
        if (max >= last) return resolve();
        const t = setTimeout(
          () => reject(new Error(`graphql-ws: ${count} events, last ${max} of ${last}`)),
          TIMEOUT_MS,
        );
        done = () => (clearTimeout(t), resolve());
      });
    },
    close: async () => {
      stop();
      await ws.dispose();
    },
  };
}

async function main(): Promise<void> {
  say(
    `amqp: ${DEVICES} devices x ${WINDOW} posts in flight, ${ROUNDS} rounds of ${SECONDS} s of load; AMQP consumer vs graphql-ws subscriber`,
  );
  const fresh = await createFreshDatabase(opt['database-url']!, 'amqp');
  const entry = new URL('./lib/thingql-child.ts', import.meta.url);
  let child: Child<ThingqlReady> | null = null;
  let gql: GqlClient | null = null;
  let devices: LoadDevice[] = [];
  try {
    child = await startChild<ThingqlReady>(entry, [JSON.stringify({ DATABASE_URL: fresh.url, AMQP_PORT: 0 })], {
      name: 'thingql',
    });
    const { httpPort, adminToken, amqpPort } = child.ready;
    gql = gqlClient(httpPort, adminToken);
    const { productKey, devices: creds } = await provision(gql, {
      name: 'AMQP bench lamp',
      tsl: smartLampTsl(),
      count: DEVICES,
    });
    const k = await gql(
      `mutation { createAccessKey(input: { name: "bench", role: VIEWER }) { accessKey { accessKeyId } accessKeySecret } }`,
    );
    const key = {
      id: k.createAccessKey.accessKey.accessKeyId as string,
      secret: k.createAccessKey.accessKeySecret as string,
    };
    const groups: string[] = [];
    const newGroup = async (name: string) => {
      const g = await gql!(
        `mutation($n: String!) { createConsumerGroup(input: { name: $n }) { consumerGroup { groupId } } }`,
        { n: name },
      );
      groups.push(g.createConsumerGroup.consumerGroup.groupId);
      const i = { productKey, consumerGroupIds: groups, messageTypes: ['DEVICE_DATA'] };
      const m = groups.length === 1 ? 'createSubscribeRelation' : 'updateSubscribeRelation';
      const input = m === 'createSubscribeRelation' ? 'CreateSubscribeRelationInput' : 'UpdateSubscribeRelationInput';
      await gql!(`mutation($i: ${input}!) { ${m}(input: $i) { userErrors { code message } } }`, { i });
      return groups[groups.length - 1]!;
    };
    devices = await connectDevices(creds, () => `mqtt://127.0.0.1:${child!.ready.mqttPort}`);
    const head = async () => (await gql!(`{ streamCursor }`)).streamCursor as string;

    const backlog = { amqp: [] as number[], ws: [] as number[], events: [] as number[] };
    const live = { amqp: [] as number[], ws: [] as number[], events: [] as number[] };
    const cpu = { amqp: [] as number[], ws: [] as number[] };
    const setup = { amqp: [] as number[], ws: [] as number[] };
    for (let r = 1; r <= ROUNDS; r++) {
      // Backlog: the events are committed while nobody listens, then each reader drains the same ones.
      const groupId = await newGroup(`bench-backlog-${r}`);
      const before = await head();
      await closedLoop(devices, { window: WINDOW, seconds: SECONDS, warmupMs: 200 });
      const last = positionOf(await head());
      const n = last - positionOf(before);
      backlog.events.push(n);
      const order: ('amqp' | 'ws')[] = r % 2 === 1 ? ['amqp', 'ws'] : ['ws', 'amqp'];
      for (const which of order) {
        const cpu0 = (await child.usage()).cpuMicros;
        const t0 = performance.now();
        const reader =
          which === 'amqp' ? amqpReader(amqpPort!, key, groupId) : wsReader(httpPort, adminToken, productKey, before);
        await reader.until(last);
        backlog[which].push(reader.rate());
        setup[which].push(reader.firstAfter(t0));
        cpu[which].push(round(((await child.usage()).cpuMicros - cpu0) / reader.count, 1));
        await reader.close();
      }
      say(
        `  round ${r} backlog of ${n}: AMQP ${backlog.amqp.at(-1)}/s (${cpu.amqp.at(-1)} us server CPU each, first after ${setup.amqp.at(-1)} ms), graphql-ws ${backlog.ws.at(-1)}/s (${cpu.ws.at(-1)} us, first after ${setup.ws.at(-1)} ms)`,
      );

      // Live: both readers connected while the devices post.
      const liveGroup = await newGroup(`bench-live-${r}`);
      const a = amqpReader(amqpPort!, key, liveGroup);
      const w = wsReader(httpPort, adminToken, productKey, await head());
      await new Promise((res) => setTimeout(res, 500)); // both attached
      const start = positionOf(await head());
      const t0 = performance.now();
      await closedLoop(devices, { window: WINDOW, seconds: SECONDS, warmupMs: 200 });
      const end = positionOf(await head());
      const times: Record<'amqp' | 'ws', number> = { amqp: 0, ws: 0 };
      await Promise.all([
        a.until(end).then(() => (times.amqp = (performance.now() - t0) / 1000)),
        w.until(end).then(() => (times.ws = (performance.now() - t0) / 1000)),
      ]);
      live.events.push(end - start);
      live.amqp.push(Math.round(a.count / times.amqp));
      live.ws.push(Math.round(w.count / times.ws));
      await a.close();
      await w.close();
      say(`  round ${r} live, ${end - start} events: AMQP ${live.amqp.at(-1)}/s, graphql-ws ${live.ws.at(-1)}/s`);
    }

    const f = {
      backlog: { amqp: spread(backlog.amqp, 0), ws: spread(backlog.ws, 0), events: spread(backlog.events, 0) },
      live: { amqp: spread(live.amqp, 0), ws: spread(live.ws, 0), events: spread(live.events, 0) },
      cpuMicrosPerEvent: { amqp: spread(cpu.amqp, 1), ws: spread(cpu.ws, 1) },
      firstMessageMs: { amqp: spread(setup.amqp, 0), ws: spread(setup.ws, 0) },
    };
    const ratioBacklog = ratioOf(f.backlog.amqp, f.backlog.ws);
    const ratioLive = ratioOf(f.live.amqp, f.live.ws);
    const rows: Row[] = [
      {
        scenario: `AMQP deliveries/s to one consumer (rhea like Alibaba's sample), backlog of ~${f.backlog.events.median} property posts`,
        baseline: `${fmtSpread(f.backlog.ws)} (graphql-ws devicePropertyPosted replay, same events)`,
        measured: fmtSpread(f.backlog.amqp),
        ratio: fmtRatio(ratioBacklog),
        goal: `>= ${GOAL}x baseline`,
        met: ratioBacklog >= GOAL,
      },
      {
        scenario: '  time to the first message (connect, login, attach / subscribe), ms',
        baseline: `${fmtSpread(f.firstMessageMs.ws)} (graphql-ws)`,
        measured: fmtSpread(f.firstMessageMs.amqp),
        ratio: fmtRatio(ratioOf(f.firstMessageMs.amqp, f.firstMessageMs.ws)),
        goal: 'report',
        met: null,
      },
      {
        scenario: '  server CPU per delivered event while draining the backlog (us)',
        baseline: `${fmtSpread(f.cpuMicrosPerEvent.ws)} (graphql-ws)`,
        measured: fmtSpread(f.cpuMicrosPerEvent.amqp),
        ratio: fmtRatio(ratioOf(f.cpuMicrosPerEvent.amqp, f.cpuMicrosPerEvent.ws)),
        goal: 'report',
        met: null,
      },
      {
        scenario: `  live, both connected while ${DEVICES} devices post (~${f.live.events.median} events)`,
        baseline: `${fmtSpread(f.live.ws)} (graphql-ws)`,
        measured: fmtSpread(f.live.amqp),
        ratio: fmtRatio(ratioLive),
        goal: `>= ${GOAL}x baseline`,
        met: ratioLive >= GOAL,
      },
    ];
    const out: BenchOutput = {
      bench: 'amqp',
      at: new Date().toISOString(),
      machine: machine(),
      options: { devices: DEVICES, window: WINDOW, seconds: SECONDS, rounds: ROUNDS, quick: opt.quick },
      rows,
      figures: { ...f, ratioBacklog: round(ratioBacklog), ratioLive: round(ratioLive) },
      notes: [
        'AMQP: every delivery is claimed in the in-flight table and settled (accepted) by the consumer; the cursor follows. graphql-ws: no acknowledgements.',
        'Readers, devices and ThingQL (with PostgreSQL) share the machine.',
      ],
    };
    console.log(`\nAMQP / graphql-ws, same events: backlog ${fmtRatio(ratioBacklog)}, live ${fmtRatio(ratioLive)}`);
    console.log(`written ${writeResult(out, opt.json)}`);
  } finally {
    if (devices.length) await disconnectDevices(devices);
    gql?.close();
    await child?.stop();
    await fresh.drop();
  }
}

await main();
process.exit(0);
