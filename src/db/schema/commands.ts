import { index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { productKey, timestampMs, timestampNow } from './columns.ts';

/**
 * Every cloud-to-device command (architecture.md "Commands have one lifecycle"): recorded before it is sent, matched
 * with its reply (or timeout) by message id, whichever instance the device is connected to.
 */
export const commands = pgTable(
  'commands',
  {
    messageId: text('message_id').primaryKey(),
    /** PUB, RRPC, BROADCAST, PROPERTY_SET, SERVICE */
    kind: text('kind').notNull(),
    productKey: productKey(),
    /** null for broadcasts */
    deviceName: text('device_name'),
    topic: text('topic').notNull(),
    /** service identifier (SERVICE), `set` for PROPERTY_SET */
    identifier: text('identifier'),
    callType: text('call_type'),
    input: jsonb('input'),
    /** SENT, OFFLINE, REPLIED, TIMEOUT */
    status: text('status').notNull(),
    code: integer('code'),
    output: jsonb('output'),
    /** The raw reply payload (RRPC), base64. */
    replyPayload: text('reply_payload'),
    requestedAt: timestampNow('requested_at'),
    repliedAt: timestampMs('replied_at'),
  },
  (t) => [
    index('commands_device_time_idx').on(t.productKey, t.deviceName, t.requestedAt),
    index('commands_requested_brin').using('brin', t.requestedAt),
  ],
);
