import { sql } from 'drizzle-orm';
import { bigint, jsonb, pgTable } from 'drizzle-orm/pg-core';
import { devices } from './devices.ts';
import { updatedAt } from './columns.ts';

/**
 * The device shadow (alink-protocol.md §2.4 `/shadow/...`, domain/alink/shadow.ts): one JSON document per device with
 * `reported` and `desired` sections, per-attribute metadata and a version. Deleted with its device.
 */
export const deviceShadows = pgTable('device_shadows', {
  deviceId: bigint('device_id', { mode: 'number' })
    .primaryKey()
    .references(() => devices.id, { onDelete: 'cascade' }),
  version: bigint('version', { mode: 'number' }).notNull().default(0),
  reported: jsonb('reported').notNull().default(sql`'{}'::jsonb`),
  desired: jsonb('desired').notNull().default(sql`'{}'::jsonb`),
  metadata: jsonb('metadata').notNull().default(sql`'{"reported":{},"desired":{}}'::jsonb`),
  updatedAt: updatedAt(),
});
