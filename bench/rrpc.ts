/**
 * RRPC and synchronous-service round trips: `npx tsx bench/rrpc.ts [--db postgres://...] [--calls 2000]
 * [--warm-seconds 14]`.
 *
 * ThingQL: a GraphQL client (HTTP/1.1 keep-alive) calls `rrpc` and `invokeThingService(Blink)` on 100 mqtt.js devices
 * that answer at once. Each runs at full concurrency (every call issued at once) and paced at 1,000 calls/s (latency
 * counted from each call's scheduled time, so a server that falls behind shows it). Also measured: the time to answer
 * OFFLINE, and how far past `timeoutMs` a TIMEOUT answer comes.
 *
 * Baseline, same run, same process layout: a plain aedes broker relaying request/response between one MQTT client
 * and 100 mqtt.js devices (the client publishes `req/${dn}/${id}`, the device answers on `res/${dn}/${id}`), measured
 * the same way. Figures print with ThingQL / baseline ratios. JSON goes to bench/results/ (gitignored).
 *
 * Everything (client, devices, platform) shares one Node process, as in the baseline: the ratios compare like with like.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import { createClient } from 'graphql-ws';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { makeConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startPlatform } from '../src/server.ts';
import { alinkLogin, type DeviceCreds } from '../test/helpers/devices.ts';

const { values: opt } = parseArgs({
  options: {
    db: { type: 'string' },
    calls: { type: 'string', default: '2000' },
    devices: { type: 'string', default: '100' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '3' },
    /**
     * Paced rrpc over graphql-ws for this long before measuring (unmeasured): the tables grow and the embedded
     * database's autovacuum (first run 10 s after start) has run, as on a server that has been up a while.
     */
    'warm-seconds': { type: 'string', default: '0' },
  },
});
/** Other processes on the machine skew every figure: recorded with the results. */
const LOAD_AT_START = os.loadavg();
const CALLS = Number(opt.calls);
const DEVICES = Number(opt.devices);
const RATE = Number(opt.rate);
const PACED_CALLS = Math.round(RATE * Number(opt.seconds));

// ---------------------------------------------------------------------------------------------------------------
// Measurement

interface Stats {
  calls: number;
  failed: number;
  wallMs: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function stats(latencies: number[], failed: number, wallMs: number): Stats {
  const s = [...latencies].sort((a, b) => a - b);
  return {
    calls: latencies.length + failed,
    failed,
    wallMs: round(wallMs, 0),
    perSecond: round((latencies.length / wallMs) * 1000, 0),
    p50Ms: round(percentile(s, 50)),
    p99Ms: round(percentile(s, 99)),
    maxMs: round(s.at(-1) ?? NaN),
  };
}

/** A call resolves true when the answer is the right one for that call. */
type Call = (k: number) => Promise<boolean>;

/** Every call issued at once. */
async function fullConcurrency(n: number, call: Call): Promise<Stats> {
  const lat: number[] = [];
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, k) => {
      const s = performance.now();
      const good = await call(k).catch(() => false);
      if (good) lat.push(performance.now() - s);
      else failed++;
    }),
  );
  return stats(lat, failed, performance.now() - t0);
}

/** `rate` calls per second; latency from each call's scheduled start (no coordinated omission). */
async function paced(n: number, rate: number, call: Call): Promise<Stats> {
  const lat: number[] = [];
  let failed = 0;
  const t0 = performance.now();
  const running: Promise<void>[] = [];
  for (let k = 0; k < n; ) {
    const now = performance.now();
    const due = Math.min(n, Math.floor(((now - t0) * rate) / 1000) + 1);
    for (; k < due; k++) {
      const scheduled = t0 + (k * 1000) / rate;
      running.push(
        call(k)
          .catch(() => false)
          .then((good) => {
            if (good) lat.push(performance.now() - scheduled);
            else failed++;
          }),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(running);
  return stats(lat, failed, performance.now() - t0);
}

// ---------------------------------------------------------------------------------------------------------------
// Devices

function echoDevice(
  c: MqttClient,
  onRequest: (topic: string, payload: Buffer) => { topic: string; payload: string } | null,
): void {
  c.on('message', (topic, payload) => {
    const out = onRequest(topic, payload);
    if (out) c.publish(out.topic, out.payload, { qos: 0 });
  });
}

/** The ThingQL device: raw RRPC echoes `${messageId}:${payload}`; Blink answers an Alink reply (D12). */
function thingqlDevice(c: MqttClient, pk: string, dn: string): void {
  const prefix = `/sys/${pk}/${dn}/rrpc/request/`;
  echoDevice(c, (topic, payload) => {
    if (!topic.startsWith(prefix)) return null;
    const id = topic.slice(prefix.length);
    const text = payload.toString();
    const reply = text.startsWith('{')
      ? JSON.stringify({ id: (JSON.parse(text) as { id: string }).id, code: 200, data: { Done: 1 } })
      : `${id}:${text}`;
    return { topic: `/sys/${pk}/${dn}/rrpc/response/${id}`, payload: reply };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// ThingQL

async function thingql() {
  const adminToken = `bench-${randomBytes(8).toString('hex')}`;
  const config = makeConfig({
    PORT: 0,
    MQTT_PORT: 0,
    HOST: '127.0.0.1',
    ADMIN_TOKEN: adminToken,
    DATABASE_URL: opt.db ?? 'memory://',
    LOG_LEVEL: 'silent',
    PRINT_ADMIN_TOKEN: false,
  });
  const platform = await startPlatform(config, { logger: createLogger('silent') });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  /** GraphQL over HTTP/1.1: a keep-alive pool of 256 connections (a burst of thousands of connects would only
   *  measure the listen backlog's SYN retries). */
  function httpGql(query: string, variables: Record<string, unknown>): Promise<any> {
    const body = JSON.stringify({ query, variables });
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: platform.httpPort,
          path: '/graphql',
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${adminToken}`,
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const r = JSON.parse(Buffer.concat(chunks).toString()) as { data: any; errors?: unknown };
            if (r.errors) reject(new Error(JSON.stringify(r.errors)));
            else resolve(r.data);
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
  /** GraphQL over one graphql-ws socket: every call in flight at once. */
  const ws = createClient({
    url: `ws://127.0.0.1:${platform.httpPort}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${adminToken}` },
  });
  function wsGql(query: string, variables: Record<string, unknown>): Promise<any> {
    return new Promise((resolve, reject) => {
      let data: any = null;
      ws.subscribe<any>(
        { query, variables },
        {
          next: (v) => (v.errors ? reject(new Error(JSON.stringify(v.errors))) : (data = v.data)),
          error: reject,
          complete: () => resolve(data),
        },
      );
    });
  }
  const gql = httpGql;

  const tsl = JSON.parse(readFileSync(new URL('../test/fixtures/smart-lamp.json', import.meta.url), 'utf8'));
  const p = await gql(`mutation($i: CreateProductInput!) { createProduct(input: $i) { product { productKey } } }`, {
    i: { name: 'bench lamp', tsl },
  });
  const pk: string = p.createProduct.product.productKey;
  const names = [...Array.from({ length: DEVICES }, (_, k) => `lamp-${k}`), 'offline-lamp', 'mute-lamp'];
  const reg = await gql(
    `mutation($i: RegisterDevicesInput!) { registerDevices(input: $i) { devices { device { deviceName } deviceSecret } } }`,
    { i: { productKey: pk, deviceNames: names } },
  );
  const creds: DeviceCreds[] = reg.registerDevices.devices.map((d: any) => ({
    productKey: pk,
    deviceName: d.device.deviceName,
    deviceSecret: d.deviceSecret,
  }));
  const url = `mqtt://127.0.0.1:${platform.mqttPort}`;
  const connect = (c: DeviceCreds) => mqtt.connectAsync(url, { ...alinkLogin(c), reconnectPeriod: 0, keepalive: 600 });
  const devices = await Promise.all(creds.slice(0, DEVICES).map(connect));
  devices.forEach((c, k) => thingqlDevice(c, pk, creds[k]!.deviceName));
  const mute = await connect(creds[DEVICES + 1]!);

  const RRPC = `mutation($i: RrpcInput!) { rrpc(input: $i) { rrpcCode messageId payloadText } }`;
  const BLINK = `mutation($i: InvokeThingServiceInput!) { invokeThingService(input: $i) { rrpcCode code output } }`;
  type Gql = typeof httpGql;
  const rrpcOver =
    (g: Gql): Call =>
    async (k) => {
      const marker = `m${k}`;
      const r = (
        await g(RRPC, { i: { productKey: pk, deviceName: `lamp-${k % DEVICES}`, payload: marker, timeoutMs: 8000 } })
      ).rrpc;
      return r.rrpcCode === 'SUCCESS' && r.payloadText === `${r.messageId}:${marker}`;
    };
  const blinkOver =
    (g: Gql): Call =>
    async (k) => {
      const r = (
        await g(BLINK, {
          i: {
            productKey: pk,
            deviceName: `lamp-${k % DEVICES}`,
            identifier: 'Blink',
            args: { Times: 1 + (k % 10) },
            timeoutMs: 8000,
          },
        })
      ).invokeThingService;
      return r.rrpcCode === 'SUCCESS' && r.code === 200 && r.output?.Done === 1;
    };
  const rrpc = rrpcOver(httpGql);

  // Warm-up: every device answers (its D19 automatic subscriptions are in place) and the JIT has seen the path.
  for (let ready = false; !ready; ) ready = (await fullConcurrency(DEVICES, rrpc)).failed === 0;
  await fullConcurrency(500, blinkOver(wsGql));
  const warmSeconds = Number(opt['warm-seconds']);
  if (warmSeconds > 0) await paced(Math.round(RATE * warmSeconds), RATE, rrpcOver(wsGql));

  const out: Record<string, Stats> = {};
  for (const [transport, g] of [
    ['http', httpGql],
    ['ws', wsGql],
  ] as const) {
    out[`rrpcFull_${transport}`] = await fullConcurrency(CALLS, rrpcOver(g));
    out[`rrpcPaced_${transport}`] = await paced(PACED_CALLS, RATE, rrpcOver(g));
    out[`blinkFull_${transport}`] = await fullConcurrency(CALLS, blinkOver(g));
    out[`blinkPaced_${transport}`] = await paced(PACED_CALLS, RATE, blinkOver(g));
  }

  // OFFLINE: answered at once, one call at a time and 100 at once.
  const offline: Call = async () =>
    (await gql(RRPC, { i: { productKey: pk, deviceName: 'offline-lamp', payload: 'x', timeoutMs: 1000 } })).rrpc
      .rrpcCode === 'OFFLINE';
  const offSeq: number[] = [];
  for (let k = 0; k < 200; k++) {
    const s = performance.now();
    if (await offline(k)) offSeq.push(performance.now() - s);
  }
  out.offlineSequential = stats(
    offSeq,
    200 - offSeq.length,
    offSeq.reduce((a, b) => a + b, 0),
  );
  out.offlineConcurrent100 = await fullConcurrency(100, offline);

  // TIMEOUT: a connected device that never answers; the figure is the delay beyond timeoutMs.
  const TIMEOUT_MS = 1000;
  const late: number[] = [];
  const timeoutCall = async () => {
    const s = performance.now();
    const r = (await gql(RRPC, { i: { productKey: pk, deviceName: 'mute-lamp', payload: 'x', timeoutMs: TIMEOUT_MS } }))
      .rrpc;
    if (r.rrpcCode === 'TIMEOUT') late.push(performance.now() - s - TIMEOUT_MS);
  };
  for (let k = 0; k < 5; k++) await timeoutCall();
  const timeoutSequential = stats(late.splice(0), 0, 5 * TIMEOUT_MS);
  await Promise.all(Array.from({ length: 50 }, timeoutCall));
  const timeoutConcurrent50 = stats(late.splice(0), 0, TIMEOUT_MS);
  // ...and while the platform is busy answering other calls, at half the RRPC rate it sustains (not overloaded: an
  // overloaded platform queues every call, and the figure would measure the queue).
  const loadRate = Math.max(50, Math.round(Math.min(RATE, out.rrpcFull_http!.perSecond) / 2));
  const busy = paced(loadRate * 3, loadRate, rrpc);
  await Promise.all(
    Array.from({ length: 50 }, (_, k) => new Promise((r) => setTimeout(r, 20 + k * 20)).then(timeoutCall)),
  );
  out.backgroundLoad = await busy;
  const timeoutUnderLoad = stats(late.splice(0), 0, TIMEOUT_MS);
  out.timeoutBeyondMsSequential = timeoutSequential;
  out.timeoutBeyondMsConcurrent50 = timeoutConcurrent50;
  out.timeoutBeyondMsUnderLoad = timeoutUnderLoad;

  await Promise.all([...devices, mute].map((c) => c.endAsync()));
  await ws.dispose();
  agent.destroy();
  await platform.close();
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Baseline: plain aedes request/response relay

async function baseline() {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const devices = await Promise.all(
    Array.from({ length: DEVICES }, async (_, k) => {
      const c = await mqtt.connectAsync(url, { clientId: `dev-${k}`, reconnectPeriod: 0, keepalive: 600 });
      await c.subscribeAsync(`req/dev-${k}/+`, { qos: 0 });
      echoDevice(c, (topic, payload) => {
        const id = topic.split('/')[2]!;
        return { topic: `res/dev-${k}/${id}`, payload: `${id}:${payload.toString()}` };
      });
      return c;
    }),
  );
  const client = await mqtt.connectAsync(url, { clientId: 'app', reconnectPeriod: 0, keepalive: 600 });
  await client.subscribeAsync('res/#', { qos: 0 });
  const pending = new Map<string, (payload: string) => void>();
  client.on('message', (topic, payload) => {
    const id = topic.split('/')[2]!;
    pending.get(id)?.(payload.toString());
    pending.delete(id);
  });
  let next = 0;
  const relay: Call = (k) => {
    const id = String(next++);
    const marker = `m${k}`;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(false);
      }, 8000);
      pending.set(id, (payload) => {
        clearTimeout(timer);
        resolve(payload === `${id}:${marker}`);
      });
      client.publish(`req/dev-${k % DEVICES}/${id}`, marker, { qos: 0 });
    });
  };
  await fullConcurrency(500, relay);
  const out = { full: await fullConcurrency(CALLS, relay), paced: await paced(PACED_CALLS, RATE, relay) };
  await Promise.all([...devices, client].map((c) => c.endAsync()));
  await new Promise<void>((r) => server.close(() => r()));
  await new Promise<void>((r) => broker.close(() => r()));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

const base = await baseline();
const tq = await thingql();
const ratio = (a: Stats, b: Stats) => ({
  throughput: round(a.perSecond / b.perSecond),
  p50: round(a.p50Ms / b.p50Ms, 1),
  p99: round(a.p99Ms / b.p99Ms, 1),
});

const rows: [string, Stats, Stats | null][] = [
  ['baseline relay, full concurrency', base.full, null],
  ['baseline relay, paced', base.paced, null],
];
for (const transport of ['http', 'ws']) {
  rows.push(
    [`rrpc (${transport}), full concurrency`, tq[`rrpcFull_${transport}`]!, base.full],
    [`rrpc (${transport}), paced`, tq[`rrpcPaced_${transport}`]!, base.paced],
    [`sync service Blink (${transport}), full concurrency`, tq[`blinkFull_${transport}`]!, base.full],
    [`sync service Blink (${transport}), paced`, tq[`blinkPaced_${transport}`]!, base.paced],
  );
}
rows.push(
  ['OFFLINE answer, sequential', tq.offlineSequential!, null],
  ['OFFLINE answer, 100 at once', tq.offlineConcurrent100!, null],
  ['TIMEOUT beyond timeoutMs, sequential', tq.timeoutBeyondMsSequential!, null],
  ['TIMEOUT beyond timeoutMs, 50 at once', tq.timeoutBeyondMsConcurrent50!, null],
  ['TIMEOUT beyond timeoutMs, under load', tq.timeoutBeyondMsUnderLoad!, null],
  ['  (the load: paced rrpc on other devices)', tq.backgroundLoad!, null],
);

const env = {
  node: process.version,
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model,
  loadavgAtStart: LOAD_AT_START.map((l) => round(l)),
  db: opt.db ? 'postgres' : 'pglite (memory)',
  devices: DEVICES,
  calls: CALLS,
  pacedRate: RATE,
  pacedCalls: PACED_CALLS,
  warmSeconds: Number(opt['warm-seconds']),
};
console.log(`RRPC bench: ${JSON.stringify(env)}`);
console.log(
  `${'scenario'.padEnd(48)} ${'calls'.padStart(6)} ${'fail'.padStart(5)} ${'/s'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}   vs baseline (throughput, p50, p99)`,
);
for (const [name, s, b] of rows) {
  const r = b ? ratio(s, b) : null;
  console.log(
    `${name.padEnd(48)} ${String(s.calls).padStart(6)} ${String(s.failed).padStart(5)} ${String(s.perSecond).padStart(7)} ${String(s.p50Ms).padStart(8)} ${String(s.p99Ms).padStart(8)} ${String(s.maxMs).padStart(8)}` +
      (r ? `   x${r.throughput}, x${r.p50}, x${r.p99}` : ''),
  );
}

const results = {
  bench: 'rrpc',
  at: new Date().toISOString(),
  env,
  baseline: base,
  thingql: tq,
  ratios: Object.fromEntries(rows.filter(([, , b]) => b).map(([name, a, b]) => [name, ratio(a, b!)])),
};
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const file = new URL(`rrpc-${results.at.replace(/[:.]/g, '-')}.json`, dir);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
