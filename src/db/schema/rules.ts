import { bigint, bigserial, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, timestampMs, updatedAt } from './columns.ts';

/** Rules of the rules engine (alink-protocol.md §5.5). Each running rule is an event-log consumer (`consumers`). */
export const rules = pgTable('rules', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
  description: text('description'),
  sql: text('sql').notNull(),
  /** RUNNING or STOPPED */
  status: text('status').notNull().default('STOPPED'),
  /** [{ type, configuration, errorAction }] */
  actions: jsonb('actions').notNull(),
  lastError: text('last_error'),
  lastErrorAt: timestampMs('last_error_at'),
  matched: bigint('matched', { mode: 'number' }).notNull().default(0),
  delivered: bigint('delivered', { mode: 'number' }).notNull().default(0),
  failed: bigint('failed', { mode: 'number' }).notNull().default(0),
  deadLettered: bigint('dead_lettered', { mode: 'number' }).notNull().default(0),
  /** Products the rule may write to: those of the key that made or last changed it; null = every product. */
  scopeProductKeys: jsonb('scope_product_keys').$type<string[] | null>(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** Deliveries that failed after their retries; listed and re-driven through GraphQL. */
export const deadLetters = pgTable(
  'dead_letters',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    ruleId: bigint('rule_id', { mode: 'number' }).notNull(),
    actionIndex: integer('action_index').notNull(),
    /** Idempotency key of the delivery: `${ruleId}:${eventPosition}:${actionIndex}`. */
    deliveryKey: text('delivery_key').notNull(),
    eventPosition: bigint('event_position', { mode: 'number' }).notNull(),
    topic: text('topic').notNull(),
    output: jsonb('output').notNull(),
    error: text('error').notNull(),
    attempts: integer('attempts').notNull(),
    createdAt: createdAt(),
    redrivenAt: timestampMs('redriven_at'),
  },
  (t) => [index('dead_letters_rule_idx').on(t.ruleId, t.id)],
);

/**
 * Event-log consumers (a rule, the topic router): `position` is the last event fully handled, so a restart neither
 * loses nor re-runs acknowledged work beyond at-least-once. One instance at a time holds a consumer's lease.
 */
export const consumers = pgTable('consumers', {
  name: text('name').primaryKey(),
  position: bigint('position', { mode: 'number' }).notNull(),
  owner: text('owner'),
  leaseUntil: timestampMs('lease_until'),
  updatedAt: updatedAt(),
});

/** M2M topic routing (CreateTopicRouteTable, alink-protocol.md §5.1). */
export const topicRoutes = pgTable(
  'topic_routes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    srcTopic: text('src_topic').notNull(),
    dstTopic: text('dst_topic').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('topic_routes_src_dst_uq').on(t.srcTopic, t.dstTopic)],
);
