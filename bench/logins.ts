/**
 * Device logins: `npx tsx bench/logins.ts [--devices 5000] [--concurrency 200] [--rounds 3] [--db postgres://...]`.
 *
 * ThingQL: `--devices` registered devices of one product log in with the Alink HMAC-SHA256 signature (§1.2-1.3) over
 * MQTT/TCP, at most `--concurrency` CONNECTs in flight; a login counts when its CONNACK arrives, i.e. after the
 * device's ONLINE is committed (presence epochs, group commit) and its D19 automatic subscriptions were made. Round 1
 * is cold (credential cache empty, first login = activation); later rounds reconnect the same devices (warm cache).
 * Measured: logins per second, CONNACK latency, and the server's RSS growth per connected device (RSS with every
 * device connected minus RSS before the round, both after a full GC), and the server's CPU time per login (user +
 * system of the server process over the round: with memory:// the embedded database runs in it and counts too; it
 * depends far less on a loaded machine than the rate does).
 * BENCH_PROFILE=1 writes a CPU profile of each server, BENCH_HEAP_SNAPSHOT=1 a heap snapshot with round 1's devices
 * connected, to bench/results/profiles/.
 *
 * Baseline, same run, same layout: a plain aedes broker (`Aedes.createBroker()`, no hooks) with the same number of
 * mqtt.js clients, measured the same way. Figures print as ThingQL / baseline ratios; JSON goes to bench/results/.
 *
 * Each server runs in a child process of its own (started with --expose-gc) so that its RSS is the server's alone;
 * the mqtt.js clients live in this process. The embedded database is in memory (memory://), so ThingQL's RSS also
 * holds the rows and events the logins write; pass --db postgres://... to keep the database outside.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { Aedes } from 'aedes';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { alinkLogin, type DeviceCreds } from '../test/helpers/devices.ts';

const { values: opt } = parseArgs({
  options: {
    devices: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    db: { type: 'string' },
    /** Internal: run as the server child ('thingql' | 'aedes'). */
    role: { type: 'string' },
  },
});
const DEVICES = Number(opt.devices);
const CONCURRENCY = Number(opt.concurrency);
const ROUNDS = Math.max(2, Number(opt.rounds));

// ---------------------------------------------------------------------------------------------------------------
// Server children: start, report ports, answer RSS requests after a full GC, stop on request.

type ToChild = { cmd: 'rss' } | { cmd: 'snapshot'; file: string } | { cmd: 'stop' };
type FromChild =
  | { ready: { mqttPort: number; httpPort?: number; adminToken?: string } }
  | { rss: number; heapUsed: number; cpuMs: number }
  | { snapshot: string };

async function fullGc(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function serve(role: string): Promise<void> {
  let stop: () => Promise<void>;
  let ready: { mqttPort: number; httpPort?: number; adminToken?: string };
  if (role === 'aedes') {
    const broker = await Aedes.createBroker();
    const server = net.createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    ready = { mqttPort: (server.address() as AddressInfo).port };
    stop = async () => {
      server.close();
      await new Promise<void>((r) => broker.close(() => r()));
    };
  } else {
    const { makeConfig } = await import('../src/config.ts');
    const { createLogger } = await import('../src/logger.ts');
    const { startPlatform } = await import('../src/server.ts');
    const adminToken = `bench-${randomBytes(12).toString('hex')}`;
    const config = makeConfig({
      PORT: 0,
      MQTT_PORT: 0,
      HOST: '127.0.0.1',
      DATABASE_URL: opt.db ?? 'memory://',
      ADMIN_TOKEN: adminToken,
      LOG_LEVEL: 'warn',
      PRINT_ADMIN_TOKEN: false,
    });
    const platform = await startPlatform(config, { logger: createLogger(config.LOG_LEVEL) });
    ready = { mqttPort: platform.mqttPort, httpPort: platform.httpPort, adminToken };
    stop = () => platform.close();
  }
  process.on('message', (m: ToChild) => {
    if (m.cmd === 'rss') {
      void fullGc().then(() => {
        const mem = process.memoryUsage();
        const cpu = process.cpuUsage();
        const cpuMs = (cpu.user + cpu.system) / 1000;
        process.send!({ rss: mem.rss, heapUsed: mem.heapUsed, cpuMs } satisfies FromChild);
      });
    } else if (m.cmd === 'snapshot') {
      void fullGc().then(() => process.send!({ snapshot: writeHeapSnapshot(m.file) } satisfies FromChild));
    } else if (m.cmd === 'stop') {
      void stop().finally(() => process.exit(0));
    }
  });
  process.send!({ ready } satisfies FromChild);
}

// ---------------------------------------------------------------------------------------------------------------
// Load generator (this process).

interface Child {
  proc: ChildProcess;
  ready: { mqttPort: number; httpPort?: number; adminToken?: string };
  rss(): Promise<{ rss: number; heapUsed: number; cpuMs: number }>;
  snapshot(file: string): Promise<string>;
  stop(): Promise<void>;
}

/** BENCH_PROFILE=1 writes a V8 CPU profile of each server to bench/results/profiles/. */
const PROFILE_DIR = fileURLToPath(new URL('./results/profiles/', import.meta.url));

function startChild(role: 'thingql' | 'aedes'): Promise<Child> {
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const proc = fork(fileURLToPath(import.meta.url), ['--role', role, ...(opt.db ? ['--db', opt.db] : [])], {
    execArgv: ['--import', 'tsx', '--expose-gc', ...profile],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<FromChild>((resolve, reject) => {
      const exited = (code: number | null) => reject(new Error(`${role} server exited (${code})`));
      proc.once('exit', exited);
      proc.once('message', (m) => {
        proc.off('exit', exited); // one exit listener per answer would pile up over the rounds
        resolve(m as FromChild);
      });
    });
  return next().then((first) => {
    if (!('ready' in first)) throw new Error('unexpected message from the server');
    return {
      proc,
      ready: first.ready,
      async rss() {
        const answer = next();
        proc.send({ cmd: 'rss' } satisfies ToChild);
        const m = await answer;
        if (!('rss' in m)) throw new Error('unexpected message from the server');
        return m;
      },
      async snapshot(file) {
        const answer = next();
        proc.send({ cmd: 'snapshot', file } satisfies ToChild);
        const m = await answer;
        if (!('snapshot' in m)) throw new Error('unexpected message from the server');
        return m.snapshot;
      },
      stop: () =>
        new Promise<void>((resolve) => {
          proc.once('exit', () => resolve());
          proc.send({ cmd: 'stop' } satisfies ToChild);
        }),
    };
  });
}

async function gql(child: Child, query: string, variables: Record<string, unknown>): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${child.ready.httpPort}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${child.ready.adminToken}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data: any; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** One product with DEVICES devices, registered through the public API in batches of 1,000. */
async function provision(child: Child): Promise<DeviceCreds[]> {
  const p = await gql(
    child,
    `mutation($i: CreateProductInput!) { createProduct(input: $i) { product { productKey } userErrors { message } } }`,
    {
      i: { name: 'Login bench' },
    },
  );
  const productKey = p.createProduct.product.productKey as string;
  const creds: DeviceCreds[] = [];
  for (let from = 0; from < DEVICES; from += 1000) {
    const names = Array.from(
      { length: Math.min(1000, DEVICES - from) },
      (_, k) => `bench-${String(from + k).padStart(6, '0')}`,
    );
    const r = await gql(
      child,
      `mutation($i: RegisterDevicesInput!) { registerDevices(input: $i) { devices { device { deviceName } deviceSecret } userErrors { message } } }`,
      { i: { productKey, deviceNames: names } },
    );
    if (r.registerDevices.userErrors.length) throw new Error(JSON.stringify(r.registerDevices.userErrors));
    for (const d of r.registerDevices.devices)
      creds.push({ productKey, deviceName: d.device.deviceName, deviceSecret: d.deviceSecret });
  }
  return creds;
}

interface RoundResult {
  round: number;
  loginsPerSecond: number;
  wallMs: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  rssBeforeMB: number;
  rssConnectedMB: number;
  heapBeforeMB: number;
  rssPerDeviceKB: number;
  heapPerDeviceKB: number;
  /** Server CPU time (user + system, database included for memory://) from before the round to all connected. */
  cpuMsPerLogin: number;
}

const round2 = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** Connect every client with at most CONCURRENCY CONNECTs in flight; returns the clients and CONNACK latencies. */
async function connectAll(
  url: string,
  options: IClientOptions[],
): Promise<{ clients: MqttClient[]; latencies: number[]; failed: number; wallMs: number }> {
  const clients: MqttClient[] = [];
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, options.length) }, async () => {
      while (next < options.length) {
        const o = options[next++]!;
        const started = performance.now();
        try {
          clients.push(
            await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 60_000, keepalive: 300, ...o }),
          );
          latencies.push(performance.now() - started);
        } catch {
          failed++;
        }
      }
    }),
  );
  return { clients, latencies, failed, wallMs: performance.now() - t0 };
}

async function measure(role: 'thingql' | 'aedes'): Promise<{ idleRssMB: number; rounds: RoundResult[] }> {
  process.stdout.write(`\n${role}: starting server...`);
  const child = await startChild(role);
  const url = `mqtt://127.0.0.1:${child.ready.mqttPort}`;
  let options: IClientOptions[];
  if (role === 'thingql') {
    process.stdout.write(` registering ${DEVICES} devices...`);
    options = (await provision(child)).map((c) =>
      alinkLogin(c, { signMethod: 'hmacsha256', clientId: `${c.productKey}.${c.deviceName}` }),
    );
  } else {
    options = Array.from({ length: DEVICES }, (_, i) => ({
      clientId: `bench-${i}`,
      username: `bench-${i}`,
      password: 'x',
    }));
  }
  const idle = await child.rss();
  process.stdout.write(` idle RSS ${round2(idle.rss / 2 ** 20, 0)} MB\n`);
  const rounds: RoundResult[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const before = await child.rss();
    const { clients, latencies, failed, wallMs } = await connectAll(url, options);
    const connected = await child.rss();
    latencies.sort((a, b) => a - b);
    const result: RoundResult = {
      round: r,
      loginsPerSecond: round2((clients.length / wallMs) * 1000, 0),
      wallMs: round2(wallMs, 0),
      p50Ms: round2(pct(latencies, 50)),
      p99Ms: round2(pct(latencies, 99)),
      failed,
      rssBeforeMB: round2(before.rss / 2 ** 20, 1),
      rssConnectedMB: round2(connected.rss / 2 ** 20, 1),
      heapBeforeMB: round2(before.heapUsed / 2 ** 20, 1),
      rssPerDeviceKB: round2((connected.rss - before.rss) / clients.length / 1024, 1),
      heapPerDeviceKB: round2((connected.heapUsed - before.heapUsed) / clients.length / 1024, 1),
      cpuMsPerLogin: round2((connected.cpuMs - before.cpuMs) / clients.length, 3),
    };
    // BENCH_HEAP_SNAPSHOT=1: a heap snapshot of the server with every device of round 1 connected (what is retained).
    if (r === 1 && process.env.BENCH_HEAP_SNAPSHOT) {
      mkdirSync(PROFILE_DIR, { recursive: true });
      console.log(`  heap snapshot: ${await child.snapshot(`${PROFILE_DIR}${role}-${DEVICES}.heapsnapshot`)}`);
    }
    rounds.push(result);
    console.log(
      `  round ${r}: ${result.loginsPerSecond} logins/s (${clients.length} in ${result.wallMs} ms, CONNACK p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms` +
        `${failed ? `, ${failed} FAILED` : ''}), RSS +${result.rssPerDeviceKB} KB/device, heap +${result.heapPerDeviceKB} KB/device, ` +
        `server CPU ${result.cpuMsPerLogin} ms/login`,
    );
    await Promise.all(clients.map((c) => c.endAsync()));
    await new Promise((res) => setTimeout(res, 1000)); // let the server record the disconnects
  }
  await child.stop();
  return { idleRssMB: round2(idle.rss / 2 ** 20, 1), rounds };
}

async function main(): Promise<void> {
  console.log(
    `logins: ${DEVICES} devices, ${CONCURRENCY} CONNECTs in flight, ${ROUNDS} rounds, database ${opt.db ? 'postgres' : 'memory://'}`,
  );
  const baseline = await measure('aedes');
  const thingql = await measure('thingql');

  // Memory: round 1 of each (a fresh process; later rounds reuse pages the allocator kept, so their RSS growth
  // understates). Speed: round 1 (ThingQL: cold cache and activation) and the median of the later rounds (warm).
  const later = (rs: RoundResult[]) => rs.slice(1);
  const figures = (rs: RoundResult[]) => ({
    coldLoginsPerSecond: rs[0]!.loginsPerSecond,
    warmLoginsPerSecond: median(later(rs).map((r) => r.loginsPerSecond)),
    warmConnackP50Ms: median(later(rs).map((r) => r.p50Ms)),
    rssPerDeviceKB: rs[0]!.rssPerDeviceKB,
    heapPerDeviceKB: rs[0]!.heapPerDeviceKB,
    warmCpuMsPerLogin: median(later(rs).map((r) => r.cpuMsPerLogin)),
  });
  const summary = { baseline: figures(baseline.rounds), thingql: figures(thingql.rounds) };
  const ratio = (k: keyof ReturnType<typeof figures>) => round2(summary.thingql[k] / summary.baseline[k]);
  const ratios = {
    coldLoginsPerSecond: ratio('coldLoginsPerSecond'),
    warmLoginsPerSecond: ratio('warmLoginsPerSecond'),
    warmConnackP50: ratio('warmConnackP50Ms'),
    rssPerDevice: ratio('rssPerDeviceKB'),
    heapPerDevice: ratio('heapPerDeviceKB'),
    warmCpuPerLogin: ratio('warmCpuMsPerLogin'),
  };
  console.log('\nThingQL / plain aedes, same run (1 = same as the baseline):');
  console.log(`  logins per second, first login (cold cache, activation): ${ratios.coldLoginsPerSecond}x`);
  console.log(`  logins per second, reconnect (warm cache):               ${ratios.warmLoginsPerSecond}x`);
  console.log(`  CONNACK latency p50, reconnect:                          ${ratios.warmConnackP50}x`);
  console.log(`  RSS growth per connected device (round 1):               ${ratios.rssPerDevice}x`);
  console.log(`  JS heap growth per connected device (round 1):           ${ratios.heapPerDevice}x`);
  console.log(`  server CPU time per login, reconnect:                    ${ratios.warmCpuPerLogin}x`);

  const out = {
    bench: 'logins',
    at: new Date().toISOString(),
    options: {
      devices: DEVICES,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      database: opt.db ? 'postgres' : 'memory://',
    },
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg() },
    ratios,
    summary,
    baseline,
    thingql,
  };
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}logins-${out.at.replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwritten ${file}`);
}

if (opt.role) await serve(opt.role);
else await main();
