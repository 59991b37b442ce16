/**
 * `tsx bench/memory.ts [--rounds 3] [--database-url URL] [--dist] [--settle-s 60] [--json FILE]`: idle memory of a
 * server nobody uses yet (goals: <= 250 MB RSS on the embedded database, <= 120 MB with DATABASE_URL), against the
 * same-run baseline of a plain aedes broker (`Aedes.createBroker()` on a TCP port, nothing else).
 *
 * Every round is a fresh child process per target: plain aedes, ThingQL on the embedded database (a fresh DATA_DIR,
 * the default setup), ThingQL on PostgreSQL (a fresh database of --database-url). The child starts, then reports its
 * memory twice, each after a full GC (--expose-gc):
 *   - at 1 s: just after startup, while V8's young generation still has the size startup grew it to (up to 32 MB);
 *   - settled: once V8's memory reducer has shrunk the young generation back (it does so after ~10-30 s without
 *     allocation; polled every 2 s up to --settle-s), i.e. what an idle server holds.
 * The embedded database is measured on a restart (its data directory made by a first start, reported apart: initdb
 * runs in that first process and leaves ~150 MB resident behind it).
 * Each report breaks RSS down: V8 heap (used, committed, young generation), external memory and array buffers
 * (PGlite's WebAssembly memory is external). `--dist` runs the compiled build (dist/, what
 * `npm start` runs; build it first with `npm run build:server`) instead of the sources through tsx, whose loader
 * adds its own ~100-200 MB. Even with --dist the child itself runs through tsx (this file is TypeScript), which the
 * plain aedes baseline carries too (~70 MB instead of ~45 MB for plain node).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { fmtRatio, machine, markdownTable, say, writeResult, type Row } from './lib/report.ts';
import { createFreshDatabase, DEFAULT_DATABASE_URL } from './lib/pg.ts';
import { fmtSpread, ratioOf, spread } from './lib/stats.ts';

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    'database-url': { type: 'string', default: DEFAULT_DATABASE_URL },
    dist: { type: 'boolean', default: false },
    'settle-s': { type: 'string', default: '60' },
    json: { type: 'string' },
    /** Internal: run as the server child ('aedes' | 'thingql'), with the settings as JSON. */
    role: { type: 'string' },
    settings: { type: 'string' },
  },
});

export interface Snapshot {
  rssMB: number;
  heapUsedMB: number;
  heapCommittedMB: number;
  youngGenMB: number;
  externalMB: number;
  arrayBuffersMB: number;
  /** PGlite's WebAssembly memory (its size; resident is what PostgreSQL touched of it), null on PostgreSQL */
  wasmMB: number | null;
}

const mb = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;

async function fullGc(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
}

function youngGen(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0;
}

async function snapshot(wasm: () => number | null): Promise<Snapshot> {
  await fullGc();
  const m = process.memoryUsage();
  return {
    rssMB: mb(m.rss),
    heapUsedMB: mb(m.heapUsed),
    heapCommittedMB: mb(m.heapTotal),
    youngGenMB: mb(youngGen()),
    externalMB: mb(m.external),
    arrayBuffersMB: mb(m.arrayBuffers),
    wasmMB: wasm() === null ? null : mb(wasm()!),
  };
}

async function serve(role: string): Promise<void> {
  const settings = JSON.parse(opt.settings ?? '{}') as {
    databaseUrl?: string;
    dataDir?: string;
    dist?: boolean;
    settleS?: number;
  };
  let stop: () => Promise<void>;
  let wasm: () => number | null = () => null;
  if (role === 'aedes') {
    const { Aedes } = await import('aedes');
    const broker = await Aedes.createBroker();
    const server = net.createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    stop = async () => {
      server.close();
      await new Promise<void>((r) => broker.close(() => r()));
    };
  } else {
    const root = fileURLToPath(new URL(settings.dist ? '../dist/' : '../src/', import.meta.url));
    const ext = settings.dist ? '.js' : '.ts';
    const load = (m: string) => import(pathToFileURL(path.join(root, m + ext)).href);
    const { makeConfig } = await load('config');
    const { createLogger } = await load('logger');
    const { startPlatform } = await load('server');
    const config = makeConfig({
      PORT: 0,
      MQTT_PORT: 0,
      HOST: '127.0.0.1',
      ...(settings.databaseUrl ? { DATABASE_URL: settings.databaseUrl } : {}),
      DATA_DIR: settings.dataDir,
      ADMIN_TOKEN: `bench-${'x'.repeat(24)}`,
      LOG_LEVEL: 'silent',
      PRINT_ADMIN_TOKEN: false,
      CONSOLE_BUILD_ON_START: false,
    });
    const platform = await startPlatform(config, { logger: createLogger('silent') });
    const pglite = platform.database.pglite as { mod?: { HEAPU8?: Uint8Array } } | undefined;
    wasm = () => pglite?.mod?.HEAPU8?.byteLength ?? null;
    stop = () => platform.close();
  }
  await new Promise((r) => setTimeout(r, 1000));
  const started = await snapshot(wasm);
  const t0 = Date.now();
  // V8's memory reducer shrinks the young generation once the process is idle; wait for it (bounded).
  while (youngGen() > 2 * 2 ** 20 && Date.now() - t0 < (settings.settleS ?? 60) * 1000)
    await new Promise((r) => setTimeout(r, 2000));
  const settled = await snapshot(wasm);
  await stop();
  process.send!({ started, settled, settleSeconds: Math.round((Date.now() - t0) / 1000) });
}

interface ChildResult {
  started: Snapshot;
  settled: Snapshot;
  settleSeconds: number;
}

function runChild(role: 'aedes' | 'thingql', settings: Record<string, unknown>): Promise<ChildResult> {
  // The child script itself is TypeScript, so tsx is always loaded; with --dist the server it starts is dist/*.js,
  // which tsx passes through untransformed.
  const execArgv = ['--expose-gc', '--import', 'tsx'];
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(
      fileURLToPath(import.meta.url),
      ['--role', role, '--settings', JSON.stringify(settings)],
      {
        execArgv,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    child.once('message', (m) => resolve(m as ChildResult));
    child.once('exit', (code) => reject(new Error(`${role} child exited (${code}) before reporting`)));
  });
}

async function main(): Promise<void> {
  const rounds = Math.max(1, Number(opt.quick ? 1 : opt.rounds));
  const settleS = Number(opt.quick ? 20 : opt['settle-s']);
  const targets = ['aedes', 'embedded', 'postgres'] as const;
  const results: Record<(typeof targets)[number], ChildResult[]> = { aedes: [], embedded: [], postgres: [] };
  const firstStarts: ChildResult[] = [];
  for (let r = 1; r <= rounds; r++) {
    for (const t of targets) {
      say(`memory: round ${r}/${rounds}, ${t}...`);
      if (t === 'aedes') results.aedes.push(await runChild('aedes', { settleS }));
      else if (t === 'embedded') {
        const dataDir = mkdtempSync(path.join(os.tmpdir(), 'thingql-membench-'));
        try {
          // The first start of a data directory runs initdb in the process, which leaves ~150 MB resident behind it
          // for the life of that process; every later start reopens the directory. The idle figure is a restart's.
          firstStarts.push(await runChild('thingql', { dataDir, dist: opt.dist, settleS: 0 }));
          results.embedded.push(await runChild('thingql', { dataDir, dist: opt.dist, settleS }));
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      } else {
        const fresh = await createFreshDatabase(opt['database-url']!, 'membench');
        const dataDir = mkdtempSync(path.join(os.tmpdir(), 'thingql-membench-'));
        try {
          results.postgres.push(
            await runChild('thingql', { databaseUrl: fresh.url, dataDir, dist: opt.dist, settleS }),
          );
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
          await fresh.drop();
        }
      }
      const last = results[t].at(-1)!;
      say(
        `  started ${last.started.rssMB} MB RSS, settled ${last.settled.rssMB} MB after ${last.settleSeconds} s (heap ${last.settled.heapUsedMB} MB used)`,
      );
    }
  }
  const sp = (t: (typeof targets)[number], k: keyof Snapshot, when: 'started' | 'settled' = 'settled') =>
    spread(
      results[t].map((x) => Number(x[when][k])),
      1,
    );
  const base = sp('aedes', 'rssMB');
  const how = opt.dist ? 'compiled build (npm start)' : 'sources through tsx';
  const row = (t: 'embedded' | 'postgres', label: string, goal: number): Row => {
    const rss = sp(t, 'rssMB');
    return {
      scenario: `Idle RSS (MB), ${label}, ${how}, settled after a full GC`,
      baseline: `${fmtSpread(base)} (plain aedes)`,
      measured: `${fmtSpread(rss)}; at 1 s ${fmtSpread(sp(t, 'rssMB', 'started'))}; heap used ${fmtSpread(sp(t, 'heapUsedMB'))}, external ${fmtSpread(sp(t, 'externalMB'))}`,
      ratio: fmtRatio(ratioOf(rss, base)),
      goal: `<= ${goal} MB`,
      met: rss.median <= goal,
    };
  };
  const rows = [
    row('embedded', 'embedded database (DATA_DIR, a restart)', 250),
    row('postgres', 'DATABASE_URL (PostgreSQL)', 120),
  ];
  const first = spread(
    firstStarts.map((x) => x.started.rssMB),
    1,
  );
  rows.push({
    scenario: '  embedded database, first start of a new DATA_DIR (initdb in the process), at 1 s',
    baseline: '-',
    measured: fmtSpread(first),
    ratio: fmtRatio(ratioOf(first, base)),
    goal: '-',
    met: null,
  });
  const out = {
    bench: 'memory',
    at: new Date().toISOString(),
    machine: machine(),
    options: { rounds, dist: opt.dist, settleS },
    rows,
    figures: { ...results, embeddedFirstStart: firstStarts },
  };
  console.log(`\n${markdownTable(rows)}\n`);
  for (const t of targets) {
    const s = results[t];
    console.log(`${t}: settled ${JSON.stringify(s.map((x) => x.settled))}`);
  }
  say(`written ${writeResult(out, opt.json)}`);
}

if (opt.role) await serve(opt.role);
else await main();
