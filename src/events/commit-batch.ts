import type { Database, Tx } from '../db/client.ts';
import { CommitTimeout } from './commit-errors.ts';
import { StepGroups, type CommitStep, type StepRun } from './commit-steps.ts';
import type { EventLog } from './log.ts';
import type { NewEvent, StoredEvent } from './types.ts';

/** One unit of work whose writes need the transaction itself (presence); returns the events to append. */
export type CommitWork = (tx: Tx) => Promise<NewEvent[]>;

/** Rows for the batch sinks (multi-row inserts, one statement per sink per transaction). */
export type SinkRows = Record<string, unknown[]>;

export type { CommitStep, StepRun };

/**
 * One unit of ingest work. Either `work` (statements of its own), `build` (rows for the sinks and events, no
 * round trip of its own) or `step` (its part of a statement shared with the batch's other items of that step). With `dedupe`, an item whose key was committed recently with the same payload hash is a
 * duplicate (a resend after a lost PUBACK): `build(true)` then adds nothing to history.
 */
export interface CommitItem {
  work?: CommitWork;
  step?: CommitStep;
  dedupe?: { deviceId: number; key: string; hash: string };
  build?: (duplicate: boolean) => { events: NewEvent[]; rows?: SinkRows };
  /** Memory the item holds until committed (payload copies, parsed values): counted against `maxQueueBytes`. */
  bytes?: number;
}

export interface CommitOutcome {
  events: StoredEvent[];
  duplicate: boolean;
}

export type SinkFlush = (tx: Tx, rows: unknown[]) => Promise<void>;

/** Returns the keys (`${deviceId}:${key}`) that are NOT duplicates, recording them. */
export type DedupeFlush = (tx: Tx, keys: { deviceId: number; key: string; hash: string }[]) => Promise<Set<string>>;

/** What a committed batch hands on: its stored events, each item's share of them, and which items were resends. */
export interface Settlement {
  stored: StoredEvent[];
  perItem: NewEvent[][];
  duplicates: boolean[];
  /** The optimistic attempt found a resend of a committed message, and the batch ran again with the check first. */
  ranAgain: boolean;
}

/** What one batch's transaction uses: the committer's registered sinks, steps and dedupe, and its deadline. */
export interface BatchContext {
  database: Database;
  log: EventLog;
  sinks: ReadonlyMap<string, SinkFlush>;
  steps: ReadonlyMap<string, StepRun>;
  dedupeFlush: DedupeFlush | null;
  /** Send the dedupe check with the other statements (below); false: a round trip ahead of them. */
  optimisticDedupe: boolean;
  timeoutMs: number;
}

/**
 * The dedupe check of an optimistic attempt found a key it had taken as new already recorded (a resend whose copy was
 * committed before): that attempt's transaction rolls back and the batch runs again with the check first.
 */
class ResendFound extends Error {
  constructor() {
    super('a resend in the batch: run again with the dedupe check first');
  }
}

/**
 * Everything one transaction does for a batch: dedupe, per-item work, sink rows, then the events (last). Past the
 * commit deadline the batch fails, and the transaction, should it get going after all, rolls back before the next
 * step. Only a COMMIT already sent can still complete: then the items are stored without being acknowledged, as when
 * a connection is lost during its COMMIT, and the devices' resends are recognised as duplicates (dedupe).
 *
 * The dedupe check is optimistic: it goes out with the batch's other statements, not a round trip ahead of them, and
 * every item is built as new but for a second copy within the batch. Resends of committed messages are rare (a device
 * that lost a PUBACK): when the check's answer names one, the transaction rolls back and the batch runs again with the
 * check first, so nothing is stored twice.
 */
export async function runBatch(
  ctx: BatchContext,
  batch: readonly CommitItem[],
  onAppended?: () => void,
): Promise<Settlement> {
  const perItem: NewEvent[][] = [];
  const duplicates: boolean[] = [];
  const { timeoutMs } = ctx;
  let abandoned = false;
  const going = () => {
    if (abandoned) throw new CommitTimeout(timeoutMs);
  };
  const attempt = (optimistic: boolean) =>
    ctx.database.db.transaction(async (tx) => {
      going();
      perItem.length = 0;
      duplicates.length = 0;
      const keys = batch.flatMap((item) => (item.dedupe ? [item.dedupe] : []));
      const check = keys.length > 0 && ctx.dedupeFlush ? ctx.dedupeFlush(tx, keys) : null;
      // Optimistic: its answer is read once the batch's statements are on their way (below).
      if (optimistic) check?.catch(() => {});
      const fresh = check && !optimistic ? await check : null;
      // A resend can land in the same batch as its original (the device reconnected while the first copy was still
      // waiting for this commit): the database sees the key once, so only the first copy in the batch is new.
      const inBatch = new Set<string>();
      const rows = new Map<string, unknown[]>();
      const steps = new StepGroups(ctx.steps, tx);
      for (const item of batch) {
        let dup = false;
        if (check !== null && item.dedupe !== undefined) {
          const { deviceId, key, hash } = item.dedupe;
          const copy = `${deviceId}:${key}:${hash}`;
          dup = (fresh !== null && !fresh.has(`${deviceId}:${key}`)) || inBatch.has(copy);
          inBatch.add(copy);
        }
        duplicates.push(dup);
        const events: NewEvent[] = [];
        going();
        if (item.step) await steps.add(item.step, events);
        if (item.work) {
          // Its statements see every earlier item's effects, as if each had run alone.
          await steps.flush();
          going();
          events.push(...(await item.work(tx)));
        }
        if (item.build) {
          const built = item.build(dup);
          events.push(...built.events);
          for (const [name, list] of Object.entries(built.rows ?? {})) {
            if (list.length === 0) continue;
            const acc = rows.get(name);
            if (acc) acc.push(...list);
            else rows.set(name, [...list]);
          }
        }
        perItem.push(events);
      }
      going();
      await steps.flush();
      // The sink statements and the log append go out back to back (pipelined on postgres.js: one round trip, not
      // one per statement); the append takes the event-log lock last, so it is held only for the append and commit.
      going();
      const pending: Promise<unknown>[] = [];
      for (const [name, list] of rows) {
        const flush = ctx.sinks.get(name);
        if (!flush) throw new Error(`no sink named ${name}`);
        pending.push(flush(tx, list));
      }
      const appended = ctx.log.appendInTx(tx, perItem.flat());
      const settled = await Promise.allSettled([...(optimistic && check ? [check] : []), ...pending, appended]);
      for (const r of settled) if (r.status === 'rejected') throw r.reason;
      if (optimistic && check) {
        const known = await check;
        batch.forEach((item, k) => {
          if (item.dedupe && !duplicates[k] && !known.has(`${item.dedupe.deviceId}:${item.dedupe.key}`))
            throw new ResendFound();
        });
      }
      // Every statement of the batch has run and it holds its locks (the event log's among them) until COMMIT: the
      // next batch may start now (schedule).
      onAppended?.();
      return appended;
    });
  let ranAgain = false;
  const transaction = attempt(ctx.optimisticDedupe).catch((err: unknown) => {
    if (!(err instanceof ResendFound)) throw err;
    ranAgain = true;
    return attempt(false);
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandoned = true;
      reject(new CommitTimeout(timeoutMs));
    }, timeoutMs);
  });
  // An abandoned transaction that fails later has no one left to tell.
  transaction.catch(() => {});
  let stored: StoredEvent[];
  try {
    stored = await Promise.race([transaction, deadline]);
  } finally {
    clearTimeout(timer);
  }
  return { stored, perItem, duplicates, ranAgain };
}
