import { bigint, doublePrecision, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { deviceId, timestampMs } from './columns.ts';

/**
 * Hourly rollup of property_history, maintained in the same commit as the raw rows (services/ingest/sinks.ts):
 * devicePropertySeries with a whole-hour interval reads one row per hour instead of every point (30 days = 720 rows
 * instead of ~1 M). `cnt` counts values, `num_cnt` numeric ones (avg = sum / num_cnt); first/last are the values at
 * the earliest and latest device time of the hour (ties: first stored wins first, last stored wins last), like the
 * raw query's (ts, id) order. Updates touch no indexed column, so they are HOT (no new index entries).
 */
export const propertyHourly = pgTable(
  'property_hourly',
  {
    deviceId: deviceId(),
    identifier: text('identifier').notNull(),
    hour: timestampMs('hour').notNull(),
    cnt: bigint('cnt', { mode: 'number' }).notNull(),
    numCnt: bigint('num_cnt', { mode: 'number' }).notNull(),
    sum: doublePrecision('sum'),
    min: doublePrecision('min'),
    max: doublePrecision('max'),
    firstTs: timestampMs('first_ts').notNull(),
    first: jsonb('first').notNull(),
    lastTs: timestampMs('last_ts').notNull(),
    last: jsonb('last').notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.identifier, t.hour] })],
);
