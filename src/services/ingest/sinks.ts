import { sql } from 'drizzle-orm';
import { query, type Tx } from '../../db/client.ts';
import { eventHistory, ingestDedupe } from '../../db/tables.ts';
import type { GroupCommitter } from '../../events/committer.ts';

export type EventRow = typeof eventHistory.$inferInsert;

/**
 * One property value for the history sink: compact keys, epoch-millisecond times; the whole batch travels as ONE
 * JSON parameter of a constant statement (no per-batch statement text, one prepared statement per connection).
 */
export interface HistoryRow {
  /** device id */
  d: number;
  /** identifier */
  i: string;
  /** device time (ms) */
  t: number;
  /** received at (ms) */
  r: number;
  /** the value as posted (any JSON) */
  v: unknown;
  /** numeric view for series, or null */
  n: number | null;
}

/** Rows per multi-row VALUES statement (drizzle sinks), well below PostgreSQL's parameter cap. */
const CHUNK = 2000;
/** Rows per JSON-parameter statement: one statement per commit in practice (a commit holds at most 1,000 messages). */
const JSON_CHUNK = 50_000;

/** A resent request (same device, id and payload) within this window is recognised as a duplicate. */
export const DEDUPE_WINDOW = '1 hour';

async function chunked<T>(rows: T[], fn: (part: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await fn(rows.slice(i, i + CHUNK));
}

/**
 * Property history, latest values and the hourly rollup of one commit in ONE constant statement (data-modifying CTEs
 * over one JSON parameter): raw rows in arrival order (ids follow it), the newest value per property into
 * property_latest (an older buffered value never overwrites a newer one), and each hour's aggregates merged into
 * property_hourly (db/schema/history-rollup.ts). A JSON null value arrives as SQL NULL and is stored as JSON null.
 */
const HISTORY_HEAD = `with r as (
  select o, d, i, to_timestamp(t / 1000.0) as ts, to_timestamp(rc / 1000.0) as received_at, coalesce(v, 'null'::jsonb) as v, n
  from json_to_recordset(`;
const HISTORY_TAIL = `::text::json) as x(o int, d bigint, i text, t float8, rc float8, v jsonb, n float8)
), h as (
  insert into property_history (device_id, identifier, ts, received_at, value, num)
  select d, i, ts, received_at, v, n from r order by o
), l as (
  insert into property_latest (device_id, identifier, ts, value)
  select distinct on (d, i) d, i, ts, v from r order by d, i, ts desc, o desc
  on conflict (device_id, identifier) do update set ts = excluded.ts, value = excluded.value
  where excluded.ts >= property_latest.ts
), g as (
  insert into property_hourly as p (device_id, identifier, hour, cnt, num_cnt, sum, min, max, first_ts, first, last_ts, last)
  select d, i, date_bin('1 hour', ts, timestamptz '2000-01-01 00:00:00+00'), count(*), count(n), sum(n), min(n), max(n),
         min(ts), (array_agg(v order by ts, o))[1], max(ts), (array_agg(v order by ts desc, o desc))[1]
  from r group by 1, 2, 3
  on conflict (device_id, identifier, hour) do update set
    cnt = p.cnt + excluded.cnt,
    num_cnt = p.num_cnt + excluded.num_cnt,
    sum = coalesce(p.sum + excluded.sum, p.sum, excluded.sum),
    min = least(p.min, excluded.min),
    max = greatest(p.max, excluded.max),
    first = case when excluded.first_ts < p.first_ts then excluded.first else p.first end,
    first_ts = least(p.first_ts, excluded.first_ts),
    last = case when excluded.last_ts >= p.last_ts then excluded.last else p.last end,
    last_ts = greatest(p.last_ts, excluded.last_ts)
)
select 1`;

/** The history statement: constant text, the batch as its one (text) parameter. */
export const historySql = (json: string) => sql`${sql.raw(HISTORY_HEAD)}${json}${sql.raw(HISTORY_TAIL)}`;

/** The batch sinks of the thing-data tables, and the dedupe check: one statement each per group commit. */
export function registerThingDataSinks(committer: GroupCommitter): void {
  committer.sink('propertyHistory', async (tx, rows) => {
    const list = rows as HistoryRow[];
    for (let i = 0; i < list.length; i += JSON_CHUNK) {
      const part = list.slice(i, i + JSON_CHUNK).map((r, o) => ({ o, d: r.d, i: r.i, t: r.t, rc: r.r, v: r.v, n: r.n }));
      await tx.execute(historySql(JSON.stringify(part)));
    }
  });
  committer.sink('eventHistory', (tx, rows) => chunked(rows as EventRow[], (part) => tx.insert(eventHistory).values(part)));
  committer.dedupeWith(async (tx: Tx, keys) => {
    const unique = [...new Map(keys.map((k) => [`${k.deviceId}:${k.key}`, k])).values()];
    const fresh = new Set<string>();
    for (let i = 0; i < unique.length; i += JSON_CHUNK) {
      const part = unique.slice(i, i + JSON_CHUNK).map((k) => ({ d: k.deviceId, k: k.key, h: k.hash }));
      const rows = await query<{ device_id: string | number; request_key: string }>(tx, dedupeSql(JSON.stringify(part)));
      for (const r of rows) fresh.add(`${Number(r.device_id)}:${r.request_key}`);
    }
    return fresh;
  });
}

/**
 * Record request keys, returning those that are new (or whose payload differs, or were seen longer ago than the
 * window): constant text, one JSON parameter.
 */
const dedupeSql = (json: string) => sql`insert into ${ingestDedupe} as x (device_id, request_key, hash)
  select d, k, h from json_to_recordset(${json}::text::json) as r(d bigint, k text, h text)
  on conflict (device_id, request_key) do update set hash = excluded.hash, seen_at = now()
  where not (x.hash = excluded.hash and x.seen_at > now() - ${sql.raw(`'${DEDUPE_WINDOW}'`)}::interval)
  returning device_id, request_key`;

/** Rebuild the hourly rollup from the raw history (the migration's backfill; benchmarks that load rows directly). */
export const REBUILD_HOURLY_SQL = `insert into property_hourly (device_id, identifier, hour, cnt, num_cnt, sum, min, max, first_ts, first, last_ts, last)
select device_id, identifier, date_bin('1 hour', ts, timestamptz '2000-01-01 00:00:00+00'), count(*), count(num), sum(num), min(num), max(num),
       min(ts), (array_agg(value order by ts, id))[1], max(ts), (array_agg(value order by ts desc, id desc))[1]
from property_history group by 1, 2, 3
on conflict (device_id, identifier, hour) do nothing`;
