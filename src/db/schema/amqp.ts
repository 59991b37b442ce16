import { bigint, bigserial, boolean, index, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { createdAt, productKey, timestampMs, updatedAt } from './columns.ts';

/**
 * AMQP server-side subscription (cloud-api.md §7.4, §7.5). A consumer group is the unit of delivery; `position` is its
 * cursor in the event log: everything at or below it is settled for the group.
 */
export const consumerGroups = pgTable('consumer_groups', {
  groupId: text('group_id').primaryKey(),
  /** Relay node id. */
  id: bigserial('id', { mode: 'number' }).notNull().unique(),
  name: text('name').notNull(),
  position: bigint('position', { mode: 'number' }).notNull(),
  createdAt: createdAt(),
});

/** One subscribe relation per product (its consumer groups and message types are in `subscriptionEntries`). */
export const subscribeRelations = pgTable('subscribe_relations', {
  productKey: text('product_key').primaryKey(),
  id: bigserial('id', { mode: 'number' }).notNull().unique(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * (product, group, message type) of a relation, each with the log position it took effect at: a new relation, group or
 * type sees only events committed after it (§7.4: no replay), while unchanged entries keep their start.
 */
export const subscriptionEntries = pgTable(
  'subscription_entries',
  {
    productKey: productKey(),
    groupId: text('group_id').notNull(),
    messageType: text('message_type').notNull(),
    sincePosition: bigint('since_position', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.productKey, t.groupId, t.messageType] }),
    index('subscription_entries_group_idx').on(t.groupId),
  ],
);

/**
 * Deliveries above a group's cursor (§7.5). The primary key keeps a message in flight to one client at a time across
 * instances (claims insert with conflict-do-nothing; re-claims update rows whose deadline passed). A row with a past
 * deadline and no outcome is waiting for (re)delivery: released, timed out, lost with its connection, or not yet
 * visible to any connected client (§7.6).
 */
export const amqpDeliveries = pgTable(
  'amqp_deliveries',
  {
    groupId: text('group_id').notNull(),
    position: bigint('position', { mode: 'number' }).notNull(),
    productKey: text('product_key'),
    owner: text('owner'),
    clientId: text('client_id'),
    /** Times sent (0: claimed but not sent yet). */
    attempts: integer('attempts').notNull().default(0),
    deadline: timestampMs('deadline').notNull(),
    settled: boolean('settled').notNull().default(false),
    settledAt: timestampMs('settled_at'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.groupId, t.position] }),
    index('amqp_deliveries_open_idx').on(t.groupId, t.settled, t.deadline),
  ],
);
