import { and, eq, sql } from 'drizzle-orm';
import { query, type Executor } from '../client.ts';
import { consumers } from '../tables.ts';

/**
 * Event-log consumers: a persisted position and a lease held by one instance (`owner`) until `leaseMs` from now.
 */

/** Take (or keep) the lease; the position to resume after, or null when another owner holds it. */
export async function acquireConsumerLease(
  ex: Executor,
  c: { name: string; startAt: number; owner: string; leaseMs: number },
): Promise<number | null> {
  const rows = await query<{ position: string | number }>(
    ex,
    sql`insert into ${consumers} (name, position, owner, lease_until) values (${c.name}, ${c.startAt}, ${c.owner}, now() + ${`${c.leaseMs} milliseconds`}::interval)
        on conflict (name) do update set owner = excluded.owner, lease_until = excluded.lease_until, updated_at = now()
        where ${consumers.owner} is null or ${consumers.owner} = ${c.owner} or ${consumers.leaseUntil} < now()
        returning position`,
  );
  return rows[0] ? Number(rows[0].position) : null;
}

/** Record progress and renew the lease; false when `owner` no longer holds it. */
export async function commitConsumerPosition(
  ex: Executor,
  c: { name: string; position: number; owner: string; leaseMs: number },
): Promise<boolean> {
  const rows = await ex
    .update(consumers)
    .set({
      position: sql`greatest(${consumers.position}, ${c.position})`,
      leaseUntil: sql`now() + ${`${c.leaseMs} milliseconds`}::interval`,
      updatedAt: new Date(),
    })
    .where(and(eq(consumers.name, c.name), eq(consumers.owner, c.owner)))
    .returning({ name: consumers.name });
  return rows.length > 0;
}

export async function releaseConsumerLease(ex: Executor, name: string, owner: string): Promise<void> {
  await ex
    .update(consumers)
    .set({ owner: null, leaseUntil: null })
    .where(and(eq(consumers.name, name), eq(consumers.owner, owner)));
}

/** Create or move the consumer to the head of the event log (it sees only what is committed after). */
export async function moveConsumerToHead(ex: Executor, name: string): Promise<void> {
  const head = sql`(select coalesce(max(position), 0) from events)`;
  await ex
    .insert(consumers)
    .values({ name, position: head as unknown as number })
    .onConflictDoUpdate({
      target: consumers.name,
      set: { position: head as unknown as number, updatedAt: new Date() },
    });
}
