import { sql } from 'drizzle-orm';
import { timestamp } from 'drizzle-orm/pg-core';

/** Column helpers shared by the tables: every time is a `timestamptz(3)`. */

/** A `timestamptz(3)` column (nullable unless chained with `.notNull()`). */
export const timestampMs = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

/** A non-null `timestamptz(3)` column that defaults to the time of the insert. */
export const timestampNow = (name: string) => timestampMs(name).notNull().default(sql`now()`);

/** `created_at`, set at insert. */
export const createdAt = () => timestampNow('created_at');

/** `updated_at`, set at insert (writers set it on update). */
export const updatedAt = () => timestampNow('updated_at');
