/**
 * Property history: `npx tsx bench/history.ts [--database-url postgres://...] [--rows 10000000]
 * [--series-points 1000000] [--pglite-rows 1000000] [--pglite-series-points 250000] [--rounds 3] [--samples 200]
 * [--series-samples 5] [--no-pglite] [--quick] [--json FILE]`.
 *
 * Through the GraphQL API of a ThingQL instance (a child process, HTTP keep-alive, one call at a time):
 *  - a page of 100 (`devicePropertyHistory(first: 100)`, newest first) of one device and identifier holding `--rows`
 *    rows, ending at a random time of the range (so every sample starts somewhere else in the index), and the next
 *    page after it (`after: endCursor`);
 *  - a 30-day hourly series (`devicePropertySeries(interval: "1h")`, 720 buckets) of another identifier of the same
 *    device with `--series-points` points spread over those 30 days.
 * p50 and p99 per round; figures are the median (min-max) over rounds.
 *
 * Baseline, same run, same rows: the same statement as the service's (built with drizzle from the same table
 * definition) run directly: through postgres.js from this process on PostgreSQL, and inside the server process on
 * the embedded PGlite (no other process can reach it; the time is measured there, so it has no IPC in it).
 * Ratio = API / baseline (what GraphQL, HTTP and the service add).
 *
 * PostgreSQL: a fresh database on the server of --database-url (default postgres://postgres@127.0.0.1:5432/test),
 * dropped at the end. Rows are generated in SQL (`insert ... select ... generate_series`), chunked over two
 * connections into the table made UNLOGGED with its secondary indexes dropped, then the table is made LOGGED again,
 * the indexes are recreated from their own definitions, and it is vacuumed and analyzed: the measured table is the
 * one the migrations define. The embedded database gets smaller sizes (PGlite is single-threaded WASM).
 * The EXPLAIN (ANALYZE) of the page statement is printed: it must be an index range scan, no Seq Scan.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { and, desc, eq, gte, lte } from 'drizzle-orm';
import { QueryBuilder } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { propertyHistory } from '../src/db/schema/history.ts';
import { REBUILD_HOURLY_SQL } from '../src/db/repositories/history.ts';
import { startChild, type Child } from './lib/child.ts';
import { gqlClient, provision, smartLampTsl, type GqlClient } from './lib/gql.ts';
import { createFreshDatabase, DEFAULT_DATABASE_URL, type FreshDatabase } from './lib/pg.ts';
import { fmtRatio, machine, say, writeResult, type BenchOutput, type Row } from './lib/report.ts';
import { fmtSpread, latency, ratioOf, round, spread, type Latency, type Spread } from './lib/stats.ts';
import type { ThingqlReady } from './lib/thingql-child.ts';

const { values: opt } = parseArgs({
  options: {
    'database-url': { type: 'string', default: DEFAULT_DATABASE_URL },
    rows: { type: 'string' },
    'series-points': { type: 'string' },
    'pglite-rows': { type: 'string' },
    'pglite-series-points': { type: 'string' },
    rounds: { type: 'string', default: '3' },
    samples: { type: 'string' },
    'series-samples': { type: 'string' },
    'load-workers': { type: 'string', default: '2' },
    'no-pglite': { type: 'boolean', default: false },
    'no-postgres': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const Q = opt.quick;
const PG_ROWS = Number(opt.rows ?? (Q ? 300_000 : 10_000_000));
const PG_SERIES = Number(opt['series-points'] ?? (Q ? 100_000 : 1_000_000));
const LITE_ROWS = Number(opt['pglite-rows'] ?? (Q ? 50_000 : 1_000_000));
const LITE_SERIES = Number(opt['pglite-series-points'] ?? (Q ? 50_000 : 250_000));
const ROUNDS = Math.max(1, Number(opt.rounds));
const SAMPLES = Number(opt.samples ?? (Q ? 50 : 200));
const SERIES_SAMPLES = Number(opt['series-samples'] ?? (Q ? 4 : 5));
const LOAD_WORKERS = Math.max(1, Number(opt['load-workers']));
const PAGE = 100;
const PAGE_GOAL_MS = 20;
const SERIES_GOAL_MS = 200;

const PAGE_ID = 'PowerConsumption';
const SERIES_ID = 'Brightness';
/** The hourly rollup of the series identifier (db/repositories/history.ts REBUILD_HOURLY_SQL, one identifier). */
const ROLLUP_SQL = REBUILD_HOURLY_SQL.replace(
  'from property_history group by',
  `from property_history where identifier = '${SERIES_ID}' group by`,
);
const DAY = 86_400_000;
const PAGE_STEP_MS = 100; // one row every 100 ms: 10 M rows cover 11.6 days
const SERIES_SPAN_MS = 30 * DAY;

// ---------------------------------------------------------------------------------------------------------------
// Statements

/** The page statement of src/services/history.ts propertyHistory() (DESC, first page: limit + 1 rows). */
function pageStatement(deviceId: number, from: Date, to: Date): { sql: string; params: unknown[] } {
  const h = propertyHistory;
  return new QueryBuilder()
    .select({ id: h.id, identifier: h.identifier, value: h.value, time: h.ts })
    .from(h)
    .where(and(eq(h.deviceId, deviceId), eq(h.identifier, PAGE_ID), gte(h.ts, from), lte(h.ts, to)))
    .orderBy(desc(h.ts), desc(h.id))
    .limit(PAGE + 1)
    .toSQL();
}

/** The series statement of src/services/history.ts propertySeries(). */
const SERIES_SQL = `select date_bin(make_interval(secs => $1), ts, $2::timestamptz) as start,
       count(*) as count, avg(num) as avg, min(num) as min, max(num) as max, sum(num) as sum,
       (array_agg(value order by ts, id))[1] as first,
       (array_agg(value order by ts desc, id desc))[1] as last
  from property_history
 where device_id = $3 and identifier = $4 and ts >= $2::timestamptz and ts <= $5::timestamptz
 group by 1 order by 1`;
const seriesParams = (deviceId: number, from: Date, to: Date) => [
  3600,
  from.toISOString(),
  deviceId,
  SERIES_ID,
  to.toISOString(),
];

/** Rows g in [lo, hi] of `n`, the last one at `end`, `stepMicros` apart; value = num = (g % 5000) / 10. */
const GENERATE_SQL = `insert into property_history (device_id, identifier, ts, received_at, value, num)
select $1::bigint, $2::text, t, t, to_jsonb(v), v
  from (select $3::timestamptz - (($4::bigint - g) * $5::bigint) * interval '1 microsecond' as t,
               ((g % 5000) / 10.0)::float8 as v
          from generate_series($6::bigint, $7::bigint) g) s`;

function chunks(n: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let lo = 1; lo <= n; lo += size) out.push([lo, Math.min(n, lo + size - 1)]);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Measurement

const PAGE_QUERY = `query($pk: String!, $dn: String!, $id: String!, $from: DateTime!, $to: DateTime!, $after: String) {
  devicePropertyHistory(productKey: $pk, deviceName: $dn, identifier: $id, from: $from, to: $to, first: ${PAGE}, after: $after) {
    edges { node { value time } } pageInfo { endCursor hasNextPage } } }`;
const SERIES_QUERY = `query($pk: String!, $dn: String!, $id: String!, $from: DateTime!, $to: DateTime!) {
  devicePropertySeries(productKey: $pk, deviceName: $dn, identifier: $id, from: $from, to: $to, interval: "1h") { start count avg min max first last } }`;

interface Setup {
  label: 'PostgreSQL' | 'PGlite';
  gql: GqlClient;
  productKey: string;
  deviceName: string;
  deviceId: number;
  end: Date;
  rows: number;
  seriesPoints: number;
  /** the baseline: run a statement `params.length` times, one after the other; latencies in ms */
  direct(text: string, params: unknown[][]): Promise<number[]>;
}

interface RoundFigures {
  page: Latency;
  nextPage: Latency;
  pageBaseline: Latency;
  series: Latency;
  seriesBaseline: Latency;
}

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const s = performance.now();
  const v = await f();
  return [performance.now() - s, v];
}

async function measureRound(s: Setup, samples: number, seriesSamples: number): Promise<RoundFigures> {
  const first = s.end.getTime() - (s.rows - 1) * PAGE_STEP_MS;
  const from = new Date(first - DAY);
  // Page ends spread uniformly over the range, leaving room for two pages below each.
  const ends = Array.from(
    { length: samples },
    () =>
      new Date(first + 2 * PAGE * PAGE_STEP_MS + Math.random() * (s.end.getTime() - first - 2 * PAGE * PAGE_STEP_MS)),
  );
  const page: number[] = [];
  const next: number[] = [];
  for (const to of ends) {
    const vars = { pk: s.productKey, dn: s.deviceName, id: PAGE_ID, from: from.toISOString(), to: to.toISOString() };
    const [ms, r] = await timed(() => s.gql(PAGE_QUERY, vars));
    const conn = r.devicePropertyHistory;
    if (conn.edges.length !== PAGE) throw new Error(`${s.label}: page of ${conn.edges.length} rows, expected ${PAGE}`);
    page.push(ms);
    const [ms2, r2] = await timed(() => s.gql(PAGE_QUERY, { ...vars, after: conn.pageInfo.endCursor }));
    if (r2.devicePropertyHistory.edges.length !== PAGE)
      throw new Error(`${s.label}: next page of ${r2.devicePropertyHistory.edges.length} rows`);
    next.push(ms2);
  }
  const base = await s.direct(
    pageStatement(s.deviceId, from, new Date(0)).sql,
    ends.map((to) => pageStatement(s.deviceId, from, to).params),
  );
  // A chart's window starts on a bucket boundary (here: the hour), which is what the hourly rollup serves; a window
  // starting mid-hour reads the raw points (measured too, printed beside).
  const sFrom = new Date(Math.floor((s.end.getTime() - SERIES_SPAN_MS) / 3_600_000) * 3_600_000);
  const unaligned: number[] = [];
  for (let i = 0; i < seriesSamples; i++) {
    const [ms] = await timed(() =>
      s.gql(SERIES_QUERY, {
        pk: s.productKey,
        dn: s.deviceName,
        id: SERIES_ID,
        from: new Date(s.end.getTime() - SERIES_SPAN_MS).toISOString(),
        to: s.end.toISOString(),
      }),
    );
    unaligned.push(ms);
  }
  say(
    `  ${s.label}: series with a window not starting on the hour (raw points): p50 ${round(latency(unaligned).p50)} ms`,
  );
  const series: number[] = [];
  for (let i = 0; i < seriesSamples; i++) {
    const [ms, r] = await timed(() =>
      s.gql(SERIES_QUERY, {
        pk: s.productKey,
        dn: s.deviceName,
        id: SERIES_ID,
        from: sFrom.toISOString(),
        to: s.end.toISOString(),
      }),
    );
    if (r.devicePropertySeries.length < 700)
      throw new Error(`${s.label}: series of ${r.devicePropertySeries.length} buckets, expected ~720`);
    series.push(ms);
  }
  const seriesBase = await s.direct(
    SERIES_SQL,
    Array.from({ length: seriesSamples }, () => seriesParams(s.deviceId, sFrom, s.end)),
  );
  return {
    page: latency(page),
    nextPage: latency(next),
    pageBaseline: latency(base),
    series: latency(series),
    seriesBaseline: latency(seriesBase),
  };
}

interface Summary {
  label: string;
  rows: number;
  seriesPoints: number;
  loadSeconds: number;
  plan: string;
  seriesPlan: string;
  indexRangeScan: boolean;
  figures: Record<string, { p50: Spread; p99: Spread }>;
  rounds: RoundFigures[];
}

async function runRounds(s: Setup, plan: string, seriesPlan: string, loadSeconds: number): Promise<Summary> {
  // Warm-up: the JIT, the connection pools and the pages of the series (a chart is read more than once).
  await measureRound(s, 10, 1);
  const rounds: RoundFigures[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const f = await measureRound(s, SAMPLES, SERIES_SAMPLES);
    rounds.push(f);
    say(
      `  ${s.label} round ${r}: page p50 ${round(f.page.p50)} ms p99 ${round(f.page.p99)} (next page p50 ${round(f.nextPage.p50)}; SQL p50 ${round(f.pageBaseline.p50)}),` +
        ` series p50 ${round(f.series.p50)} ms p99 ${round(f.series.p99)} (SQL p50 ${round(f.seriesBaseline.p50)})`,
    );
  }
  const figures: Summary['figures'] = {};
  for (const k of ['page', 'nextPage', 'pageBaseline', 'series', 'seriesBaseline'] as const) {
    figures[k] = { p50: spread(rounds.map((r) => r[k].p50)), p99: spread(rounds.map((r) => r[k].p99)) };
  }
  const indexRangeScan = /Index (Only )?Scan/.test(plan) && !/Seq Scan/.test(plan);
  return {
    label: s.label,
    rows: s.rows,
    seriesPoints: s.seriesPoints,
    loadSeconds,
    plan,
    seriesPlan,
    indexRangeScan,
    figures,
    rounds,
  };
}

const fmtPlan = (rows: unknown[]) => rows.map((r) => Object.values(r as Record<string, string>)[0]).join('\n');

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL

async function onPostgres(): Promise<Summary> {
  const fresh: FreshDatabase = await createFreshDatabase(opt['database-url']!, 'history');
  let child: Child<ThingqlReady> | null = null;
  const sql = postgres(fresh.url, { onnotice: () => {}, max: Math.max(2, LOAD_WORKERS), prepare: true });
  try {
    child = await startChild<ThingqlReady>(
      new URL('./lib/thingql-child.ts', import.meta.url),
      [JSON.stringify({ DATABASE_URL: fresh.url })],
      { name: 'thingql (postgres)' },
    );
    const gql = gqlClient(child.ready.httpPort, child.ready.adminToken, 4);
    const { productKey, devices } = await provision(gql, { name: 'History bench lamp', tsl: smartLampTsl(), count: 1 });
    const deviceName = devices[0]!.deviceName;
    const [dev] = await sql<
      { id: string }[]
    >`select id from devices where product_key = ${productKey} and device_name = ${deviceName}`;
    const deviceId = Number(dev!.id);
    const end = new Date(Math.floor(Date.now() / 1000) * 1000);

    say(
      `  PostgreSQL ${fresh.name}: generating ${PG_ROWS.toLocaleString('en-US')} + ${PG_SERIES.toLocaleString('en-US')} rows...`,
    );
    const t0 = performance.now();
    const indexes = await sql<{ indexname: string; indexdef: string }[]>`
      select indexname, indexdef from pg_indexes where schemaname = current_schema() and tablename = 'property_history' and indexname <> 'property_history_pkey'`;
    for (const i of indexes) await sql.unsafe(`drop index "${i.indexname}"`);
    await sql.unsafe('alter table property_history set unlogged');
    const work: unknown[][] = [
      ...chunks(PG_ROWS, 500_000).map(([lo, hi]) => [
        deviceId,
        PAGE_ID,
        end.toISOString(),
        PG_ROWS,
        PAGE_STEP_MS * 1000,
        lo,
        hi,
      ]),
      ...chunks(PG_SERIES, 500_000).map(([lo, hi]) => [
        deviceId,
        SERIES_ID,
        end.toISOString(),
        PG_SERIES,
        Math.floor((SERIES_SPAN_MS * 1000) / PG_SERIES),
        lo,
        hi,
      ]),
    ];
    let nextChunk = 0;
    await Promise.all(
      Array.from({ length: LOAD_WORKERS }, async () => {
        while (nextChunk < work.length) await sql.unsafe(GENERATE_SQL, work[nextChunk++] as never[]);
      }),
    );
    const tInsert = performance.now();
    await sql.unsafe('alter table property_history set logged');
    const tLogged = performance.now();
    await sql.begin(async (tx) => {
      await tx.unsafe(`set local maintenance_work_mem = '512MB'`);
      for (const i of indexes) await tx.unsafe(i.indexdef);
    });
    const tIndex = performance.now();
    await sql.unsafe('vacuum (analyze) property_history');
    // Rows loaded behind ingest's back: build their hourly rollup as the migration's backfill does.
    await sql.unsafe(ROLLUP_SQL);
    await sql.unsafe('vacuum (analyze) property_hourly');
    const loadSeconds = round((performance.now() - t0) / 1000, 1);
    const [size] = await sql<
      { size: string }[]
    >`select pg_size_pretty(pg_total_relation_size('property_history')) as size`;
    say(
      `  generated in ${loadSeconds} s (insert ${round((tInsert - t0) / 1000, 1)} s, set logged ${round((tLogged - tInsert) / 1000, 1)} s, indexes ${round((tIndex - tLogged) / 1000, 1)} s, vacuum analyze ${round((performance.now() - tIndex) / 1000, 1)} s); table + indexes ${size!.size}`,
    );

    const first = end.getTime() - (PG_ROWS - 1) * PAGE_STEP_MS;
    const mid = pageStatement(deviceId, new Date(first - DAY), new Date((first + end.getTime()) / 2));
    const plan = fmtPlan(
      await sql.unsafe(`explain (analyze, buffers, costs off, timing off) ${mid.sql}`, mid.params as never[]),
    );
    const sFrom = new Date(end.getTime() - SERIES_SPAN_MS);
    const seriesPlan = fmtPlan(
      await sql.unsafe(
        `explain (analyze, buffers, costs off, timing off) ${SERIES_SQL}`,
        seriesParams(deviceId, sFrom, end) as never[],
      ),
    );
    console.log(
      `\nEXPLAIN (ANALYZE, BUFFERS) of the page statement on PostgreSQL (${PG_ROWS.toLocaleString('en-US')} rows), as src/services/history.ts builds it:\n${mid.sql}\n${plan}\n`,
    );

    const setup: Setup = {
      label: 'PostgreSQL',
      gql,
      productKey,
      deviceName,
      deviceId,
      end,
      rows: PG_ROWS,
      seriesPoints: PG_SERIES,
      async direct(text, params) {
        const out: number[] = [];
        for (const p of params) {
          const s = performance.now();
          await sql.unsafe(text, p as never[], { prepare: true });
          out.push(performance.now() - s);
        }
        return out;
      },
    };
    const summary = await runRounds(setup, plan, seriesPlan, loadSeconds);
    gql.close();
    return summary;
  } finally {
    await sql.end({ timeout: 5 });
    await child?.stop();
    await fresh.drop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PGlite (embedded)

async function onPglite(): Promise<Summary> {
  const child = await startChild<ThingqlReady>(
    new URL('./lib/thingql-child.ts', import.meta.url),
    [JSON.stringify({ DATABASE_URL: 'memory://' })],
    { name: 'thingql (pglite)' },
  );
  try {
    const gql = gqlClient(child.ready.httpPort, child.ready.adminToken, 4);
    const { productKey, devices } = await provision(gql, { name: 'History bench lamp', tsl: smartLampTsl(), count: 1 });
    const deviceName = devices[0]!.deviceName;
    const [dev] = await child.call<{ id: string | number }[]>('sql', {
      text: 'select id from devices where product_key = $1 and device_name = $2',
      params: [productKey, deviceName],
    });
    const deviceId = Number(dev!.id);
    const end = new Date(Math.floor(Date.now() / 1000) * 1000);
    say(`  PGlite: generating ${LITE_ROWS.toLocaleString('en-US')} + ${LITE_SERIES.toLocaleString('en-US')} rows...`);
    const t0 = performance.now();
    // As on PostgreSQL: secondary indexes dropped during the load and rebuilt from their own definitions.
    const indexes = await child.call<{ indexname: string; indexdef: string }[]>('sql', {
      text: `select indexname, indexdef from pg_indexes where schemaname = current_schema() and tablename = 'property_history' and indexname <> 'property_history_pkey'`,
    });
    for (const i of indexes) await child.call('sql', { text: `drop index "${i.indexname}"` });
    for (const [lo, hi] of chunks(LITE_ROWS, 250_000)) {
      await child.call('sql', {
        text: GENERATE_SQL,
        params: [deviceId, PAGE_ID, end.toISOString(), LITE_ROWS, PAGE_STEP_MS * 1000, lo, hi],
      });
    }
    for (const [lo, hi] of chunks(LITE_SERIES, 250_000)) {
      await child.call('sql', {
        text: GENERATE_SQL,
        params: [
          deviceId,
          SERIES_ID,
          end.toISOString(),
          LITE_SERIES,
          Math.floor((SERIES_SPAN_MS * 1000) / LITE_SERIES),
          lo,
          hi,
        ],
      });
    }
    for (const i of indexes) await child.call('sql', { text: i.indexdef });
    await child.call('sql', { text: 'vacuum (analyze) property_history' });
    await child.call('sql', { text: ROLLUP_SQL });
    const loadSeconds = round((performance.now() - t0) / 1000, 1);
    say(`  generated in ${loadSeconds} s`);
    const first = end.getTime() - (LITE_ROWS - 1) * PAGE_STEP_MS;
    const mid = pageStatement(deviceId, new Date(first - DAY), new Date((first + end.getTime()) / 2));
    const plan = fmtPlan(
      await child.call<unknown[]>('sql', {
        text: `explain (analyze, buffers, costs off, timing off) ${mid.sql}`,
        params: mid.params,
      }),
    );
    const sFrom = new Date(end.getTime() - SERIES_SPAN_MS);
    const seriesPlan = fmtPlan(
      await child.call<unknown[]>('sql', {
        text: `explain (analyze, buffers, costs off, timing off) ${SERIES_SQL}`,
        params: seriesParams(deviceId, sFrom, end),
      }),
    );
    console.log(
      `\nEXPLAIN (ANALYZE, BUFFERS) of the page statement on PGlite (${LITE_ROWS.toLocaleString('en-US')} rows):\n${plan}\n`,
    );
    const setup: Setup = {
      label: 'PGlite',
      gql,
      productKey,
      deviceName,
      deviceId,
      end,
      rows: LITE_ROWS,
      seriesPoints: LITE_SERIES,
      direct: (text, params) => child.call<number[]>('timeSql', { text, params }),
    };
    const summary = await runRounds(setup, plan, seriesPlan, loadSeconds);
    gql.close();
    return summary;
  } finally {
    await child.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------

function rowsOf(s: Summary, goals: boolean): Row[] {
  const f = s.figures;
  const n = (x: number) => x.toLocaleString('en-US');
  const pageRatio = ratioOf(f.page!.p50, f.pageBaseline!.p50);
  const seriesRatio = ratioOf(f.series!.p50, f.seriesBaseline!.p50);
  return [
    {
      scenario: `Property history (${s.label}): page of 100 from ${n(s.rows)} rows, p50 ms${s.indexRangeScan ? ' (index range scan)' : ' (NOT an index range scan)'}`,
      baseline: `${fmtSpread(f.pageBaseline!.p50, '', 2)} (plain select ... limit)`,
      measured: `${fmtSpread(f.page!.p50, '', 2)}; p99 ${fmtSpread(f.page!.p99, '', 1)} (${SAMPLES} calls/round); next page p50 ${fmtSpread(f.nextPage!.p50, '', 2)}`,
      ratio: fmtRatio(pageRatio),
      goal: goals ? `p50 <= ${PAGE_GOAL_MS} ms` : 'report',
      met: goals ? s.indexRangeScan && f.page!.p50.median <= PAGE_GOAL_MS : null,
    },
    {
      scenario: `Property history (${s.label}): 30-day hourly series over ${n(s.seriesPoints)} points, p50 ms`,
      baseline: `${fmtSpread(f.seriesBaseline!.p50)} (same SQL direct)`,
      measured: `${fmtSpread(f.series!.p50)}; p99 ${fmtSpread(f.series!.p99)} (${SERIES_SAMPLES} calls/round: p99 = max)`,
      ratio: fmtRatio(seriesRatio),
      goal: goals ? `p50 <= ${SERIES_GOAL_MS} ms` : 'report',
      met: goals ? f.series!.p50.median <= SERIES_GOAL_MS : null,
    },
  ];
}

async function main(): Promise<void> {
  say(
    `history: PostgreSQL ${opt['no-postgres'] ? 'skipped' : `${PG_ROWS} rows + ${PG_SERIES} series points`}; PGlite ${opt['no-pglite'] ? 'skipped' : `${LITE_ROWS} rows + ${LITE_SERIES} series points`}; ${ROUNDS} rounds of ${SAMPLES} pages and ${SERIES_SAMPLES} series`,
  );
  const summaries: Summary[] = [];
  if (!opt['no-postgres']) summaries.push(await onPostgres());
  if (!opt['no-pglite']) summaries.push(await onPglite());
  const rows = summaries.flatMap((s) =>
    rowsOf(s, s.label === 'PostgreSQL' && s.rows >= 10_000_000 && s.seriesPoints >= 1_000_000),
  );
  const out: BenchOutput = {
    bench: 'history',
    at: new Date().toISOString(),
    machine: machine(),
    options: {
      rounds: ROUNDS,
      samples: SAMPLES,
      seriesSamples: SERIES_SAMPLES,
      pgRows: PG_ROWS,
      pgSeries: PG_SERIES,
      pgliteRows: LITE_ROWS,
      pgliteSeries: LITE_SERIES,
      quick: Q,
    },
    rows,
    figures: Object.fromEntries(summaries.map((s) => [s.label, s])),
    notes: [
      'Latency of one call at a time from this process: HTTP keep-alive + GraphQL + service + database.',
      'Baseline: the same statement direct (postgres.js from this process; PGlite inside the server process). Goals apply at 10 M rows / 1 M points on PostgreSQL.',
    ],
  };
  console.log(`written ${writeResult(out, opt.json)}`);
}

await main();
process.exit(0);
