/**
 * `npm run bench` (`tsx bench/run.ts [--only a,b] [--rounds 3] [--quick] [--logins-devices N] [--database-url URL]
 * [--redis-url URL]`):
 * every scenario with its same-run baseline, each in its own process (one's heap, sockets and servers do
 * not weigh on the next), each figure the median (min-max) of at least `--rounds` rounds. Prints the markdown table
 * (Scenario | Baseline | Measured | Ratio | Goal | Met?) and writes bench/results/<timestamp>.json (everything,
 * including each scenario's own JSON) and bench/results/latest.md (bench/results/ is gitignored).
 *
 * Scenarios (`--only` takes these names):
 *   memory       bench/memory.ts         idle RSS on the embedded database and on PostgreSQL vs plain aedes (fresh processes,
 *                                        after V8's memory reducer settles; `tsx bench/memory.ts --dist` for the build)
 *   logins       bench/logins.ts         Alink logins/s and RSS per device vs plain aedes (2,000 devices, --logins-devices N;
 *                                        the issue's 10,000 take ~10 min alone at ThingQL's current login rate; --quick 300)
 *   ingest       bench/ingest.ts         QoS 1 property posts end to end (to 1 graphql-ws subscriber) vs aedes relay
 *   cpu          CPU per property post vs aedes per relayed message: measured by bench/ingest.ts (runs it if needed)
 *   subscribers  bench/subscribers.ts    1,000 graphql-ws subscribers, deliveries/s vs plain yoga + graphql-ws
 *   subscribers-sse  the same with GraphQL over Server-Sent Events on both servers (--transport sse)
 *   rrpc         bench/rrpc.ts           RRPC and sync-service round trips (run once per round: it has no rounds)
 *   history      bench/history.ts        page of 100 from 10 M rows, 30-day hourly series over 1 M points
 *   cluster      bench/cluster.ts        two instances behind one Redis and PostgreSQL vs one
 *   openapi      bench/openapi.ts        Alibaba OpenAPI Pub (SDK @alicloud/iot20180120, ACS3 and RPC) vs GraphQL pub
 *   amqp         bench/amqp.ts           AMQP deliveries/s to one consumer vs the same events over graphql-ws
 * Scenarios written by others (logins, ingest, rrpc) are run as they are, with the options they accept, and their
 * JSON in bench/results/ is read back and turned into table rows here.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fmtRatio, machine, markdownTable, RESULTS_DIR, type BenchOutput, type Row } from './lib/report.ts';
import { DEFAULT_DATABASE_URL } from './lib/pg.ts';
import { fmtSpread, ratioOf, spread, type Spread } from './lib/stats.ts';

const { values: opt } = parseArgs({
  options: {
    only: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    'database-url': { type: 'string', default: DEFAULT_DATABASE_URL },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    /** devices of the logins scenario (the issue's table says 10,000: about 10 minutes here at ThingQL's current login rate) */
    'logins-devices': { type: 'string' },
    /** per scenario, in minutes */
    timeout: { type: 'string', default: '20' },
  },
});
const ROUNDS = Math.max(1, Number(opt.rounds));
const QUICK = opt.quick;
const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const STAMP = new Date().toISOString().replace(/[:.]/g, '-');
const RUN_DIR = path.join(RESULTS_DIR, `run-${STAMP}`);

const ALL = [
  'memory',
  'logins',
  'ingest',
  'cpu',
  'subscribers',
  'subscribers-sse',
  'rrpc',
  'history',
  'cluster',
  'openapi',
  'amqp',
] as const;
type Scenario = (typeof ALL)[number];
const only = opt.only ? opt.only.split(',').map((s) => s.trim()) : null;
if (only)
  for (const s of only)
    if (!(ALL as readonly string[]).includes(s))
      throw new Error(`--only: unknown scenario "${s}" (known: ${ALL.join(', ')})`);
const selected = ALL.filter((s) => !only || only.includes(s));

// ---------------------------------------------------------------------------------------------------------------
// Running scripts

interface ScriptRun {
  code: number | null;
  seconds: number;
  startedAt: number;
}

let interrupted = false;

/** Run a benchmark script (through tsx) in its own process group (Ctrl-C stops it, then us); its output goes to ours. */
function runScript(file: string, args: string[]): Promise<ScriptRun> {
  const startedAt = Date.now();
  const t0 = performance.now();
  console.log(`\n$ tsx ${path.relative(process.cwd(), file)} ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { stdio: 'inherit', detached: true });
    const timer = setTimeout(() => {
      console.error(`${path.basename(file)}: still running after ${opt.timeout} min; stopping it`);
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, Number(opt.timeout) * 60_000);
    const onSignal = () => {
      interrupted = true;
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* gone */
      }
    };
    process.once('SIGINT', onSignal);
    child.on('exit', (code) => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      if (interrupted) process.exit(130);
      resolve({ code, seconds: Math.round((performance.now() - t0) / 100) / 10, startedAt });
    });
  });
}

/** Options a script accepts (it parses strictly: an unknown flag would stop it). */
function accepts(file: string, flag: string): boolean {
  const src = readFileSync(file, 'utf8');
  return new RegExp(`['"]?${flag}['"]?\\s*:\\s*\\{\\s*type:`).test(src);
}

/** The JSON a script wrote to bench/results/<prefix>-*.json since `since` (newest first). */
function resultsSince(prefix: string, since: number): string[] {
  if (!existsSync(RESULTS_DIR)) return [];
  return readdirSync(RESULTS_DIR)
    .filter((f) => f.startsWith(`${prefix}-`) && f.endsWith('.json'))
    .map((f) => path.join(RESULTS_DIR, f))
    .filter((f) => statSync(f).mtimeMs >= since - 1000)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
}

const readJson = (f: string): any => JSON.parse(readFileSync(f, 'utf8'));

interface Outcome {
  rows: Row[];
  files: string[];
  seconds: number;
  results: unknown[];
  error?: string;
}

const failedRow = (scenario: string, why: string): Row => ({
  scenario,
  baseline: '-',
  measured: `FAILED: ${why}`,
  ratio: '-',
  goal: '-',
  met: false,
});
const sp = (xs: number[], d = 2): Spread => spread(xs, d);
const n = (x: number) => x.toLocaleString('en-US');

/** One of our own scripts (bench/lib/report.ts format): --json FILE, --rounds, --quick, and the connection URLs it takes. */
async function ownScript(name: string, rel: string, extra: string[] = []): Promise<Outcome> {
  const file = path.join(BENCH_DIR, rel);
  const json = path.join(RUN_DIR, `${name}.json`);
  const args = ['--json', json, '--rounds', String(ROUNDS), ...(QUICK ? ['--quick'] : []), ...extra];
  if (accepts(file, 'database-url') && !name.startsWith('subscribers'))
    args.push('--database-url', opt['database-url']!);
  if (accepts(file, 'redis-url')) args.push('--redis-url', opt['redis-url']!);
  const r = await runScript(file, args);
  if (r.code !== 0 || !existsSync(json))
    return {
      rows: [failedRow(name, `exit ${r.code}`)],
      files: [],
      seconds: r.seconds,
      results: [],
      error: `exit ${r.code}`,
    };
  const out = readJson(json) as BenchOutput;
  return { rows: out.rows, files: [json], seconds: r.seconds, results: [out] };
}

// ---------------------------------------------------------------------------------------------------------------
// Scenarios by others: run as they are, then read their JSON.

async function logins(): Promise<Outcome> {
  const file = path.join(BENCH_DIR, 'logins.ts');
  if (!existsSync(file))
    return { rows: [failedRow('logins', 'bench/logins.ts missing')], files: [], seconds: 0, results: [] };
  const devices = Number(opt['logins-devices'] ?? (QUICK ? 300 : 2000));
  // Round 1 is the cold one (activation) and the memory round; the later ones are the warm reconnects.
  const r = await runScript(file, ['--devices', String(devices), '--rounds', String(ROUNDS + 1)]);
  const [f] = resultsSince('logins', r.startedAt);
  if (r.code !== 0 || !f)
    return {
      rows: [failedRow(`${n(devices)} device logins`, `exit ${r.code}`)],
      files: [],
      seconds: r.seconds,
      results: [],
    };
  const j = readJson(f);
  type Round = { loginsPerSecond: number; rssPerDeviceKB: number; heapPerDeviceKB: number; failed: number };
  const b: Round[] = j.baseline.rounds;
  const t: Round[] = j.thingql.rounds;
  const warmB = sp(
    b.slice(1).map((x) => x.loginsPerSecond),
    0,
  );
  const warmT = sp(
    t.slice(1).map((x) => x.loginsPerSecond),
    0,
  );
  const failed = t.reduce((s, x) => s + x.failed, 0);
  const rate = ratioOf(warmT, warmB);
  const memT = t[0]!.rssPerDeviceKB;
  const memB = b[0]!.rssPerDeviceKB;
  const later = sp(
    t.slice(1).map((x) => x.rssPerDeviceKB),
    1,
  );
  return {
    files: [f],
    seconds: r.seconds,
    results: [j],
    rows: [
      {
        scenario: `${n(devices)} connected devices with Alink login: logins/s (reconnects, warm cache)`,
        baseline: `${fmtSpread(warmB)} (plain aedes, no hooks)`,
        measured: `${fmtSpread(warmT)}${failed ? `, ${failed} failed` : ''}; first login (activation) ${n(t[0]!.loginsPerSecond)}`,
        ratio: fmtRatio(rate),
        goal: '>= 0.75x baseline',
        met: failed === 0 && rate >= 0.75,
      },
      {
        scenario: `  memory per connected device (server RSS growth, KB)`,
        baseline: `${memB} (round 1)`,
        measured: `${memT} (round 1; later rounds ${fmtSpread(later)})`,
        ratio: fmtRatio(memT / memB),
        goal: '<= 20 KB per device',
        met: memT <= 20,
      },
    ],
  };
}

interface IngestRound {
  perSecond: number;
  latencyMs: { p50: number; p99: number };
  loopDelayMs?: { p99: number; max: number };
  [k: string]: unknown;
}

/** The per-post CPU figure of an ingest round (`cpuUsPerPost`, or another numeric key naming CPU if it is renamed). */
function _cpuKey(rounds: IngestRound[]): string | null {
  const r: Record<string, unknown> = rounds[0] ?? {};
  if (typeof r.cpuUsPerPost === 'number') return 'cpuUsPerPost';
  return Object.keys(r).find((key) => /cpu/i.test(key) && typeof r[key] === 'number') ?? null;
}

const ingestCpu: Row[] = [];

/** bench/ingest.ts on the embedded database and on PostgreSQL, each with its same-run plain aedes baseline. */
async function ingest(): Promise<Outcome> {
  const pglite = await ingestOn('PGlite', null);
  const pg = await ingestOn('PostgreSQL', opt['database-url']!);
  return {
    rows: [...pglite.rows, ...pg.rows],
    files: [...pglite.files, ...pg.files],
    seconds: pglite.seconds + pg.seconds,
    results: [...pglite.results, ...pg.results],
  };
}

async function ingestOn(label: string, databaseUrl: string | null): Promise<Outcome> {
  const file = path.join(BENCH_DIR, 'ingest.ts');
  if (!existsSync(file))
    return { rows: [failedRow('QoS 1 property posts', 'bench/ingest.ts missing')], files: [], seconds: 0, results: [] };
  const devices = QUICK ? 20 : 200;
  const args: string[] = [];
  if (accepts(file, 'rounds')) args.push('--rounds', String(ROUNDS));
  if (accepts(file, 'devices')) args.push('--devices', String(devices));
  if (accepts(file, 'window')) args.push('--window', '5');
  if (accepts(file, 'messages')) args.push('--messages', String(QUICK ? 2000 : 10_000));
  if (QUICK && accepts(file, 'paced-seconds')) args.push('--paced-seconds', '2');
  if (databaseUrl) args.push('--database-url', databaseUrl);
  const r = await runScript(file, args);
  const [f] = resultsSince('ingest', r.startedAt);
  if (r.code !== 0 || !f)
    return {
      rows: [failedRow(`${label}: QoS 1 property posts`, `exit ${r.code}`)],
      files: [],
      seconds: r.seconds,
      results: [],
    };
  const j = readJson(f);
  const a: IngestRound[] = j.aedes;
  const t: IngestRound[] = j.thingql;
  const tp = {
    b: sp(
      a.map((x) => x.perSecond),
      0,
    ),
    t: sp(
      t.map((x) => x.perSecond),
      0,
    ),
  };
  const p99 = { b: sp(a.map((x) => x.latencyMs.p99)), t: sp(t.map((x) => x.latencyMs.p99)) };
  const ratio = ratioOf(tp.t, tp.b);
  const d = j.params?.devices ?? devices;
  const cb = sp(
    a.map((x) => Number(x.cpuUsPerPost)),
    1,
  );
  const ct = sp(
    t.map((x) => Number(x.cpuUsPerPost)),
    1,
  );
  const dbCpu = databaseUrl
    ? sp(
        t.map((x) => Number(x.dbCpuUsPerPost ?? 0)),
        1,
      )
    : null;
  const together = dbCpu ? ct.median + dbCpu.median : ct.median;
  const cr = together / cb.median;
  const cpuRow: Row = {
    scenario: `${label}: CPU per property post (us)${dbCpu ? ', server + database backends' : ', server incl. the embedded database'}`,
    baseline: `${fmtSpread(cb)} (plain aedes, per relayed message)`,
    measured: dbCpu ? `${fmtSpread(ct)} server + ${fmtSpread(dbCpu)} PostgreSQL` : fmtSpread(ct),
    ratio: fmtRatio(cr),
    goal: '<= 3x baseline',
    met: cr <= 3,
  };
  ingestCpu.push(cpuRow);
  const rows: Row[] = [
    {
      scenario: `${label}: QoS 1 property posts (smart-lamp, 3 properties) from ${d} devices to 1 graphql-ws subscriber: posts/s`,
      baseline: `${fmtSpread(tp.b)} (plain aedes relay)`,
      measured: fmtSpread(tp.t),
      ratio: fmtRatio(ratio),
      goal: '>= 0.5x baseline',
      met: ratio >= 0.5,
    },
    {
      scenario: `  ${label}: p99 device-to-subscriber latency (ms), at full load`,
      baseline: fmtSpread(p99.b),
      measured: fmtSpread(p99.t),
      ratio: fmtRatio(ratioOf(p99.t, p99.b)),
      goal: '-',
      met: null,
    },
  ];
  // The server's event-loop delay over each round (what a socket read or a timer waited); older results lack it.
  if (t.every((x) => x.loopDelayMs) && a.every((x) => x.loopDelayMs)) {
    const loop = (rs: IngestRound[]) =>
      `${fmtSpread(sp(rs.map((x) => x.loopDelayMs!.p99)))} / ${fmtSpread(sp(rs.map((x) => x.loopDelayMs!.max)))}`;
    rows.push({
      scenario: `  ${label}: server event-loop delay at full load, p99 / max (ms)`,
      baseline: loop(a),
      measured: loop(t),
      ratio: '-',
      goal: '-',
      met: null,
    });
  }
  // Every paced rate (the highest is the goal's; older results have only `paced`).
  const pacedAs = j.pacedAll?.aedes ?? (j.paced?.aedes ? [j.paced.aedes] : []);
  const pacedTs = j.pacedAll?.thingql ?? (j.paced?.thingql ? [j.paced.thingql] : []);
  const goalRate = Math.max(0, ...pacedTs.map((p: any) => p.targetPerSecond));
  pacedTs.forEach((pt: any, k: number) => {
    const pa = pacedAs[k];
    if (!pa) return;
    const isGoal = pt.targetPerSecond === goalRate;
    rows.push({
      scenario: `  ${label}: paced ${n(pt.targetPerSecond)} posts/s: p50 / p99 device-to-subscriber latency (ms)`,
      baseline: `${pa.latencyMs.p50} / ${pa.latencyMs.p99} (aedes, ${n(pa.achievedPerSecond)}/s)`,
      measured: `${pt.latencyMs.p50} / ${pt.latencyMs.p99} (${n(pt.achievedPerSecond)}/s, ${n(pt.received)}/${n(pt.sent)}${pt.loopDelayMs ? `; server event-loop delay max ${pt.loopDelayMs.max} ms` : ''})`,
      ratio: fmtRatio(pt.latencyMs.p99 / Math.max(0.01, pa.latencyMs.p99)),
      goal: isGoal ? 'p99 <= 50 ms' : '-',
      met: isGoal ? pt.received === pt.sent && pt.latencyMs.p99 <= 50 : null,
    });
  });
  if (databaseUrl) {
    const wal = sp(
      t.map((x) => Number(x.walBytesPerPost ?? 0)),
      0,
    );
    rows.push({
      scenario: `  ${label}: WAL and storage per post (bytes)`,
      baseline: '-',
      measured: `WAL ${fmtSpread(wal)} (server-wide LSN: other databases' writes count too); stored ${JSON.stringify(j.storageBytesPerPost ?? {})}`,
      ratio: '-',
      goal: '-',
      met: null,
    });
  }
  return { files: [f], seconds: r.seconds, results: [j], rows };
}

/** CPU per post is measured by bench/ingest.ts (server child's process.cpuUsage() / posts); run it if it has not run. */
async function cpu(): Promise<Outcome> {
  if (ingestCpu.length) return { rows: ingestCpu, files: [], seconds: 0, results: [] };
  const o = selected.includes('ingest') ? null : await ingest();
  const rows: Row[] = ingestCpu.length
    ? ingestCpu
    : [failedRow('CPU per property post', 'bench/ingest.ts reported no per-post CPU figure')];
  return { rows, files: o?.files ?? [], seconds: o?.seconds ?? 0, results: o?.results ?? [] };
}

async function rrpc(): Promise<Outcome> {
  const file = path.join(BENCH_DIR, 'rrpc.ts');
  if (!existsSync(file))
    return { rows: [failedRow('RRPC', 'bench/rrpc.ts missing')], files: [], seconds: 0, results: [] };
  const args = QUICK ? ['--calls', '200', '--seconds', '1', '--devices', '20'] : ['--calls', '1000', '--seconds', '2'];
  const files: string[] = [];
  let seconds = 0;
  // rrpc.ts measures once per process: one process per round.
  for (let i = 0; i < ROUNDS; i++) {
    const r = await runScript(file, args);
    seconds += r.seconds;
    const [f] = resultsSince('rrpc', r.startedAt);
    if (r.code !== 0 || !f)
      return { rows: [failedRow('RRPC round trips', `exit ${r.code}`)], files, seconds, results: [] };
    files.push(f);
  }
  const js = files.map(readJson);
  const pick = (j: any, k: string) => j.thingql[`${k}_http`] ?? j.thingql[k];
  const full = {
    b: sp(
      js.map((j) => j.baseline.full.perSecond),
      0,
    ),
    t: sp(
      js.map((j) => pick(j, 'rrpcFull').perSecond),
      0,
    ),
  };
  // The same calls over one graphql-ws socket, when rrpc.ts measured them (the goal names no transport).
  const ws = js.every((j) => j.thingql.rrpcFull_ws)
    ? {
        full: sp(
          js.map((j) => j.thingql.rrpcFull_ws.perSecond),
          0,
        ),
        p99: sp(js.map((j) => j.thingql.rrpcPaced_ws.p99Ms)),
      }
    : null;
  const paced = { b: sp(js.map((j) => j.baseline.paced.p99Ms)), t: sp(js.map((j) => pick(j, 'rrpcPaced').p99Ms)) };
  const best = ws && ws.full.median > full.t.median ? ws.full : full.t;
  const tP99 = ws && ws.p99.median < paced.t.median ? ws.p99 : paced.t;
  const blink = {
    full: sp(
      js.map((j) => pick(j, 'blinkFull').perSecond),
      0,
    ),
    p99: sp(js.map((j) => pick(j, 'blinkPaced').p99Ms)),
  };
  const failed = js.reduce(
    (s, j) =>
      s +
      pick(j, 'rrpcFull').failed +
      pick(j, 'rrpcPaced').failed +
      (j.thingql.rrpcFull_ws?.failed ?? 0) +
      (j.thingql.rrpcPaced_ws?.failed ?? 0),
    0,
  );
  const rate = js[0]?.env?.pacedRate ?? 1000;
  const devices = js[0]?.env?.devices ?? 100;
  return {
    files,
    seconds,
    results: js,
    rows: [
      {
        scenario: `RRPC round trips to ${devices} devices (rrpc mutation): calls/s, all at once`,
        baseline: `${fmtSpread(full.b)} (aedes request/response relay)`,
        measured: `HTTP ${fmtSpread(full.t)}${ws ? `; graphql-ws ${fmtSpread(ws.full)}` : ''}${failed ? `; ${failed} failed` : ''}`,
        ratio: fmtRatio(ratioOf(best, full.b)),
        goal: '>= 3,000/s',
        met: failed === 0 && best.median >= 3000,
      },
      {
        scenario: `  p99 at ${n(rate)} calls/s (ms)`,
        baseline: fmtSpread(paced.b),
        measured: `HTTP ${fmtSpread(paced.t)}${ws ? `; graphql-ws ${fmtSpread(ws.p99)}` : ''}`,
        ratio: fmtRatio(ratioOf(tP99, paced.b)),
        goal: '<= 20 ms',
        met: failed === 0 && tP99.median <= 20,
      },
      {
        scenario: `  sync service (invokeThingService): calls/s; p99 at ${n(rate)}/s`,
        baseline: `${fmtSpread(full.b)}; ${fmtSpread(paced.b)} ms`,
        measured: `${fmtSpread(blink.full)}; ${fmtSpread(blink.p99)} ms`,
        ratio: fmtRatio(ratioOf(blink.full, full.b)),
        goal: 'report',
        met: null,
      },
    ],
  };
}

const RUNNERS: Record<Scenario, () => Promise<Outcome>> = {
  memory: () => ownScript('memory', 'memory.ts'),
  logins,
  ingest,
  cpu,
  subscribers: () => ownScript('subscribers', 'subscribers.ts'),
  'subscribers-sse': () => ownScript('subscribers-sse', 'subscribers.ts', ['--transport', 'sse']),
  rrpc,
  history: () => ownScript('history', 'history.ts'),
  cluster: () => ownScript('cluster', 'cluster.ts'),
  openapi: () => ownScript('openapi', 'openapi.ts'),
  amqp: () => ownScript('amqp', 'amqp.ts'),
};

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  mkdirSync(RUN_DIR, { recursive: true });
  const m = machine();
  console.log(
    `bench: ${selected.join(', ')}; ${ROUNDS} rounds${QUICK ? ', quick sizes' : ''}; ${m.cpus} x ${m.cpuModel}, node ${m.node}, load average ${m.loadavg.join(' ')}`,
  );
  const t0 = performance.now();
  const outcomes: Partial<Record<Scenario, Outcome>> = {};
  // CPU per post comes from the ingest run when it reports one: run ingest first when both are selected.
  for (const s of selected) {
    try {
      outcomes[s] = await RUNNERS[s]();
    } catch (e) {
      outcomes[s] = {
        rows: [failedRow(s, (e as Error).message)],
        files: [],
        seconds: 0,
        results: [],
        error: (e as Error).stack,
      };
    }
    console.log(`-- ${s}: ${outcomes[s]!.seconds} s`);
  }
  const totalSeconds = Math.round((performance.now() - t0) / 1000);
  const rows = selected.flatMap((s) => outcomes[s]!.rows);
  const table = markdownTable(rows);
  const endLoad = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const header = [
    `# ThingQL benchmarks (${new Date().toISOString()})`,
    '',
    `${m.cpus} x ${m.cpuModel}, ${Math.round(m.totalMemMB / 1024)} GB, Node ${m.node}; load average ${m.loadavg.join(' ')} at start, ${endLoad.join(' ')} at the end.`,
    ...(Math.max(m.loadavg[0] ?? 0, endLoad[0] ?? 0) > m.cpus
      ? [
          `**The machine was busy** (1-minute load average above ${m.cpus}, the core count, from other work): absolute figures are lower and rounds noisier than on an idle machine; same-run ratios and rounds alternating between baseline and measured (subscribers, cluster) limit the skew.`,
          '',
        ]
      : []),
    ...(ROUNDS < 3 ? ['**Fewer than 3 rounds**: a trial run, not one to quote.', ''] : []),
    `${ROUNDS} rounds per scenario${QUICK ? " (--quick: smaller sizes, a smoke run, not the goals' sizes)" : ''}; cells are median (min-max) over rounds; ratio = measured / same-run baseline (medians). Total ${Math.floor(totalSeconds / 60)} min ${totalSeconds % 60} s.`,
    '',
  ].join('\n');
  const notes = selected.flatMap((s) =>
    (outcomes[s]!.results as BenchOutput[]).flatMap((r) =>
      Array.isArray(r?.notes) ? r.notes.map((x) => `- ${s}: ${x}`) : [],
    ),
  );
  // The page statement's plan (history.ts): the evidence that a page is an index range scan.
  const plans = ((outcomes.history?.results ?? []) as BenchOutput[]).flatMap((r) =>
    Object.values((r?.figures ?? {}) as Record<string, { label?: string; rows?: number; plan?: string }>)
      .filter((s) => typeof s?.plan === 'string')
      .map(
        (s) =>
          `\nEXPLAIN (ANALYZE, BUFFERS) of the history page statement, ${s.label} (${n(s.rows ?? 0)} rows):\n\n\`\`\`\n${s.plan}\n\`\`\`\n`,
      ),
  );
  const md = `${header}\n${table}\n${notes.length ? `\nNotes:\n${notes.join('\n')}\n` : ''}${plans.join('')}`;
  console.log(`\n${md}`);
  const summary = {
    at: new Date().toISOString(),
    machine: m,
    loadavgAtEnd: endLoad,
    options: {
      rounds: ROUNDS,
      quick: QUICK,
      only: selected,
      databaseUrl: opt['database-url'],
      redisUrl: opt['redis-url'],
    },
    totalSeconds,
    rows,
    scenarios: Object.fromEntries(
      selected.map((s) => [
        s,
        {
          seconds: outcomes[s]!.seconds,
          files: outcomes[s]!.files,
          error: outcomes[s]!.error,
          results: outcomes[s]!.results,
        },
      ]),
    ),
  };
  const jsonFile = path.join(RESULTS_DIR, `${STAMP}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(path.join(RESULTS_DIR, 'latest.md'), md);
  console.log(`written ${jsonFile} and ${path.join(RESULTS_DIR, 'latest.md')}`);
  process.exit(rows.some((r) => r.measured.startsWith('FAILED')) ? 1 : 0);
}

await main();
