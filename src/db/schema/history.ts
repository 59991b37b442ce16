import { bigint, doublePrecision, index, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { deviceId, timestampMs, timestampNow } from './columns.ts';

/**
 * Property values as posted (alink-protocol.md §3.3), one row per identifier per post. `ts` is the device time
 * (or the receive time when the post had none). `num` is the numeric view of the value used by series aggregation.
 * Pages are keyset-ordered by (ts, id) on the covering index, so a page is an index range scan at any table size.
 */
export const propertyHistory = pgTable(
  'property_history',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    deviceId: deviceId(),
    identifier: text('identifier').notNull(),
    ts: timestampMs('ts').notNull(),
    receivedAt: timestampNow('received_at'),
    value: jsonb('value').notNull(),
    num: doublePrecision('num'),
  },
  (t) => [
    index('property_history_dev_id_ts_idx').on(t.deviceId, t.identifier, t.ts, t.id),
    index('property_history_received_brin').using('brin', t.receivedAt),
  ],
);

/** The latest value of every property of a device (QueryDevicePropertyStatus), newest device time wins. */
export const propertyLatest = pgTable(
  'property_latest',
  {
    deviceId: deviceId(),
    identifier: text('identifier').notNull(),
    ts: timestampMs('ts').notNull(),
    value: jsonb('value').notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.identifier] })],
);

/** Events posted by devices (§3.6), with their TSL type and output. */
export const eventHistory = pgTable(
  'event_history',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    deviceId: deviceId(),
    identifier: text('identifier').notNull(),
    name: text('name').notNull(),
    eventType: text('event_type').notNull(),
    output: jsonb('output').notNull(),
    ts: timestampMs('ts').notNull(),
    receivedAt: timestampNow('received_at'),
  },
  (t) => [
    index('event_history_dev_ts_idx').on(t.deviceId, t.ts, t.id),
    index('event_history_received_brin').using('brin', t.receivedAt),
  ],
);

/**
 * Recently seen Alink request ids per device with a hash of their payload: a post the device resends after a crash
 * lost its PUBACK (committed, not acknowledged) is recognised and not stored twice.
 */
export const ingestDedupe = pgTable(
  'ingest_dedupe',
  {
    deviceId: deviceId(),
    requestKey: text('request_key').notNull(),
    hash: text('hash').notNull(),
    seenAt: timestampNow('seen_at'),
  },
  (t) => [
    primaryKey({ columns: [t.deviceId, t.requestKey] }),
    index('ingest_dedupe_seen_brin').using('brin', t.seenAt),
  ],
);
