/**
 * Subscriber fan-out: `npx tsx bench/subscribers.ts [--subscribers 1000] [--rounds 3] [--seconds 4]
 * [--window 64] [--devices 4] [--database-url postgres://...] [--transport ws|sse] [--quick] [--json FILE]`.
 *
 * ThingQL: `--subscribers` graphql-ws clients (graphql-ws `createClient` over `ws`, one real socket each) subscribe to
 * the same stream, `devicePropertyPosted(productKey: $pk)`, all with the same document and variables. Events come
 * from `--devices` mqtt.js devices logged in with the Alink signature that post smart-lamp properties with QoS 1 on
 * `/sys/${pk}/${dn}/thing/event/property/post`: every event goes the whole way (decode, TSL validation, group commit
 * into the event log, hub, stream, shared execution, graphql-ws). The embedded database (memory://) lives in the
 * server process, so the server CPU figure includes ingest and storage; with --database-url it is PostgreSQL's.
 *
 * `--transport sse`: the subscribers use GraphQL over Server-Sent Events instead (POST /graphql with Accept:
 * text/event-stream, one HTTP connection each), on both servers.
 *
 * Baseline, same run: a plain graphql-yoga + graphql-ws server (bench/lib/yoga-child.ts) with one in-memory topic
 * (graphql-yoga `createPubSub`), a field of the same shape and the same document, the same number of clients; its
 * events are published on request of this process over IPC (`pubsub.publish`), one per event as the devices do.
 *
 * Load: closed loop. At most `--window` events are in flight (sent, not yet received by every subscriber); each
 * event completed lets the next one go. The figure is deliveries per second (messages received by the subscribers)
 * over a `--seconds` window after a 1 s warm-up. Rounds alternate between the two servers (baseline first in odd
 * rounds, ThingQL first in even ones), so a busy spell of the machine weighs on both.
 *
 * CPU: each server runs in a child process of its own; `process.cpuUsage()` of that process over the measurement
 * window, divided by the deliveries in it, is the server CPU per delivery. The clients (and the devices) run in this
 * process and are not counted there; their CPU per delivery is reported apart.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { alinkLogin } from '../test/helpers/devices.ts';
import { startChild, type Child } from './lib/child.ts';
import { gqlClient, provision, smartLampTsl } from './lib/gql.ts';
import { createFreshDatabase, type FreshDatabase } from './lib/pg.ts';
import { fmtRatio, machine, say, writeResult, type BenchOutput, type Row } from './lib/report.ts';
import { cpuSince, fmtSpread, ratioOf, round, spread } from './lib/stats.ts';
import type { ThingqlReady } from './lib/thingql-child.ts';

const { values: opt } = parseArgs({
  options: {
    subscribers: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string' },
    window: { type: 'string', default: '64' },
    devices: { type: 'string', default: '4' },
    'database-url': { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    transport: { type: 'string', default: 'ws' },
  },
});
if (opt.transport !== 'ws' && opt.transport !== 'sse') throw new Error('--transport is ws or sse');
/** graphql-ws, or GraphQL over Server-Sent Events (POST /graphql, Accept: text/event-stream: one HTTP connection each). */
const SSE = opt.transport === 'sse';
const SUBSCRIBERS = Number(opt.subscribers ?? (opt.quick ? 100 : 1000));
const ROUNDS = Math.max(1, Number(opt.rounds));
const SECONDS = Number(opt.seconds ?? (opt.quick ? 2 : 4));
const WINDOW = Math.max(1, Number(opt.window));
const DEVICES = Math.max(1, Number(opt.devices));
const WARMUP_MS = 1000;
const GOAL = 2;

const DOCUMENT = `subscription($pk: String!) { devicePropertyPosted(productKey: $pk) { cursor iotId productKey deviceName requestId items receivedAt } }`;

interface Target {
  name: 'baseline' | 'thingql';
  child: Child<{ httpPort: number }>;
  clients: Client[];
  /** deliveries per subscriber index since the probe (to check everyone is live) */
  seen: Uint8Array;
  /** deliveries received per event id */
  counts: Map<number, number>;
  delivered: number;
  errors: number;
  emit(k: number): void;
  onComplete: ((k: number) => void) | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function items(k: number) {
  const time = Date.now();
  return {
    LightSwitch: { value: k % 2, time },
    Brightness: { value: k % 101, time },
    ColorTemperature: { value: 2700 + (k % 39) * 100, time },
  };
}

/** Subscribe `SUBSCRIBERS` clients, 50 connecting at a time. */
async function subscribeAll(t: Target, productKey: string, connectionParams?: Record<string, unknown>): Promise<void> {
  let next = 0;
  const connectOne = async (i: number) => {
    if (SSE) {
      t.clients[i] = await subscribeSse(t, i, productKey, connectionParams?.authorization as string | undefined);
      return;
    }
    const client = createClient({
      url: `ws://127.0.0.1:${t.child.ready.httpPort}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      ...(connectionParams ? { connectionParams } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      const off1 = client.on('connected', () => {
        off1();
        off2();
        resolve();
      });
      const off2 = client.on('closed', (e) => {
        off1();
        off2();
        reject(
          new Error(
            `subscriber ${i} closed: ${(e as { code?: number; reason?: string }).code} ${(e as { reason?: string }).reason}`,
          ),
        );
      });
    });
    client.subscribe<{ devicePropertyPosted: { requestId: string } }>(
      { query: DOCUMENT, variables: { pk: productKey } },
      {
        next: (v) => deliver(t, i, v.data?.devicePropertyPosted?.requestId),
        error: () => void t.errors++,
        complete: () => {},
      },
    );
    t.clients[i] = client;
  };
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < SUBSCRIBERS) await connectOne(next++);
    }),
  );
}

/** One delivery to subscriber `i`: counted, and the event completed once every subscriber has it. */
function deliver(t: Target, i: number, requestId: unknown): void {
  const id = Number(requestId);
  if (!Number.isFinite(id)) {
    t.errors++;
    return;
  }
  t.seen[i] = 1;
  t.delivered++;
  const c = (t.counts.get(id) ?? 0) + 1;
  if (c >= SUBSCRIBERS) {
    t.counts.delete(id);
    t.onComplete?.(id);
  } else t.counts.set(id, c);
}

/** An SSE subscriber on a connection of its own; resolves once the response has started (status 200). */
function subscribeSse(t: Target, i: number, productKey: string, authorization?: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (authorization) headers.authorization = authorization;
    const req = http.request(
      `http://127.0.0.1:${t.child.ready.httpPort}/graphql`,
      { method: 'POST', headers, agent: false },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`subscriber ${i}: HTTP ${res.statusCode}`));
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = frame.indexOf('\ndata: ');
            if (!frame.startsWith('event: next') || data < 0) continue;
            const v = JSON.parse(frame.slice(data + 7)) as { data?: { devicePropertyPosted?: { requestId: string } } };
            deliver(t, i, v.data?.devicePropertyPosted?.requestId);
          }
        });
        res.on('error', () => void t.errors++);
        resolve({ dispose: () => void req.destroy() } as unknown as Client);
      },
    );
    req.on('error', (e) => {
      t.errors++;
      reject(e);
    });
    req.end(JSON.stringify({ query: DOCUMENT, variables: { pk: productKey } }));
  });
}

let nextEventId = 1;

/** Probe events until every subscriber has received one: every subscription is live on the server. */
async function waitAllLive(t: Target): Promise<void> {
  const deadline = performance.now() + 120_000;
  t.onComplete = null;
  while (t.seen.some((s) => s === 0)) {
    if (performance.now() > deadline)
      throw new Error(`${t.name}: ${t.seen.filter((s) => s === 0).length} subscribers never received an event`);
    t.emit(nextEventId++);
    await sleep(300);
  }
  await sleep(500);
  t.counts.clear();
}

interface RoundFigures {
  deliveriesPerSecond: number;
  eventsPerSecond: number;
  serverCpuMicrosPerDelivery: number;
  clientCpuMicrosPerDelivery: number;
  deliveries: number;
  errors: number;
}

async function measureRound(t: Target): Promise<RoundFigures> {
  let running = true;
  const pending = new Set<number>();
  let completed = 0;
  const emitNext = () => {
    const k = nextEventId++;
    pending.add(k);
    t.emit(k);
  };
  t.counts.clear();
  t.onComplete = (k) => {
    if (!pending.delete(k)) return; // a straggler of an earlier phase
    completed++;
    if (running) while (pending.size < WINDOW) emitNext();
  };
  const errorsBefore = t.errors;
  while (pending.size < WINDOW) emitNext();
  await sleep(WARMUP_MS);
  const u0 = await t.child.usage();
  const c0 = process.cpuUsage();
  const d0 = t.delivered;
  const e0 = completed;
  const s0 = performance.now();
  await sleep(SECONDS * 1000);
  const d1 = t.delivered;
  const e1 = completed;
  const s1 = performance.now();
  const clientCpu = cpuSince(c0);
  const u1 = await t.child.usage();
  running = false;
  const drainUntil = performance.now() + 30_000;
  while (pending.size > 0 && performance.now() < drainUntil) await sleep(20);
  t.onComplete = null;
  const deliveries = d1 - d0;
  const secs = (s1 - s0) / 1000;
  return {
    deliveriesPerSecond: round(deliveries / secs, 0),
    eventsPerSecond: round((e1 - e0) / secs, 1),
    serverCpuMicrosPerDelivery: round((u1.cpuMicros - u0.cpuMicros) / deliveries, 2),
    clientCpuMicrosPerDelivery: round(clientCpu / deliveries, 2),
    deliveries,
    errors: t.errors - errorsBefore,
  };
}

async function main(): Promise<void> {
  say(
    `subscribers: ${SUBSCRIBERS} ${SSE ? 'SSE' : 'graphql-ws'} subscribers per server, ${ROUNDS} rounds of ${SECONDS} s, window ${WINDOW} events, ${DEVICES} devices`,
  );
  let fresh: FreshDatabase | null = null;
  const dbUrl = opt['database-url'];
  if (dbUrl) fresh = await createFreshDatabase(dbUrl, 'subs');
  const started: Child<any>[] = [];
  const devices: MqttClient[] = [];
  const targets: Target[] = [];
  try {
    const [base, tq] = await Promise.all([
      startChild<{ httpPort: number }>(new URL('./lib/yoga-child.ts', import.meta.url), [], { name: 'yoga baseline' }),
      startChild<ThingqlReady>(
        new URL('./lib/thingql-child.ts', import.meta.url),
        [JSON.stringify({ DATABASE_URL: fresh?.url ?? 'memory://' })],
        { name: 'thingql' },
      ),
    ]);
    started.push(base, tq);
    say(`  servers up (ThingQL on ${tq.ready.database}, started in ${tq.ready.startMs} ms)`);

    const gql = gqlClient(tq.ready.httpPort, tq.ready.adminToken);
    const { productKey, devices: creds } = await provision(gql, {
      name: 'Subscriber bench lamp',
      tsl: smartLampTsl(),
      count: DEVICES,
    });
    gql.close();
    for (const c of creds) {
      devices.push(
        await mqtt.connectAsync(`mqtt://127.0.0.1:${tq.ready.mqttPort}`, {
          ...alinkLogin(c),
          reconnectPeriod: 0,
          keepalive: 600,
        }),
      );
    }

    const mk = (name: Target['name'], child: Child<any>, emit: (k: number) => void): Target => ({
      name,
      child,
      clients: [],
      seen: new Uint8Array(SUBSCRIBERS),
      counts: new Map(),
      delivered: 0,
      errors: 0,
      emit,
      onComplete: null,
    });
    const baseline = mk('baseline', base, (k) => {
      void base.call('publish', { productKey, from: k, count: 1, items: items(k) });
    });
    const thingql = mk('thingql', tq, (k) => {
      const c = creds[k % creds.length]!;
      const payload = JSON.stringify({
        id: String(k),
        version: '1.0',
        params: { LightSwitch: k % 2, Brightness: k % 101, ColorTemperature: 2700 + (k % 39) * 100 },
        method: 'thing.event.property.post',
      });
      devices[k % devices.length]!.publish(`/sys/${c.productKey}/${c.deviceName}/thing/event/property/post`, payload, {
        qos: 1,
      });
    });
    targets.push(baseline, thingql);

    for (const t of targets) {
      const s = performance.now();
      await subscribeAll(
        t,
        productKey,
        t.name === 'thingql' ? { authorization: `Bearer ${tq.ready.adminToken}` } : undefined,
      );
      await waitAllLive(t);
      say(`  ${t.name}: ${SUBSCRIBERS} subscribers live in ${Math.round(performance.now() - s)} ms`);
    }

    const rounds: Record<Target['name'], RoundFigures[]> = { baseline: [], thingql: [] };
    for (let r = 1; r <= ROUNDS; r++) {
      const order = r % 2 === 1 ? [baseline, thingql] : [thingql, baseline];
      for (const t of order) {
        const f = await measureRound(t);
        rounds[t.name].push(f);
        say(
          `  round ${r} ${t.name.padEnd(8)}: ${f.deliveriesPerSecond} deliveries/s (${f.eventsPerSecond} events/s), server CPU ${f.serverCpuMicrosPerDelivery} us/delivery, clients ${f.clientCpuMicrosPerDelivery} us/delivery${f.errors ? `, ${f.errors} ERRORS` : ''}`,
        );
      }
    }

    const sp = (name: Target['name'], k: keyof RoundFigures, d = 2) =>
      spread(
        rounds[name].map((f) => f[k]),
        d,
      );
    const figures = {
      baseline: {
        deliveriesPerSecond: sp('baseline', 'deliveriesPerSecond', 0),
        eventsPerSecond: sp('baseline', 'eventsPerSecond', 1),
        serverCpuMicrosPerDelivery: sp('baseline', 'serverCpuMicrosPerDelivery'),
        clientCpuMicrosPerDelivery: sp('baseline', 'clientCpuMicrosPerDelivery'),
      },
      thingql: {
        deliveriesPerSecond: sp('thingql', 'deliveriesPerSecond', 0),
        eventsPerSecond: sp('thingql', 'eventsPerSecond', 1),
        serverCpuMicrosPerDelivery: sp('thingql', 'serverCpuMicrosPerDelivery'),
        clientCpuMicrosPerDelivery: sp('thingql', 'clientCpuMicrosPerDelivery'),
      },
      rounds,
    };
    const throughputRatio = ratioOf(figures.thingql.deliveriesPerSecond, figures.baseline.deliveriesPerSecond);
    const cpuRatio = ratioOf(figures.thingql.serverCpuMicrosPerDelivery, figures.baseline.serverCpuMicrosPerDelivery);
    const errors = [...rounds.baseline, ...rounds.thingql].reduce((a, f) => a + f.errors, 0);
    const rows: Row[] = [
      {
        scenario: `${SUBSCRIBERS.toLocaleString('en-US')} ${SSE ? 'SSE' : 'graphql-ws'} subscribers to the same stream: deliveries/s`,
        baseline: `${fmtSpread(figures.baseline.deliveriesPerSecond)} (yoga + ${SSE ? 'SSE' : 'graphql-ws'}, createPubSub)`,
        measured: fmtSpread(figures.thingql.deliveriesPerSecond),
        ratio: fmtRatio(throughputRatio),
        goal: `>= ${GOAL}x baseline`,
        met: errors === 0 && throughputRatio >= GOAL,
      },
      {
        scenario: `  server CPU per delivery (us)`,
        baseline: fmtSpread(figures.baseline.serverCpuMicrosPerDelivery),
        measured: `${fmtSpread(figures.thingql.serverCpuMicrosPerDelivery)} incl. ingest + storage`,
        ratio: fmtRatio(cpuRatio),
        goal: 'report',
        met: null,
      },
    ];
    const out: BenchOutput = {
      bench: 'subscribers',
      at: new Date().toISOString(),
      machine: machine(),
      options: {
        subscribers: SUBSCRIBERS,
        rounds: ROUNDS,
        seconds: SECONDS,
        window: WINDOW,
        devices: DEVICES,
        database: fresh ? 'postgres' : 'pglite (memory://)',
        quick: opt.quick,
      },
      rows,
      figures: { ...figures, ratios: { deliveriesPerSecond: throughputRatio, serverCpuPerDelivery: cpuRatio }, errors },
      notes: [
        'Events: mqtt.js devices posting properties with QoS 1 (ThingQL, full ingest path) vs pubsub.publish on IPC request (baseline).',
        'CPU: process.cpuUsage() of the server child over the measurement window / deliveries in it; clients and devices run in the parent.',
      ],
    };
    console.log(
      `\nThingQL / baseline, same run: deliveries/s ${fmtRatio(throughputRatio)}, server CPU per delivery ${fmtRatio(cpuRatio)}`,
    );
    console.log(`written ${writeResult(out, opt.json)}`);
  } finally {
    for (const t of targets) await Promise.all(t.clients.map((c) => c?.dispose()));
    await Promise.all(devices.map((d) => d.endAsync().catch(() => {})));
    for (const c of started) await c.stop();
    await fresh?.drop();
  }
}

await main();
process.exit(0);
