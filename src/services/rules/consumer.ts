import { and, eq, sql } from 'drizzle-orm';
import { query, type Database } from '../../db/client.ts';
import { consumers } from '../../db/tables.ts';

/** How long a consumer's lease lasts; the holder renews it well before. */
export const LEASE_MS = 30_000;

/**
 * Event-log consumers with a persisted position and a lease, so that exactly one instance runs each consumer at a
 * time and a restart resumes where the last acknowledged work ended (at-least-once).
 */
export function createConsumerStore(database: Database, instanceId: string) {
  const db = database.db;
  return {
    /** Take (or keep) the lease; returns the position to resume after, or null when another instance holds it. */
    async acquire(name: string, startAt: number): Promise<number | null> {
      const rows = await query<{ position: string | number }>(
        db,
        sql`insert into ${consumers} (name, position, owner, lease_until) values (${name}, ${startAt}, ${instanceId}, now() + ${`${LEASE_MS} milliseconds`}::interval)
            on conflict (name) do update set owner = excluded.owner, lease_until = excluded.lease_until, updated_at = now()
            where ${consumers.owner} is null or ${consumers.owner} = ${instanceId} or ${consumers.leaseUntil} < now()
            returning position`,
      );
      return rows[0] ? Number(rows[0].position) : null;
    },

    /** Record progress and renew the lease; false when the lease was lost (stop processing). */
    async commit(name: string, position: number): Promise<boolean> {
      const rows = await db
        .update(consumers)
        .set({ position: sql`greatest(${consumers.position}, ${position})`, leaseUntil: sql`now() + ${`${LEASE_MS} milliseconds`}::interval`, updatedAt: new Date() })
        .where(and(eq(consumers.name, name), eq(consumers.owner, instanceId)))
        .returning({ name: consumers.name });
      return rows.length > 0;
    },

    async release(name: string): Promise<void> {
      await db.update(consumers).set({ owner: null, leaseUntil: null }).where(and(eq(consumers.name, name), eq(consumers.owner, instanceId)));
    },
  };
}

export type ConsumerStore = ReturnType<typeof createConsumerStore>;
