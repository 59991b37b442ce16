import { and, asc, desc, eq, gte, lte, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgSelect } from 'drizzle-orm/pg-core';
import { query, queryPrepared, type Executor, type Tx } from '../client.ts';
import { commands, eventHistory, ingestDedupe, propertyHistory, propertyHourly, propertyLatest } from '../tables.ts';

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

export interface PropertyPoint {
  id: number;
  identifier: string;
  value: unknown;
  time: Date;
}

export interface EventRecord {
  id: number;
  identifier: string;
  name: string;
  eventType: string;
  output: unknown;
  time: Date;
}

export interface ServiceCallRecord {
  messageId: string;
  identifier: string;
  callType: string;
  input: unknown;
  output: unknown;
  code: number | null;
  status: string;
  requestedAt: Date;
  repliedAt: Date | null;
}

/** Raw time buckets of a property series (numbers as the driver returns them). */
export interface SeriesRow {
  start: string | Date;
  count: string | number;
  avg: number | null;
  min: number | null;
  max: number | null;
  sum: number | null;
  first: unknown;
  last: unknown;
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

/** Sink flush: a commit's property values (history, latest, hourly rollup). */
export async function insertPropertyHistory(tx: Tx, rows: unknown[]): Promise<void> {
  const list = rows as HistoryRow[];
  for (let i = 0; i < list.length; i += JSON_CHUNK) {
    const part = list.slice(i, i + JSON_CHUNK).map((r, o) => ({ o, d: r.d, i: r.i, t: r.t, rc: r.r, v: r.v, n: r.n }));
    await queryPrepared(tx, historySql(JSON.stringify(part)));
  }
}

/** Sink flush: a commit's events. */
export const insertEventHistory = (tx: Tx, rows: unknown[]): Promise<void> =>
  chunked(rows as EventRow[], (part) => tx.insert(eventHistory).values(part));

/**
 * Record request keys, returning those that are new (or whose payload differs, or were seen longer ago than the
 * window): constant text, one JSON parameter.
 */
const dedupeSql = (json: string) => sql`insert into ${ingestDedupe} as x (device_id, request_key, hash)
  select d, k, h from json_to_recordset(${json}::text::json) as r(d bigint, k text, h text)
  on conflict (device_id, request_key) do update set hash = excluded.hash, seen_at = now()
  where not (x.hash = excluded.hash and x.seen_at > now() - ${sql.raw(`'${DEDUPE_WINDOW}'`)}::interval)
  returning device_id, request_key`;

/** The dedupe check of a commit: records the keys and returns `deviceId:key` of those not seen within the window. */
export async function recordRequestKeys(
  tx: Tx,
  keys: readonly { deviceId: number; key: string; hash: string }[],
): Promise<Set<string>> {
  const unique = [...new Map(keys.map((k) => [`${k.deviceId}:${k.key}`, k])).values()];
  const fresh = new Set<string>();
  for (let i = 0; i < unique.length; i += JSON_CHUNK) {
    const part = unique.slice(i, i + JSON_CHUNK).map((k) => ({ d: k.deviceId, k: k.key, h: k.hash }));
    const rows = await queryPrepared<{ device_id: string | number; request_key: string }>(
      tx,
      dedupeSql(JSON.stringify(part)),
    );
    for (const r of rows) fresh.add(`${Number(r.device_id)}:${r.request_key}`);
  }
  return fresh;
}

/** Rebuild the hourly rollup from the raw history (the migration's backfill; benchmarks that load rows directly). */
export const REBUILD_HOURLY_SQL = `insert into property_hourly (device_id, identifier, hour, cnt, num_cnt, sum, min, max, first_ts, first, last_ts, last)
select device_id, identifier, date_bin('1 hour', ts, timestamptz '2000-01-01 00:00:00+00'), count(*), count(num), sum(num), min(num), max(num),
       min(ts), (array_agg(value order by ts, id))[1], max(ts), (array_agg(value order by ts desc, id desc))[1]
from property_history group by 1, 2, 3
on conflict (device_id, identifier, hour) do nothing`;

/** The latest value of each of a device's properties, by identifier. */
export async function listLatestProperties(
  ex: Executor,
  deviceId: number,
): Promise<{ identifier: string; value: unknown; time: Date }[]> {
  const rows = await ex
    .select()
    .from(propertyLatest)
    .where(eq(propertyLatest.deviceId, deviceId))
    .orderBy(asc(propertyLatest.identifier));
  return rows.map((r) => ({ identifier: r.identifier, value: r.value, time: r.ts }));
}

/** A page over a time-ordered history: rows past `after` (a time and a tie-breaking key), `limit` rows. */
export interface TimePage<K> {
  after: { time: Date; key: K } | null;
  ascending: boolean;
  limit: number;
}

/**
 * One time-ordered page of a select: the cursor condition added to `filter`, the order and the limit. A row comparison
 * keeps the page an index range scan on (device, identifier, ts, id).
 */
function timePage<Q extends PgSelect, K>(
  qb: Q,
  ts: PgColumn,
  key: PgColumn,
  filter: SQL | undefined,
  page: TimePage<K>,
): Q {
  const a = page.after;
  const cond = !a
    ? undefined
    : page.ascending
      ? sql`(${ts}, ${key}) > (${a.time.toISOString()}::timestamptz, ${a.key})`
      : sql`(${ts}, ${key}) < (${a.time.toISOString()}::timestamptz, ${a.key})`;
  return qb
    .where(and(filter, cond))
    .orderBy(...(page.ascending ? [asc(ts), asc(key)] : [desc(ts), desc(key)]))
    .limit(page.limit);
}

/** `from <= ts <= to`, as two conditions to spread into an `and`. */
const timeWindow = (ts: PgColumn, f: { from: Date; to: Date }): SQL[] => [gte(ts, f.from), lte(ts, f.to)];

export interface PropertyHistoryFilter {
  deviceId: number;
  identifier: string;
  from: Date;
  to: Date;
}

const propertyFilter = (f: PropertyHistoryFilter) =>
  and(
    eq(propertyHistory.deviceId, f.deviceId),
    eq(propertyHistory.identifier, f.identifier),
    ...timeWindow(propertyHistory.ts, f),
  );

export async function listPropertyHistoryPage(
  ex: Executor,
  f: PropertyHistoryFilter,
  page: TimePage<number>,
): Promise<PropertyPoint[]> {
  const qb = ex
    .select({
      id: propertyHistory.id,
      identifier: propertyHistory.identifier,
      value: propertyHistory.value,
      time: propertyHistory.ts,
    })
    .from(propertyHistory)
    .$dynamic();
  return timePage(qb, propertyHistory.ts, propertyHistory.id, propertyFilter(f), page);
}

export const countPropertyHistory = (ex: Executor, f: PropertyHistoryFilter): Promise<number> =>
  ex.$count(propertyHistory, propertyFilter(f));

export interface EventHistoryFilter {
  deviceId: number;
  identifier?: string | null;
  /** lower case */
  eventType?: string | null;
  from: Date;
  to: Date;
}

const eventFilter = (f: EventHistoryFilter) =>
  and(
    eq(eventHistory.deviceId, f.deviceId),
    ...timeWindow(eventHistory.ts, f),
    f.identifier ? eq(eventHistory.identifier, f.identifier) : undefined,
    f.eventType ? eq(eventHistory.eventType, f.eventType) : undefined,
  );

export async function listEventHistoryPage(
  ex: Executor,
  f: EventHistoryFilter,
  page: TimePage<number>,
): Promise<EventRecord[]> {
  const qb = ex
    .select({
      id: eventHistory.id,
      identifier: eventHistory.identifier,
      name: eventHistory.name,
      eventType: eventHistory.eventType,
      output: eventHistory.output,
      time: eventHistory.ts,
    })
    .from(eventHistory)
    .$dynamic();
  return timePage(qb, eventHistory.ts, eventHistory.id, eventFilter(f), page);
}

export const countEventHistory = (ex: Executor, f: EventHistoryFilter): Promise<number> =>
  ex.$count(eventHistory, eventFilter(f));

export interface ServiceCallFilter {
  productKey: string;
  deviceName: string;
  identifier?: string | null;
  from: Date;
  to: Date;
}

/** Service calls and property sets of one device (the commands table), by request time. */
const serviceCallFilter = (f: ServiceCallFilter) =>
  and(
    eq(commands.productKey, f.productKey),
    eq(commands.deviceName, f.deviceName),
    sql`${commands.kind} in ('SERVICE', 'PROPERTY_SET')`,
    ...timeWindow(commands.requestedAt, f),
    f.identifier ? eq(commands.identifier, f.identifier) : undefined,
  );

export async function listServiceCallsPage(
  ex: Executor,
  f: ServiceCallFilter,
  page: TimePage<string>,
): Promise<ServiceCallRecord[]> {
  const rows = await timePage(
    ex.select().from(commands).$dynamic(),
    commands.requestedAt,
    commands.messageId,
    serviceCallFilter(f),
    page,
  );
  return rows.map((r) => ({
    messageId: r.messageId,
    identifier: r.identifier ?? '',
    callType: r.callType ?? 'ASYNC',
    input: r.input,
    output: r.output,
    code: r.code,
    status: r.status,
    requestedAt: r.requestedAt,
    repliedAt: r.repliedAt,
  }));
}

export const countServiceCalls = (ex: Executor, f: ServiceCallFilter): Promise<number> =>
  ex.$count(commands, serviceCallFilter(f));

/**
 * Time buckets of one property from `from` to `to`: `date_bin` over the device-time index range, numeric aggregates
 * over the numeric view of the values, FIRST/LAST as values; empty buckets are omitted. With `wholeHours` > 0 (the
 * caller checked that buckets are whole hours starting on an hour), the complete hours come from the hourly rollup
 * (one row per hour, maintained at ingest) and only the last, partial hour from the raw points.
 */
export async function propertySeriesBuckets(
  ex: Executor,
  a: { deviceId: number; identifier: string; from: Date; to: Date; seconds: number; wholeHours: number },
): Promise<SeriesRow[]> {
  const from = a.from.toISOString();
  const to = a.to.toISOString();
  if (a.wholeHours > 0) {
    const rawFrom = new Date(a.from.getTime() + a.wholeHours * 3_600_000).toISOString();
    return query<SeriesRow>(
      ex,
      sql`with hours as (
            select hour, cnt, num_cnt, sum, min, max, first_ts, first, last_ts, last from ${propertyHourly}
            where device_id = ${a.deviceId} and identifier = ${a.identifier}
              and hour >= ${from}::timestamptz and hour < ${rawFrom}::timestamptz
            union all
            select date_bin('1 hour', ts, ${from}::timestamptz), count(*), count(num), sum(num), min(num), max(num),
                   min(ts), (array_agg(value order by ts, id))[1], max(ts), (array_agg(value order by ts desc, id desc))[1]
            from ${propertyHistory}
            where device_id = ${a.deviceId} and identifier = ${a.identifier}
              and ts >= ${rawFrom}::timestamptz and ts <= ${to}::timestamptz
            group by 1
          )
          select date_bin(make_interval(secs => ${a.seconds}), hour, ${from}::timestamptz) as start,
                 sum(cnt) as count, sum(sum) / nullif(sum(num_cnt), 0) as avg, min(min) as min, max(max) as max, sum(sum) as sum,
                 (array_agg(first order by first_ts, hour))[1] as first,
                 (array_agg(last order by last_ts desc, hour desc))[1] as last
          from hours group by 1 order by 1`,
    );
  }
  return query<SeriesRow>(
    ex,
    sql`select date_bin(make_interval(secs => ${a.seconds}), ts, ${from}::timestamptz) as start,
           count(*) as count, avg(num) as avg, min(num) as min, max(num) as max, sum(num) as sum,
           (array_agg(value order by ts, id))[1] as first,
           (array_agg(value order by ts desc, id desc))[1] as last
    from ${propertyHistory}
    where device_id = ${a.deviceId} and identifier = ${a.identifier}
      and ts >= ${from}::timestamptz and ts <= ${to}::timestamptz
    group by 1 order by 1`,
  );
}
