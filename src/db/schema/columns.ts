import { sql } from 'drizzle-orm';
import { bigint, text, timestamp } from 'drizzle-orm/pg-core';

/** Column helpers shared by the tables: every time is a `timestamptz(3)`. */

/** A `timestamptz(3)` column (nullable unless chained with `.notNull()`). */
export const timestampMs = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

/** A non-null `timestamptz(3)` column that defaults to the time of the insert. */
export const timestampNow = (name: string) => timestampMs(name).notNull().default(sql`now()`);

/** `created_at`, set at insert. */
export const createdAt = () => timestampNow('created_at');

/** `updated_at`, set at insert (writers set it on update). */
export const updatedAt = () => timestampNow('updated_at');

/** `device_id`: the device a row belongs to (`devices.id`). */
export const deviceId = () => bigint('device_id', { mode: 'number' }).notNull();

/** `product_key`: the product a row belongs to. */
export const productKey = () => text('product_key').notNull();

/** `client_id`: the MQTT client id of a persistent session's row. */
export const clientId = () => text('client_id').notNull();
