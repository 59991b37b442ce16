import type { Tx } from '../db/client.ts';
import type { GroupCommitter } from '../events/committer.ts';
import type { NewEvent } from '../events/types.ts';
import type { Outbound, StepResult } from './ingest.ts';

/**
 * What an uplink handler decides, without running anything itself: events to store with the message, replies to send
 * once it is durable, and the reads and writes that must happen inside the commit (`inTx`: a version check, a state
 * machine). The same shape as the ingest handler table's `Handled` that the uplink restructuring introduces, so a
 * handler written this way moves there unchanged.
 */
export interface UplinkOutcome {
  events?: NewEvent[];
  replies?: Outbound[];
  /** Runs inside a commit; may run again when a grouped transaction is retried item by item, so it starts clean. */
  inTx?: (tx: Tx) => Promise<{ events?: NewEvent[]; replies?: Outbound[] } | void>;
  /** After the commit, before the replies go out: replies built from committed state (outside any transaction). */
  committed?: () => Promise<Outbound[] | void> | Outbound[] | void;
}

/**
 * The adapter to the current pipeline (services/ingest.ts): `inTx` is committed first, on its own (as the OTA handlers
 * do), then its replies join the outcome's, sent after the message itself is committed.
 */
export async function toStepResult(committer: GroupCommitter, o: UplinkOutcome): Promise<StepResult> {
  const after = [...(o.replies ?? [])];
  if (o.inTx) {
    const run = o.inTx;
    let replies: Outbound[] = [];
    await committer.submit(async (tx) => {
      const r = (await run(tx)) ?? {};
      replies = r.replies ?? [];
      return r.events ?? [];
    });
    after.push(...replies);
  }
  if (o.committed) after.push(...((await o.committed()) ?? []));
  return { events: o.events ?? [], after };
}
