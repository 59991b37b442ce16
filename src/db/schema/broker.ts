import {
  bigint,
  boolean,
  bytea,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
} from 'drizzle-orm/pg-core';
import { clientId, createdAt, updatedAt } from './columns.ts';

/**
 * Durable aedes state (src/broker/persistence/): what aedes-persistence keeps in memory, kept here instead so that
 * persistent sessions (`clean: false`, the Link SDK default) survive a restart and move between instances.
 *
 * Packets are stored as `packet` (every field but the payload, JSON; Buffers inside MQTT 5 properties are tagged)
 * plus `payload` (bytea, byte for byte) and `payload_is_string` (aedes passes string payloads through as strings).
 */

/** Subscriptions of persistent sessions. QoS > 0 rows are also held in an in-memory Qlobber for topic matching. */
export const mqttSubscriptions = pgTable(
  'mqtt_subscriptions',
  {
    clientId: clientId(),
    topic: text('topic').notNull(),
    qos: smallint('qos').notNull(),
    /** MQTT 5 retain handling (0-2), retain as published, no local; null when the SUBSCRIBE did not carry them. */
    rh: smallint('rh'),
    rap: boolean('rap'),
    nl: boolean('nl'),
    subscriptionIdentifier: integer('subscription_identifier'),
    /** Insertion order: subscriptionsByClient returns subscriptions in the order they were first made. */
    seq: bigint('seq', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.clientId, t.topic] }), index('mqtt_subscriptions_topic_idx').on(t.topic)],
);

/** Retained messages, one per topic. */
export const mqttRetained = pgTable(
  'mqtt_retained',
  {
    topic: text('topic').primaryKey(),
    packet: jsonb('packet').notNull(),
    payload: bytea('payload'),
    payloadIsString: boolean('payload_is_string').notNull().default(false),
    updatedAt: updatedAt(),
  },
  // Wildcard lookups narrow to the literal prefix of the filter with `~>=~`/`~<~` (byte order, any collation).
  (t) => [index('mqtt_retained_topic_prefix_idx').using('btree', t.topic.op('text_pattern_ops'))],
);

/** Offline/in-flight QoS 1 and 2 deliveries, one row per subscription; `id` is the queue order. */
export const mqttOutgoing = pgTable(
  'mqtt_outgoing',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    clientId: clientId(),
    brokerId: text('broker_id'),
    brokerCounter: bigint('broker_counter', { mode: 'number' }),
    /** Assigned when the packet is (re)sent; null while it waits. */
    messageId: integer('message_id'),
    packet: jsonb('packet').notNull(),
    payload: bytea('payload'),
    payloadIsString: boolean('payload_is_string').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    index('mqtt_outgoing_client_idx').on(t.clientId, t.id),
    index('mqtt_outgoing_client_message_idx').on(t.clientId, t.messageId),
  ],
);

/** Incoming QoS 2 publishes awaiting PUBREL (exactly-once dedup, [MQTT-4.3.3-2]). */
export const mqttIncoming = pgTable(
  'mqtt_incoming',
  {
    clientId: clientId(),
    messageId: integer('message_id').notNull(),
    packet: jsonb('packet').notNull(),
    payload: bytea('payload'),
    payloadIsString: boolean('payload_is_string').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.clientId, t.messageId] })],
);

/** Last wills of connected clients, with the broker that holds the connection (published by another if it dies). */
export const mqttWills = pgTable('mqtt_wills', {
  clientId: text('client_id').primaryKey(),
  brokerId: text('broker_id').notNull(),
  packet: jsonb('packet').notNull(),
  payload: bytea('payload'),
  payloadIsString: boolean('payload_is_string').notNull().default(false),
  createdAt: createdAt(),
});
