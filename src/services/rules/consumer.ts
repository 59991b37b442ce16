import type { Database } from '../../db/client.ts';
import { acquireConsumerLease, commitConsumerPosition, releaseConsumerLease } from '../../db/repositories/consumers.ts';

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
    acquire: (name: string, startAt: number): Promise<number | null> =>
      acquireConsumerLease(db, { name, startAt, owner: instanceId, leaseMs: LEASE_MS }),

    /** Record progress and renew the lease; false when the lease was lost (stop processing). */
    commit: (name: string, position: number): Promise<boolean> =>
      commitConsumerPosition(db, { name, position, owner: instanceId, leaseMs: LEASE_MS }),

    release: (name: string): Promise<void> => releaseConsumerLease(db, name, instanceId),
  };
}

export type ConsumerStore = ReturnType<typeof createConsumerStore>;
