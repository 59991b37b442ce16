import { and, asc, desc, eq, gte, lt, lte, sql, type SQL } from 'drizzle-orm';
import { DomainError } from '../domain/errors.ts';
import { query } from '../db/client.ts';
import { commands, eventHistory, ingestDedupe, propertyHistory, propertyHourly, propertyLatest } from '../db/tables.ts';
import { canSeeProduct, type Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { findDevice } from '../db/repositories/devices.ts';
import { keysetPage, noRows, toConnection, type Connection, type PageArgs } from './paging.ts';
import type { DeviceRecord } from '../db/records.ts';

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

export type Aggregation = 'AVG' | 'MIN' | 'MAX' | 'SUM' | 'COUNT' | 'FIRST' | 'LAST';

export interface SeriesBucket {
  start: Date;
  count: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  sum: number | null;
  first: unknown;
  last: unknown;
}

/** `"1m"`, `"5m"`, `"1h"`, `"1d"`, `"30s"`, `"1w"`: a bucket width in seconds. */
export function parseInterval(s: string): number {
  const m = /^(\d{1,6})(s|m|h|d|w)$/.exec(s.trim());
  if (!m) throw new DomainError('INVALID_INTERVAL', `interval "${s}" must look like 30s, 5m, 1h, 1d or 1w`, ['interval']);
  const n = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's'];
  if (n < 1) throw new DomainError('INVALID_INTERVAL', 'interval must be at least 1s', ['interval']);
  return n;
}

/** Most buckets one series answer may hold: a chart never needs more, and the database is protected. */
export const MAX_BUCKETS = 10_000;

/** Cursor key of a history row: its time and id (keyset over the (device, identifier, ts, id) index). */
const keyOf = (r: { time: Date; id: number }) => `${r.time.getTime()}:${r.id}`;
function splitKey(k: string): [Date, number] {
  const [t, id] = k.split(':');
  if (!t || !id || !/^\d+$/.test(t) || !/^\d+$/.test(id)) throw new DomainError('INVALID_CURSOR', 'invalid cursor', ['after']);
  return [new Date(Number(t)), Number(id)];
}

/**
 * History queries (QueryDevicePropertyData, QueryDeviceEventData, QueryDevicePropertyStatus of alink-protocol.md §5.2)
 * with Relay paging. Every query is bound to one device found by product key and name, within the caller's scope.
 */
export function createHistoryService(deps: ServiceDeps) {
  const db = deps.database.db;

  async function device(p: Principal, productKey: string, deviceName: string): Promise<DeviceRecord | null> {
    if (!canSeeProduct(p, productKey)) return null;
    return findDevice(db, productKey, deviceName);
  }

  function range(from: Date, to: Date) {
    if (!(from.getTime() <= to.getTime())) throw new DomainError('INVALID_RANGE', '`from` must not be after `to`', ['from']);
  }

  function keysetCond(ts: typeof propertyHistory.ts | typeof eventHistory.ts, id: typeof propertyHistory.id | typeof eventHistory.id, cursorKey: string | null, dirAsc: boolean): SQL | undefined {
    if (cursorKey == null) return undefined;
    const [t, i] = splitKey(cursorKey);
    // A row comparison keeps the page an index range scan on (device, identifier, ts, id).
    return dirAsc ? sql`(${ts}, ${id}) > (${t.toISOString()}::timestamptz, ${i})` : sql`(${ts}, ${id}) < (${t.toISOString()}::timestamptz, ${i})`;
  }

  return {
    async latest(deviceId: number): Promise<{ identifier: string; value: unknown; time: Date }[]> {
      const rows = await db.select().from(propertyLatest).where(eq(propertyLatest.deviceId, deviceId)).orderBy(asc(propertyLatest.identifier));
      return rows.map((r) => ({ identifier: r.identifier, value: r.value, time: r.ts }));
    },

    async propertyHistory(
      p: Principal,
      a: { productKey: string; deviceName: string; identifier: string; from: Date; to: Date; order: 'ASC' | 'DESC' },
      args: PageArgs,
    ): Promise<Connection<PropertyPoint>> {
      range(a.from, a.to);
      const page = keysetPage(args);
      const d = await device(p, a.productKey, a.deviceName);
      if (!d) return toConnection<PropertyPoint>([], page, keyOf, noRows);
      // Backward paging walks the opposite direction of `order`.
      const asc_ = (a.order === 'ASC') === (page.direction === 'forward');
      const filters = and(eq(propertyHistory.deviceId, d.id), eq(propertyHistory.identifier, a.identifier), gte(propertyHistory.ts, a.from), lte(propertyHistory.ts, a.to));
      const rows = await db
        .select({ id: propertyHistory.id, identifier: propertyHistory.identifier, value: propertyHistory.value, time: propertyHistory.ts })
        .from(propertyHistory)
        .where(
          and(
            filters,
            keysetCond(propertyHistory.ts, propertyHistory.id, page.direction === 'forward' ? page.afterKey : page.beforeKey, asc_),
          ),
        )
        .orderBy(...(asc_ ? [asc(propertyHistory.ts), asc(propertyHistory.id)] : [desc(propertyHistory.ts), desc(propertyHistory.id)]))
        .limit(page.limit + 1);
      return toConnection(rows, page, keyOf, () => db.$count(propertyHistory, filters));
    },

    async eventHistory(
      p: Principal,
      a: { productKey: string; deviceName: string; identifier?: string | null; eventType?: string | null; from: Date; to: Date; order: 'ASC' | 'DESC' },
      args: PageArgs,
    ): Promise<Connection<EventRecord>> {
      range(a.from, a.to);
      const page = keysetPage(args);
      const d = await device(p, a.productKey, a.deviceName);
      if (!d) return toConnection<EventRecord>([], page, keyOf, noRows);
      const asc_ = (a.order === 'ASC') === (page.direction === 'forward');
      const filters = and(
        eq(eventHistory.deviceId, d.id),
        gte(eventHistory.ts, a.from),
        lte(eventHistory.ts, a.to),
        a.identifier ? eq(eventHistory.identifier, a.identifier) : undefined,
        a.eventType ? eq(eventHistory.eventType, a.eventType.toLowerCase()) : undefined,
      );
      const rows = await db
        .select({
          id: eventHistory.id,
          identifier: eventHistory.identifier,
          name: eventHistory.name,
          eventType: eventHistory.eventType,
          output: eventHistory.output,
          time: eventHistory.ts,
        })
        .from(eventHistory)
        .where(
          and(
            filters,
            keysetCond(eventHistory.ts, eventHistory.id, page.direction === 'forward' ? page.afterKey : page.beforeKey, asc_),
          ),
        )
        .orderBy(...(asc_ ? [asc(eventHistory.ts), asc(eventHistory.id)] : [desc(eventHistory.ts), desc(eventHistory.id)]))
        .limit(page.limit + 1);
      return toConnection(rows, page, keyOf, () => db.$count(eventHistory, filters));
    },

    /** QueryDeviceServiceData: service calls (and property sets, identifier `set`) with their outcome. */
    async serviceHistory(
      p: Principal,
      a: { productKey: string; deviceName: string; identifier?: string | null; from: Date; to: Date; order: 'ASC' | 'DESC' },
      args: PageArgs,
    ): Promise<Connection<ServiceCallRecord>> {
      range(a.from, a.to);
      const page = keysetPage(args);
      const key = (r: ServiceCallRecord) => `${r.requestedAt.getTime()}:${r.messageId}`;
      if (!canSeeProduct(p, a.productKey)) return toConnection<ServiceCallRecord>([], page, key, noRows);
      const asc_ = (a.order === 'ASC') === (page.direction === 'forward');
      const cursor = page.direction === 'forward' ? page.afterKey : page.beforeKey;
      let keyCond: SQL | undefined;
      if (cursor != null) {
        const [t, id] = cursor.split(':');
        if (!t || !/^\d+$/.test(t) || !id) throw new DomainError('INVALID_CURSOR', 'invalid cursor', ['after']);
        const ts = new Date(Number(t)).toISOString();
        keyCond = asc_ ? sql`(${commands.requestedAt}, ${commands.messageId}) > (${ts}::timestamptz, ${id})` : sql`(${commands.requestedAt}, ${commands.messageId}) < (${ts}::timestamptz, ${id})`;
      }
      const filters = and(
        eq(commands.productKey, a.productKey),
        eq(commands.deviceName, a.deviceName),
        sql`${commands.kind} in ('SERVICE', 'PROPERTY_SET')`,
        gte(commands.requestedAt, a.from),
        lte(commands.requestedAt, a.to),
        a.identifier ? eq(commands.identifier, a.identifier) : undefined,
      );
      const rows = await db
        .select()
        .from(commands)
        .where(and(filters, keyCond))
        .orderBy(...(asc_ ? [asc(commands.requestedAt), asc(commands.messageId)] : [desc(commands.requestedAt), desc(commands.messageId)]))
        .limit(page.limit + 1);
      return toConnection(
        rows.map((r) => ({
          messageId: r.messageId,
          identifier: r.identifier ?? '',
          callType: r.callType ?? 'ASYNC',
          input: r.input,
          output: r.output,
          code: r.code,
          status: r.status,
          requestedAt: r.requestedAt,
          repliedAt: r.repliedAt,
        })),
        page,
        key,
        () => db.$count(commands, filters),
      );
    },

    /**
     * Time buckets for charts: `date_bin` over the device-time index range, numeric aggregates over the numeric view
     * of the values, FIRST/LAST as values. Empty buckets are omitted.
     */
    async propertySeries(
      p: Principal,
      a: { productKey: string; deviceName: string; identifier: string; from: Date; to: Date; interval: string },
    ): Promise<SeriesBucket[]> {
      range(a.from, a.to);
      const seconds = parseInterval(a.interval);
      if ((a.to.getTime() - a.from.getTime()) / 1000 / seconds > MAX_BUCKETS) {
        throw new DomainError('TOO_MANY_BUCKETS', `at most ${MAX_BUCKETS} buckets per series; use a wider interval`, ['interval']);
      }
      const d = await device(p, a.productKey, a.deviceName);
      if (!d) return [];
      type Row = { start: string | Date; count: string | number; avg: number | null; min: number | null; max: number | null; sum: number | null; first: unknown; last: unknown };
      const from = a.from.toISOString();
      const to = a.to.toISOString();
      const HOUR = 3_600_000;
      // Whole-hour buckets starting on an hour: the complete hours come from the hourly rollup (one row per hour,
      // maintained at ingest), only the last, partial hour from the raw points.
      const wholeHours = Math.floor((a.to.getTime() - a.from.getTime() + 1) / HOUR);
      const useRollup = seconds % 3600 === 0 && a.from.getTime() % HOUR === 0 && wholeHours > 0;
      const rows = useRollup
        ? await query<Row>(
            db,
            sql`with hours as (
                  select hour, cnt, num_cnt, sum, min, max, first_ts, first, last_ts, last from ${propertyHourly}
                  where device_id = ${d.id} and identifier = ${a.identifier}
                    and hour >= ${from}::timestamptz and hour < ${new Date(a.from.getTime() + wholeHours * HOUR).toISOString()}::timestamptz
                  union all
                  select date_bin('1 hour', ts, ${from}::timestamptz), count(*), count(num), sum(num), min(num), max(num),
                         min(ts), (array_agg(value order by ts, id))[1], max(ts), (array_agg(value order by ts desc, id desc))[1]
                  from ${propertyHistory}
                  where device_id = ${d.id} and identifier = ${a.identifier}
                    and ts >= ${new Date(a.from.getTime() + wholeHours * HOUR).toISOString()}::timestamptz and ts <= ${to}::timestamptz
                  group by 1
                )
                select date_bin(make_interval(secs => ${seconds}), hour, ${from}::timestamptz) as start,
                       sum(cnt) as count, sum(sum) / nullif(sum(num_cnt), 0) as avg, min(min) as min, max(max) as max, sum(sum) as sum,
                       (array_agg(first order by first_ts, hour))[1] as first,
                       (array_agg(last order by last_ts desc, hour desc))[1] as last
                from hours group by 1 order by 1`,
          )
        : await query<Row>(
            db,
            sql`select date_bin(make_interval(secs => ${seconds}), ts, ${from}::timestamptz) as start,
                   count(*) as count, avg(num) as avg, min(num) as min, max(num) as max, sum(num) as sum,
                   (array_agg(value order by ts, id))[1] as first,
                   (array_agg(value order by ts desc, id desc))[1] as last
            from ${propertyHistory}
            where device_id = ${d.id} and identifier = ${a.identifier}
              and ts >= ${from}::timestamptz and ts <= ${to}::timestamptz
            group by 1 order by 1`,
          );
      const num = (v: unknown) => (v == null ? null : Number(v));
      return rows.map((r) => ({
        start: new Date(r.start),
        count: Number(r.count),
        avg: num(r.avg),
        min: num(r.min),
        max: num(r.max),
        sum: num(r.sum),
        first: typeof r.first === 'string' && deps.database.kind === 'postgres' ? safeJson(r.first) : r.first,
        last: typeof r.last === 'string' && deps.database.kind === 'postgres' ? safeJson(r.last) : r.last,
      }));
    },

    /** Retention (HISTORY_RETENTION_DAYS): delete in small batches so the tables stay available. */
    async prune(cutoff: Date, batchSize = 5000): Promise<number> {
      let total = 0;
      for (const t of [propertyHistory, eventHistory]) {
        for (;;) {
          const rows = await query<{ n: number }>(
            db,
            sql`with gone as (delete from ${t} where id in (select id from ${t} where received_at < ${cutoff.toISOString()}::timestamptz limit ${batchSize}) returning 1) select count(*)::int as n from gone`,
          );
          const n = Number(rows[0]?.n ?? 0);
          total += n;
          if (n < batchSize) break;
        }
      }
      for (;;) {
        const rows = await query<{ n: number }>(
          db,
          sql`with gone as (delete from ${commands} where message_id in (select message_id from ${commands} where requested_at < ${cutoff.toISOString()}::timestamptz limit ${batchSize}) returning 1) select count(*)::int as n from gone`,
        );
        const n = Number(rows[0]?.n ?? 0);
        total += n;
        if (n < batchSize) break;
      }
      // Rollup hours wholly before the cutoff go with their raw points.
      await db.delete(propertyHourly).where(lt(propertyHourly.hour, new Date(cutoff.getTime() - 3600_000)));
      await db.delete(ingestDedupe).where(lt(ingestDedupe.seenAt, new Date(Date.now() - 2 * 3600_000)));
      return total;
    },
  };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

export type HistoryService = ReturnType<typeof createHistoryService>;
