import { DomainError } from '../domain/errors.ts';
import {
  countEventHistory,
  countPropertyHistory,
  countServiceCalls,
  listEventHistoryPage,
  listLatestProperties,
  listPropertyHistoryPage,
  listServiceCallsPage,
  propertySeriesBuckets,
  type EventRecord,
  type PropertyPoint,
  type SeriesRow,
  type ServiceCallRecord,
  type TimePage,
} from '../db/repositories/history.ts';
import { pruneHistory } from '../db/repositories/retention.ts';
import { canSeeProduct, type Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { findDevice } from '../db/repositories/devices.ts';
import { keysetPage, noRows, toConnection, type Connection, type KeysetPage, type PageArgs } from './paging.ts';
import type { DeviceRecord } from '../db/records.ts';

export type { EventRecord, PropertyPoint, ServiceCallRecord } from '../db/repositories/history.ts';

export type Aggregation = 'AVG' | 'MIN' | 'MAX' | 'SUM' | 'COUNT' | 'FIRST' | 'LAST';

export interface SeriesBucket extends Omit<SeriesRow, 'start' | 'count'> {
  start: Date;
  count: number;
}

/** `"1m"`, `"5m"`, `"1h"`, `"1d"`, `"30s"`, `"1w"`: a bucket width in seconds. */
export function parseInterval(s: string): number {
  const m = /^(\d{1,6})(s|m|h|d|w)$/.exec(s.trim());
  if (!m)
    throw new DomainError('INVALID_INTERVAL', `interval "${s}" must look like 30s, 5m, 1h, 1d or 1w`, ['interval']);
  const n = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's'];
  if (n < 1) throw new DomainError('INVALID_INTERVAL', 'interval must be at least 1s', ['interval']);
  return n;
}

/** Most buckets one series answer may hold: a chart never needs more, and the database is protected. */
export const MAX_BUCKETS = 10_000;

/** Cursor key of a history row: its time and id (keyset over the (device, identifier, ts, id) index). */
const keyOf = (r: { time: Date; id: number }) => `${r.time.getTime()}:${r.id}`;
const numericId = (id: string): number | null => (/^\d+$/.test(id) ? Number(id) : null);
const textId = (id: string): string => id;

/** The repository page of a history list in `order`: backward paging walks the opposite direction. */
function timePage<K>(page: KeysetPage, order: 'ASC' | 'DESC', parseId: (id: string) => K | null): TimePage<K> {
  const cursor = page.direction === 'forward' ? page.afterKey : page.beforeKey;
  let after: TimePage<K>['after'] = null;
  if (cursor != null) {
    const [t, id] = cursor.split(':');
    const key = t && id && /^\d+$/.test(t) ? parseId(id) : null;
    if (key === null) throw new DomainError('INVALID_CURSOR', 'invalid cursor', ['after']);
    after = { time: new Date(Number(t)), key };
  }
  return { after, ascending: (order === 'ASC') === (page.direction === 'forward'), limit: page.limit + 1 };
}

/** What every device history list is asked: the device, the time range and the order. */
interface DeviceHistoryArgs {
  productKey: string;
  deviceName: string;
  from: Date;
  to: Date;
  order: 'ASC' | 'DESC';
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
    if (!(from.getTime() <= to.getTime()))
      throw new DomainError('INVALID_RANGE', '`from` must not be after `to`', ['from']);
  }

  /** A Relay page of one device's history rows (none when the device is unknown or out of scope). */
  async function deviceHistory<F, R extends { time: Date; id: number }>(
    p: Principal,
    a: DeviceHistoryArgs,
    args: PageArgs,
    filterOf: (deviceId: number) => F,
    list: (ex: typeof db, f: F, page: TimePage<number>) => Promise<R[]>,
    count: (ex: typeof db, f: F) => Promise<number>,
  ): Promise<Connection<R>> {
    range(a.from, a.to);
    const page = keysetPage(args);
    const d = await device(p, a.productKey, a.deviceName);
    if (!d) return toConnection<R>([], page, keyOf, noRows);
    const filter = filterOf(d.id);
    const rows = await list(db, filter, timePage(page, a.order, numericId));
    return toConnection(rows, page, keyOf, () => count(db, filter));
  }

  return {
    latest: (deviceId: number): Promise<{ identifier: string; value: unknown; time: Date }[]> =>
      listLatestProperties(db, deviceId),

    propertyHistory: (
      p: Principal,
      a: DeviceHistoryArgs & { identifier: string },
      args: PageArgs,
    ): Promise<Connection<PropertyPoint>> =>
      deviceHistory(
        p,
        a,
        args,
        (deviceId) => ({ deviceId, identifier: a.identifier, from: a.from, to: a.to }),
        listPropertyHistoryPage,
        countPropertyHistory,
      ),

    eventHistory: (
      p: Principal,
      a: DeviceHistoryArgs & { identifier?: string | null; eventType?: string | null },
      args: PageArgs,
    ): Promise<Connection<EventRecord>> =>
      deviceHistory(
        p,
        a,
        args,
        (deviceId) => ({
          deviceId,
          identifier: a.identifier,
          eventType: a.eventType?.toLowerCase(),
          from: a.from,
          to: a.to,
        }),
        listEventHistoryPage,
        countEventHistory,
      ),

    /** QueryDeviceServiceData: service calls (and property sets, identifier `set`) with their outcome. */
    async serviceHistory(
      p: Principal,
      a: DeviceHistoryArgs & { identifier?: string | null },
      args: PageArgs,
    ): Promise<Connection<ServiceCallRecord>> {
      range(a.from, a.to);
      const page = keysetPage(args);
      const key = (r: ServiceCallRecord) => `${r.requestedAt.getTime()}:${r.messageId}`;
      if (!canSeeProduct(p, a.productKey)) return toConnection<ServiceCallRecord>([], page, key, noRows);
      const filter = {
        productKey: a.productKey,
        deviceName: a.deviceName,
        identifier: a.identifier,
        from: a.from,
        to: a.to,
      };
      const rows = await listServiceCallsPage(db, filter, timePage(page, a.order, textId));
      return toConnection(rows, page, key, () => countServiceCalls(db, filter));
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
        throw new DomainError('TOO_MANY_BUCKETS', `at most ${MAX_BUCKETS} buckets per series; use a wider interval`, [
          'interval',
        ]);
      }
      const d = await device(p, a.productKey, a.deviceName);
      if (!d) return [];
      const HOUR = 3_600_000;
      // Whole-hour buckets starting on an hour: the complete hours come from the hourly rollup.
      const wholeHours = Math.floor((a.to.getTime() - a.from.getTime() + 1) / HOUR);
      const useRollup = seconds % 3600 === 0 && a.from.getTime() % HOUR === 0 && wholeHours > 0;
      const rows = await propertySeriesBuckets(db, {
        deviceId: d.id,
        identifier: a.identifier,
        from: a.from,
        to: a.to,
        seconds,
        wholeHours: useRollup ? wholeHours : 0,
      });
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
    prune: (cutoff: Date, batchSize = 5000): Promise<number> => pruneHistory(db, cutoff, batchSize),
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
