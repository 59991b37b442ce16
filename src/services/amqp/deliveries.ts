import type { Database } from '../../db/client.ts';
import {
  advanceGroupCursor,
  findEventsAt,
  findGroupCursor,
  pruneSettledDeliveries,
  reclaimDue,
  recordOutcomesAndClaim,
  releaseDeliveries,
  settleDeliveries,
  unclaimDeliveries,
  type ClaimStep,
  type DeliveryEventRow,
  type ReclaimedRow,
} from '../../db/repositories/amqp-deliveries.ts';
import type { EventType, StoredEvent } from '../../events/types.ts';

export type StepInput = Omit<ClaimStep, 'groupId' | 'owner' | 'ackTimeoutMs'>;

export interface StepRow extends StoredEvent {
  /** This call claimed it for sending now (else it was claimed elsewhere, is waiting for a client, or is too old). */
  claimed: boolean;
  expired: boolean;
}

export type Reclaimed = ReclaimedRow;

const toStoredEvent = <R extends DeliveryEventRow>(r: R): Omit<R, 'type'> & { type: EventType } => ({
  ...r,
  type: r.type as EventType,
});

/**
 * This instance's view of the shared in-flight table (cloud-api.md §7.5): claims are made as `instanceId` and hold for
 * the ack timeout.
 */
export function createDeliveryStore(database: Database, instanceId: string, ackTimeoutMs: number) {
  const db = database.db;
  return {
    cursor: (groupId: string): Promise<number | null> => findGroupCursor(db, groupId),

    /** One round trip per pump: record outcomes, then read and claim the next subscribed events. */
    async step(groupId: string, input: StepInput): Promise<StepRow[]> {
      const rows = await recordOutcomesAndClaim(db, { ...input, groupId, owner: instanceId, ackTimeoutMs });
      return rows.map(toStoredEvent);
    },

    /** Rows due for (re)delivery, claimed for this instance, oldest first. */
    reclaim: (groupId: string, productKeys: readonly string[] | null, limit: number): Promise<Reclaimed[]> =>
      reclaimDue(db, { groupId, owner: instanceId, ackTimeoutMs, productKeys, limit }),

    /** Gives back a row not sent after all (no client had credit left): it keeps its attempt count. */
    unclaim: (groupId: string, positions: readonly number[]): Promise<void> =>
      unclaimDeliveries(db, groupId, instanceId, positions),

    settle: (groupId: string, positions: readonly number[]): Promise<void> => settleDeliveries(db, groupId, positions),

    /** Makes deliveries redeliverable at once (released, modified, link lost), unless they were sent again since. */
    release: (groupId: string, items: readonly { position: number; attempt: number }[]): Promise<void> =>
      releaseDeliveries(db, groupId, instanceId, items),

    /** The cursor moves over the contiguous settled prefix, up to `scanned`. */
    advance: (groupId: string, scanned: number): Promise<number | null> => advanceGroupCursor(db, groupId, scanned),

    prune: (): Promise<void> => pruneSettledDeliveries(db),

    async eventsAt(positions: readonly number[]): Promise<Map<number, StoredEvent>> {
      const rows = await findEventsAt(db, positions);
      return new Map([...rows].map(([p, r]) => [p, toStoredEvent(r)]));
    },
  };
}

export type DeliveryStore = ReturnType<typeof createDeliveryStore>;
