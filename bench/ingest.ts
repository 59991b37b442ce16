/**
 * Property-post ingest: `npx tsx bench/ingest.ts [--devices 10] [--messages 20000] [--window 50]
 * [--rounds 3] [--database-url postgres://... | --data-dir] [--persistent]` (--persistent: devices connect with clean: false, as the Link SDKs do).
 *
 * ThingQL: `--devices` mqtt.js devices (Alink login) publish QoS 1 smart-lamp property posts with 3 properties on
 * `/sys/${pk}/${dn}/thing/event/property/post`, each with at most `--window` posts waiting for their PUBACK. A post
 * counts when a graphql-ws subscriber of `devicePropertyPosted` receives it, i.e. after it was validated, committed
 * (group commit, event log, history) and fanned out. Latency = device publish -> subscriber receipt. PUBACK latency
 * (publish -> PUBACK, which ThingQL sends only after the commit) is reported too.
 *
 * Baseline, same run, same clients, same payloads: a plain aedes broker (`Aedes.createBroker()`, no hooks, in-memory)
 * relays the posts from the same number of publishers to one mqtt.js subscriber (QoS 1), measured the same way.
 *
 * Each server runs in a child process of its own; the clients live in this process (2 cores: one each, roughly).
 * The embedded database is in memory (memory://) by default, or in a new data directory on disk with `--data-dir` (as
 * `npm start` runs it; removed after the run); `--database-url` points ThingQL at a PostgreSQL server,
 * where a scratch database is created for the run and dropped after. Results print as ThingQL / aedes ratios and
 * go to bench/results/ingest-<time>.json.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import { createClient } from 'graphql-ws';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import postgres from 'postgres';
import WebSocket from 'ws';
import { alinkLogin, type DeviceCreds } from '../test/helpers/devices.ts';

const { values: opt } = parseArgs({
  options: {
    devices: { type: 'string', default: '10' },
    messages: { type: 'string', default: '20000' },
    window: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    /**
     * Paced phases after the rounds, in this order: at each of these rates (posts/s in total, spread evenly over the
     * devices; 0 = skip). The highest is the goal's; a lower one shows latency below saturation.
     */
    'paced-rate': { type: 'string', default: '1000,5000' },
    'paced-seconds': { type: 'string', default: '5' },
    /** ThingQL's devices keep persistent sessions (clean: false), as the Link SDKs connect by default. */
    persistent: { type: 'boolean', default: false },
    'database-url': { type: 'string' },
    /** The embedded database in a new data directory on disk (as `npm start` runs it), not in memory (memory://). */
    'data-dir': { type: 'boolean', default: false },
    /** Internal: run as the server child ('thingql' | 'aedes'). */
    role: { type: 'string' },
    db: { type: 'string' },
  },
});
const DEVICES = Number(opt.devices);
const MESSAGES = Math.ceil(Number(opt.messages) / DEVICES) * DEVICES;
const WINDOW = Number(opt.window);
const ROUNDS = Math.max(1, Number(opt.rounds));
const PACED_RATES = opt['paced-rate']
  .split(',')
  .map(Number)
  .filter((r) => r > 0);
const PACED_SECONDS = Number(opt['paced-seconds']);
const PERSISTENT = opt.persistent;
const WARMUP = Math.min(2000, Math.ceil(MESSAGES / 10 / DEVICES) * DEVICES);

// ---------------------------------------------------------------------------------------------------------------
// Server children.

type Ready = { mqttPort: number; httpPort?: number; adminToken?: string };

async function serve(role: string): Promise<void> {
  let stop: () => Promise<void>;
  let ready: Ready;
  if (role === 'aedes') {
    const broker = await Aedes.createBroker();
    const server = net.createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    ready = { mqttPort: (server.address() as AddressInfo).port };
    stop = async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    };
  } else {
    const { makeConfig } = await import('../src/config.ts');
    const { startPlatform } = await import('../src/server.ts');
    const adminToken = `bench-${randomBytes(16).toString('hex')}`;
    const config = makeConfig({
      PORT: 0,
      MQTT_PORT: 0,
      HOST: '127.0.0.1',
      ADMIN_TOKEN: adminToken,
      // --db: a PostgreSQL URL, memory://, or (--data-dir) the embedded database's directory.
      ...(opt.db && !/^[a-z]+:\/\//.test(opt.db) ? { DATA_DIR: opt.db } : { DATABASE_URL: opt.db ?? 'memory://' }),
      LOG_LEVEL: 'warn',
    });
    const platform = await startPlatform(config);
    ready = { mqttPort: platform.mqttPort, httpPort: platform.httpPort, adminToken };
    stop = () => platform.close();
  }
  // The server's event-loop delay (how late a 1 ms timer fires): what a socket read or a timer waits for the loop.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  process.send!({ ready });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'stop') void stop().then(() => process.exit(0));
    if (m.cmd === 'loop-delay') {
      process.send!({ loopDelayMs: { p99: round2(loopDelay.percentile(99) / 1e6), max: round2(loopDelay.max / 1e6) } });
      loopDelay.reset();
    }
    if (m.cmd === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpu: u.user + u.system });
    }
  });
}

function startChild(role: 'thingql' | 'aedes', db?: string): Promise<{ child: ChildProcess; ready: Ready }> {
  const args = ['--role', role, ...(db ? ['--db', db] : [])];
  // BENCH_PROFILE=1 writes a V8 CPU profile of each server to bench/results/profiles/.
  const profile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${fileURLToPath(new URL('./results/profiles/', import.meta.url))}`]
    : [];
  const child = fork(fileURLToPath(import.meta.url), args, {
    execArgv: ['--import', 'tsx', ...profile],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { ready: Ready }) => resolve({ child, ready: m.ready }));
    child.once('exit', (code) => reject(new Error(`${role} server exited with ${code} before it was ready`)));
  });
}

/** The server child's CPU time so far (user + system), in microseconds. */
function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const on = (m: { cpu?: number }) => {
      if (typeof m.cpu !== 'number') return;
      child.off('message', on);
      resolve(m.cpu);
    };
    child.on('message', on);
    child.send({ cmd: 'cpu' });
  });
}

type LoopDelay = { p99: number; max: number };

/** What the bench reads off a server child between phases. */
interface ServerProbe {
  cpu: () => Promise<number>;
  loopDelay: () => Promise<LoopDelay>;
}

const probeOf = (child: ChildProcess): ServerProbe => ({
  cpu: () => cpuOf(child),
  loopDelay: () => loopDelayOf(child),
});

/** The server child's event-loop delay since the last call (p99 and max, ms); resets it. */
function loopDelayOf(child: ChildProcess): Promise<LoopDelay> {
  return new Promise((resolve) => {
    const on = (m: { loopDelayMs?: LoopDelay }) => {
      if (!m.loopDelayMs) return;
      child.off('message', on);
      resolve(m.loopDelayMs);
    };
    child.on('message', on);
    child.send({ cmd: 'loop-delay' });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.send({ cmd: 'stop' });
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

// ---------------------------------------------------------------------------------------------------------------
// Load.

interface Publisher {
  name: string;
  topic: string;
  client: MqttClient;
}

interface RoundResult {
  messages: number;
  seconds: number;
  perSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  pubackMs: { p50: number; p99: number } | null;
  /** Server process CPU (user + system) per post during the round, in microseconds. */
  cpuUsPerPost: number;
  /** The server's event-loop delay during the round (ms). */
  loopDelayMs: LoopDelay;
  /** PostgreSQL: CPU of this database's backends per post (us), and WAL written per post (bytes; server-wide LSN). */
  dbCpuUsPerPost?: number;
  walBytesPerPost?: number;
}

const payload = (n: number) =>
  JSON.stringify({
    id: String(n),
    version: '1.0',
    params: { LightSwitch: n % 2, Brightness: n % 101, ColorTemperature: 2700 + (n % 39) * 100 },
    method: 'thing.event.property.post',
  });

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * Every publisher sends `perDevice` posts with ids from `firstId`, at most WINDOW waiting for their PUBACK. `received`
 * is called by the subscriber side with the publisher name and the post id.
 */
async function runRound(
  pubs: Publisher[],
  perDevice: number,
  firstId: number,
  arrivals: { on: (cb: (name: string, id: number) => void) => void },
  server: ServerProbe,
  dbStats?: DbStats,
): Promise<RoundResult> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const pubacks: number[] = [];
  const total = pubs.length * perDevice;
  let received = 0;
  let lastAt = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  arrivals.on((name, id) => {
    const key = `${name}:${id}`;
    const t = sentAt.get(key);
    if (t === undefined) return; // another round's straggler
    sentAt.delete(key);
    const now = performance.now();
    latencies.push(now - t);
    lastAt = now;
    if (++received === total) done();
  });
  const cpu0 = await server.cpu();
  await server.loopDelay();
  const db0 = await dbStats?.snapshot();
  const t0 = performance.now();
  await Promise.all(
    pubs.map(
      (p) =>
        new Promise<void>((resolve, reject) => {
          let next = 0;
          let inFlight = 0;
          let acked = 0;
          const pump = () => {
            while (inFlight < WINDOW && next < perDevice) {
              const id = firstId + next++;
              inFlight++;
              const start = performance.now();
              sentAt.set(`${p.name}:${id}`, start);
              p.client.publish(p.topic, payload(id), { qos: 1 }, (err) => {
                if (err) return reject(err);
                pubacks.push(performance.now() - start);
                inFlight--;
                if (++acked === perDevice) resolve();
                else pump();
              });
            }
          };
          pump();
        }),
    ),
  );
  const timeout = setTimeout(() => done(), 60_000);
  await finished;
  clearTimeout(timeout);
  if (received < total) throw new Error(`only ${received} of ${total} posts reached the subscriber`);
  const cpuUsPerPost = ((await server.cpu()) - cpu0) / total;
  const loopDelayMs = await server.loopDelay();
  const db1 = await dbStats?.snapshot();
  const seconds = (lastAt - t0) / 1000;
  latencies.sort((a, b) => a - b);
  pubacks.sort((a, b) => a - b);
  return {
    messages: total,
    seconds: round2(seconds),
    perSecond: Math.round(total / seconds),
    latencyMs: {
      p50: round2(pct(latencies, 50)),
      p90: round2(pct(latencies, 90)),
      p99: round2(pct(latencies, 99)),
      max: round2(latencies.at(-1)!),
    },
    pubackMs: { p50: round2(pct(pubacks, 50)), p99: round2(pct(pubacks, 99)) },
    cpuUsPerPost: round2(cpuUsPerPost),
    loopDelayMs,
    ...(db0 && db1
      ? {
          dbCpuUsPerPost: round2((db1.cpuUs - db0.cpuUs) / total),
          walBytesPerPost: Math.round((db1.wal - db0.wal) / total),
        }
      : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL's side: CPU of the database's backends (from /proc) and WAL written (pg_current_wal_lsn).

interface DbStats {
  snapshot(): Promise<{ cpuUs: number; wal: number }>;
  storage(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

const CLK_TCK_US = 10_000; // Linux USER_HZ = 100

function procCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * CLK_TCK_US; // utime, stime (fields 14 and 15)
  } catch {
    return 0;
  }
}

function dbStatsOf(url: string): DbStats {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  // Per backend: CPU seen at the first snapshot it appeared in (backends of a pool live across rounds).
  const seen = new Map<number, number>();
  let total = 0;
  return {
    async snapshot() {
      const rows = await sql<
        { pid: number }[]
      >`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
      for (const { pid } of rows) {
        const now = procCpuUs(pid);
        const before = seen.get(pid);
        if (before !== undefined) total += now - before;
        seen.set(pid, now);
      }
      const [w] = await sql<{ lsn: string }[]>`select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text as lsn`;
      return { cpuUs: total, wal: Number(w!.lsn) };
    },
    async storage() {
      const rows = await sql<{ name: string; bytes: string }[]>`
        select c.relname as name, pg_total_relation_size(c.oid)::text as bytes from pg_class c
        where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace
          and c.relname in ('events', 'property_history', 'property_latest', 'property_hourly', 'ingest_dedupe')`;
      return Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)]));
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Paced phase: an open-loop load at a fixed rate (not as fast as possible), where latency means something.

interface PacedResult {
  targetPerSecond: number;
  achievedPerSecond: number;
  sent: number;
  received: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** The server's event-loop delay during the phase (ms). */
  loopDelayMs: LoopDelay;
}

async function paced(
  rate: number,
  pubs: Publisher[],
  firstId: number,
  arrivals: { on: (cb: (name: string, id: number) => void) => void },
  server: ServerProbe,
): Promise<PacedResult> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let received = 0;
  arrivals.on((name, id) => {
    const key = `${name}:${id}`;
    const t = sentAt.get(key);
    if (t === undefined) return;
    sentAt.delete(key);
    latencies.push(performance.now() - t);
    received++;
  });
  const total = Math.round(rate * PACED_SECONDS);
  let sent = 0;
  await server.loopDelay();
  const t0 = performance.now();
  const nextId = new Map<string, number>(pubs.map((p) => [p.name, firstId]));
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      while (sent < due) {
        const p = pubs[sent % pubs.length]!;
        const id = nextId.get(p.name)!;
        nextId.set(p.name, id + 1);
        sentAt.set(`${p.name}:${id}`, performance.now());
        p.client.publish(p.topic, payload(id), { qos: 1 });
        sent++;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 2);
    };
    tick();
  });
  const sendSeconds = (performance.now() - t0) / 1000;
  const deadline = Date.now() + 30_000;
  while (received < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const loopDelayMs = await server.loopDelay();
  latencies.sort((a, b) => a - b);
  return {
    loopDelayMs,
    targetPerSecond: rate,
    achievedPerSecond: Math.round(sent / sendSeconds),
    sent,
    received,
    latencyMs: {
      p50: round2(pct(latencies, 50)),
      p90: round2(pct(latencies, 90)),
      p99: round2(pct(latencies, 99)),
      max: round2(latencies.at(-1) ?? 0),
    },
  };
}

function connect(url: string, o: IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 10_000, keepalive: 60, ...o });
}

async function measureAedes(): Promise<Measured> {
  const { child, ready } = await startChild('aedes');
  const url = `mqtt://127.0.0.1:${ready.mqttPort}`;
  try {
    const sub = await connect(url, { clientId: 'bench-sub' });
    await sub.subscribeAsync('/sys/+/+/thing/event/property/post', { qos: 1 });
    const listeners: ((name: string, id: number) => void)[] = [];
    sub.on('message', (topic, buf) => {
      const name = topic.split('/')[3]!;
      const id = Number((JSON.parse(buf.toString()) as { id: string }).id);
      for (const l of listeners) l(name, id);
    });
    const pubs: Publisher[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const name = `dev-${String(i).padStart(4, '0')}`;
      pubs.push({
        name,
        topic: `/sys/bench/${name}/thing/event/property/post`,
        client: await connect(url, { clientId: `bench-${name}` }),
      });
    }
    const results = await rounds(pubs, listeners, probeOf(child));
    for (const p of pubs) await p.client.endAsync();
    await sub.endAsync();
    return results;
  } finally {
    await stopChild(child);
  }
}

interface Measured {
  rounds: RoundResult[];
  /** The highest paced rate's result (the goal's). */
  paced: PacedResult | null;
  /** Every paced rate's, in --paced-rate order. */
  pacedAll: PacedResult[];
  /** PostgreSQL: bytes per stored post, by table (tables + indexes + TOAST), after every round. */
  storageBytesPerPost?: Record<string, number>;
}

async function rounds(
  pubs: Publisher[],
  listeners: ((name: string, id: number) => void)[],
  server: ServerProbe,
  dbStats?: DbStats,
): Promise<Measured> {
  const arrivals = {
    on: (cb: (name: string, id: number) => void) => {
      listeners.length = 0;
      listeners.push(cb);
    },
  };
  let id = 1;
  await runRound(pubs, WARMUP / DEVICES, id, arrivals, server);
  id += WARMUP / DEVICES;
  const out: RoundResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    out.push(await runRound(pubs, MESSAGES / DEVICES, id, arrivals, server, dbStats));
    id += MESSAGES / DEVICES;
  }
  let storageBytesPerPost: Record<string, number> | undefined;
  if (dbStats) {
    const stored = WARMUP + ROUNDS * MESSAGES;
    const sizes = await dbStats.storage();
    storageBytesPerPost = Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, Math.round(v / stored)]));
    storageBytesPerPost.total = Object.values(sizes).reduce((a, b) => a + b, 0) / stored;
    storageBytesPerPost.total = Math.round(storageBytesPerPost.total);
  }
  const pacedAll: PacedResult[] = [];
  for (const rate of PACED_RATES) {
    const p = await paced(rate, pubs, id, arrivals, server);
    id += Math.ceil((rate * PACED_SECONDS) / pubs.length) + 1;
    pacedAll.push(p);
    console.log(
      `  paced ${p.targetPerSecond}/s: achieved ${p.achievedPerSecond}/s, ${p.received}/${p.sent} received, p50 ${p.latencyMs.p50} ms, p99 ${p.latencyMs.p99} ms, server loop delay p99 ${p.loopDelayMs.p99} ms max ${p.loopDelayMs.max} ms`,
    );
  }
  const goal = pacedAll.reduce<PacedResult | null>(
    (m, p) => (!m || p.targetPerSecond > m.targetPerSecond ? p : m),
    null,
  );
  return { rounds: out, paced: goal, pacedAll, ...(storageBytesPerPost ? { storageBytesPerPost } : {}) };
}

async function gql(httpUrl: string, token: string, query: string, variables: Record<string, unknown>): Promise<any> {
  const res = await fetch(`${httpUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data: any; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function measureThingQL(db: string | undefined, dataDir: string | undefined): Promise<Measured> {
  const { child, ready } = await startChild('thingql', db ?? dataDir);
  const httpUrl = `http://127.0.0.1:${ready.httpPort}`;
  const token = ready.adminToken!;
  const url = `mqtt://127.0.0.1:${ready.mqttPort}`;
  try {
    const tsl = JSON.parse(
      readFileSync(new URL('../test/fixtures/smart-lamp.json', import.meta.url), 'utf8'),
    ) as unknown;
    const p = await gql(
      httpUrl,
      token,
      `mutation($i: CreateProductInput!) { createProduct(input: $i) { product { productKey } userErrors { message } } }`,
      { i: { name: 'Bench lamp', tsl } },
    );
    const productKey = p.createProduct.product.productKey as string;
    const names = Array.from({ length: DEVICES }, (_, i) => `dev-${String(i).padStart(4, '0')}`);
    const r = await gql(
      httpUrl,
      token,
      `mutation($i: RegisterDevicesInput!) { registerDevices(input: $i) { devices { device { deviceName } deviceSecret } userErrors { message } } }`,
      {
        i: { productKey, deviceNames: names },
      },
    );
    const creds: DeviceCreds[] = r.registerDevices.devices.map((d: any) => ({
      productKey,
      deviceName: d.device.deviceName,
      deviceSecret: d.deviceSecret,
    }));

    const listeners: ((name: string, id: number) => void)[] = [];
    const ws = createClient({
      url: `ws://127.0.0.1:${ready.httpPort}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    const subscribed = new Promise<void>((resolve, reject) => {
      ws.on('connected', () => setTimeout(resolve, 300));
      ws.subscribe<{ devicePropertyPosted: { deviceName: string; requestId: string } }>(
        {
          query: `subscription($pk: String) { devicePropertyPosted(productKey: $pk) { deviceName requestId } }`,
          variables: { pk: productKey },
        },
        {
          next: (v) => {
            const e = v.data?.devicePropertyPosted;
            if (e) for (const l of listeners) l(e.deviceName, Number(e.requestId));
            // The stream ends with one error result (e.g. SUBSCRIBER_TOO_SLOW): say so, not just "received fewer".
            if (v.errors) console.error(`  the subscription ended: ${JSON.stringify(v.errors)}`);
          },
          error: (err) => {
            console.error(`  the subscription failed: ${err instanceof Error ? err.message : JSON.stringify(err)}`);
            reject(err);
          },
          complete: () => {},
        },
      );
    });
    await subscribed;
    const pubs: Publisher[] = [];
    for (const c of creds) {
      pubs.push({
        name: c.deviceName,
        topic: `/sys/${productKey}/${c.deviceName}/thing/event/property/post`,
        client: await connect(url, { ...alinkLogin(c), clean: !PERSISTENT }),
      });
    }
    const stats = db ? dbStatsOf(db) : undefined;
    try {
      const results = await rounds(pubs, listeners, probeOf(child), stats);
      for (const p of pubs) await p.client.endAsync();
      await ws.dispose();
      return results;
    } finally {
      await stats?.close();
    }
  } finally {
    await stopChild(child);
  }
}

function median(results: RoundResult[], pick: (r: RoundResult) => number): number {
  const v = results.map(pick).sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)]!;
}

async function main(): Promise<void> {
  if (opt.role) return serve(opt.role);
  let db: string | undefined;
  let drop: (() => Promise<void>) | null = null;
  if (opt['database-url']) {
    const base = opt['database-url'];
    const name = `thingql_bench_${randomBytes(5).toString('hex')}`;
    const admin = postgres(base, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    const u = new URL(base);
    u.pathname = `/${name}`;
    db = u.toString();
    drop = async () => {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    };
  }
  let dataDir: string | undefined;
  if (!db && opt['data-dir']) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'thingql-bench-'));
    const previous = drop;
    drop = async () => {
      await previous?.();
      rmSync(dataDir!, { recursive: true, force: true });
    };
  }
  const database = db ? 'postgresql' : dataDir ? `pglite DATA_DIR ${dataDir}` : 'pglite memory://';
  console.log(
    `ingest bench: ${DEVICES} devices, ${MESSAGES} QoS 1 property posts per round (3 properties), window ${WINDOW}, ${ROUNDS} rounds, ${database}`,
  );
  console.log(
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, node ${process.version}`,
  );
  try {
    const aedesM = await measureAedes();
    const thingqlM = await measureThingQL(db, dataDir);
    const aedes = aedesM.rounds;
    const thingql = thingqlM.rounds;
    const row = (name: string, rs: RoundResult[]) =>
      console.log(
        `${name.padEnd(28)} ${String(median(rs, (r) => r.perSecond)).padStart(8)} msg/s   p50 ${median(
          rs,
          (r) => r.latencyMs.p50,
        )
          .toFixed(1)
          .padStart(7)} ms   p99 ${median(rs, (r) => r.latencyMs.p99)
          .toFixed(1)
          .padStart(7)} ms   (rounds: ${rs.map((r) => r.perSecond).join(', ')})`,
      );
    console.log('');
    row('aedes relay (baseline)', aedes);
    row('ThingQL publish->subscriber', thingql);
    const ratio = {
      throughput: round2(median(thingql, (r) => r.perSecond) / median(aedes, (r) => r.perSecond)),
      cpuPerPost: round2(median(thingql, (r) => r.cpuUsPerPost) / median(aedes, (r) => r.cpuUsPerPost)),
      p50: round2(median(thingql, (r) => r.latencyMs.p50) / median(aedes, (r) => r.latencyMs.p50)),
      p99: round2(median(thingql, (r) => r.latencyMs.p99) / median(aedes, (r) => r.latencyMs.p99)),
    };
    console.log(
      `ThingQL / aedes: throughput x${ratio.throughput}, p50 latency x${ratio.p50}, p99 latency x${ratio.p99}`,
    );
    console.log(
      `ThingQL PUBACK (after commit): p50 ${median(thingql, (r) => r.pubackMs!.p50)} ms, p99 ${median(thingql, (r) => r.pubackMs!.p99)} ms`,
    );
    console.log(
      `server event-loop delay at saturation (median of rounds): aedes p99 ${median(aedes, (r) => r.loopDelayMs.p99)} ms, max ${median(aedes, (r) => r.loopDelayMs.max)} ms; ThingQL p99 ${median(thingql, (r) => r.loopDelayMs.p99)} ms, max ${median(thingql, (r) => r.loopDelayMs.max)} ms`,
    );
    const cpuA = median(aedes, (r) => r.cpuUsPerPost);
    const cpuT = median(thingql, (r) => r.cpuUsPerPost);
    console.log(
      `server CPU per post: aedes ${cpuA} us, ThingQL ${cpuT} us (x${round2(cpuT / cpuA)}; ThingQL's includes the embedded database unless --database-url is given)`,
    );
    if (db) {
      const dbCpu = median(thingql, (r) => r.dbCpuUsPerPost ?? 0);
      console.log(
        `PostgreSQL per post: backends' CPU ${dbCpu} us (server + database x${round2((cpuT + dbCpu) / cpuA)}), WAL ${median(thingql, (r) => r.walBytesPerPost ?? 0)} bytes; storage ${JSON.stringify(thingqlM.storageBytesPerPost)}`,
      );
    }
    for (const [name, m] of [
      ['aedes', aedesM],
      ['ThingQL', thingqlM],
    ] as const) {
      for (const p of m.pacedAll)
        console.log(
          `paced ${p.targetPerSecond} posts/s, ${name}: achieved ${p.achievedPerSecond}/s, p50 ${p.latencyMs.p50} ms, p99 ${p.latencyMs.p99} ms (${p.received}/${p.sent}); server event-loop delay p99 ${p.loopDelayMs.p99} ms, max ${p.loopDelayMs.max} ms`,
        );
    }
    const dir = fileURLToPath(new URL('./results/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const file = `${dir}ingest-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    writeFileSync(
      file,
      JSON.stringify(
        {
          bench: 'ingest',
          at: new Date().toISOString(),
          params: {
            devices: DEVICES,
            messagesPerRound: MESSAGES,
            window: WINDOW,
            rounds: ROUNDS,
            warmup: WARMUP,
            database,
          },
          machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg(), node: process.version },
          aedes,
          thingql,
          ratio,
          paced: { aedes: aedesM.paced, thingql: thingqlM.paced },
          pacedAll: { aedes: aedesM.pacedAll, thingql: thingqlM.pacedAll },
          storageBytesPerPost: thingqlM.storageBytesPerPost ?? null,
        },
        null,
        2,
      ),
    );
    console.log(`results: ${file}`);
  } finally {
    await drop?.();
  }
}

await main();
