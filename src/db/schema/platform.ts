import { bigint, bigserial, index, jsonb, pgSequence, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, timestampMs, timestampNow, updatedAt } from './columns.ts';

export const apiKeys = pgTable('api_keys', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
  role: text('role').notNull(),
  /** null: every product; otherwise the only product keys this key may see. */
  productKeys: text('product_keys').array(),
  /** SHA-256 of the token (tokens are 256-bit random, so a fast hash is the right tool). */
  tokenHash: text('token_hash').notNull().unique(),
  tokenPrefix: text('token_prefix').notNull(),
  createdAt: createdAt(),
  revokedAt: timestampMs('revoked_at'),
});

/** Small key/value store for platform-wide state: admin token hash, secret key, event-log retention floor. */
export const platformState = pgTable('platform_state', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: updatedAt(),
});

/**
 * The commit-ordered event log (architecture.md §1). `position` comes from `event_position_seq`, drawn only while the
 * appending transaction holds the event-log advisory lock, so positions become visible in order: a reader never sees
 * position n+1 committed while n may still commit.
 */
export const eventPositionSeq = pgSequence('event_position_seq', { startWith: 1, increment: 1 });

export const events = pgTable(
  'events',
  {
    position: bigint('position', { mode: 'number' }).primaryKey(),
    type: text('type').notNull(),
    productKey: text('product_key'),
    deviceName: text('device_name'),
    data: jsonb('data').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('events_created_brin').using('brin', t.createdAt),
    index('events_type_pk_pos_idx').on(t.type, t.productKey, t.position),
  ],
);

/** D17: platform message ids, handed out to instances in blocks (hi/lo), so they are unique and increase per instance. */
export const messageIdSeq = pgSequence('message_id_seq', { startWith: 1, increment: 1 });

/** Running instances and their heartbeats: devices held by an instance that stopped beating are set offline. */
export const instances = pgTable('instances', {
  id: text('id').primaryKey(),
  startedAt: timestampNow('started_at'),
  heartbeatAt: timestampNow('heartbeat_at'),
  stoppedAt: timestampMs('stopped_at'),
});
