import type { Database, Tx } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { CommitTimeout, CommitterOverloaded, errorSummary, isUnavailable } from './commit-errors.ts';
import { StepGroups, type CommitStep, type StepRun } from './commit-steps.ts';
import type { EventLog } from './log.ts';
import type { NewEvent, StoredEvent } from './types.ts';

/** One unit of work whose writes need the transaction itself (presence); returns the events to append. */
export type CommitWork = (tx: Tx) => Promise<NewEvent[]>;

/** Rows for the batch sinks (multi-row inserts, one statement per sink per transaction). */
export type SinkRows = Record<string, unknown[]>;

export type { CommitStep, StepRun };
export { CommitterOverloaded, CommitTimeout, isUnavailable } from './commit-errors.ts';

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

/** What a committed batch hands on (settle). */
interface Settlement {
  stored: StoredEvent[];
  perItem: NewEvent[][];
  duplicates: boolean[];
}
/** Returns the keys (`${deviceId}:${key}`) that are NOT duplicates, recording them. */
export type DedupeFlush = (tx: Tx, keys: { deviceId: number; key: string; hash: string }[]) => Promise<Set<string>>;

interface Pending {
  item: CommitItem;
  bytes: number;
  resolve: (outcome: CommitOutcome) => void;
  reject: (err: unknown) => void;
}

export interface CommitterOptions {
  /** How long to gather work before committing when nothing is in flight (ms). */
  delayMs: number;
  /** Most work items in one transaction. */
  maxBatch: number;
  /** Most work items waiting; past it `submit` fails fast (backpressure: devices are not acked and retry). */
  maxQueue: number;
  /**
   * Most bytes (CommitItem.bytes) waiting or committing, so that memory stays bounded under load. Past it `commit` does not fail:
   * it waits for room (backpressure). The broker then holds the PUBACK, and aedes reads nothing more from that socket
   * until it is given (lib/client.js nextBatch), so memory stays at this budget plus one socket read per connection.
   */
  maxQueueBytes?: number;
  /**
   * Longest a batch's transaction may take before its items fail with `CommitTimeout` (default 30 s, three connect
   * timeouts). A commit that cannot complete (a connection that never answers) must not hold every later item, nor
   * the logins that go through here, behind it for good: its devices get no PUBACK and resend, the committer goes on.
   */
  commitTimeoutMs?: number;
  onBatch?: (size: number) => void;
}

const DEFAULT_COMMIT_TIMEOUT_MS = 30_000;

/**
 * Group commit (architecture.md "Durable before acknowledged"): everything that arrives while a transaction is in
 * flight, or within `delayMs`, is committed in one transaction, so durability costs latency, not throughput. Each
 * submitter learns when its own work is committed, and only then acknowledges its device. If a grouped transaction
 * fails, its items are retried one by one so that one bad item cannot fail the others.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  /** Items waiting for room under `maxQueueBytes`, in submission order. */
  private waiting: Pending[] = [];
  private bytes = 0;
  /** Batches between their start and their settlement (at most two: see `schedule`). */
  private inFlight = 0;
  /** A batch has started and not yet appended its events: the next one waits for that. */
  private opening = false;
  /** Settles once the newest batch has settled: batches settle in the order they started. */
  private settled: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly sinks = new Map<string, SinkFlush>();
  private readonly steps = new Map<string, StepRun>();
  private dedupeFlush: DedupeFlush | null = null;

  constructor(
    private readonly database: Database,
    private readonly log: EventLog,
    private readonly logger: Logger,
    private readonly opts: CommitterOptions,
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  /** Bytes held by queued and committing items. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Items held back by the byte budget (their submitters wait). */
  get waitingItems(): number {
    return this.waiting.length;
  }

  /** Register a batch sink: all rows given under `name` in one transaction are flushed by one call. */
  sink(name: string, flush: SinkFlush): void {
    this.sinks.set(name, flush);
  }

  /** Register a shared step: the items naming it in one transaction share one `run` (commit-steps.ts). */
  step(name: string, run: StepRun): void {
    this.steps.set(name, run);
  }

  dedupeWith(flush: DedupeFlush): void {
    this.dedupeFlush = flush;
  }

  async transact(work: CommitWork): Promise<StoredEvent[]> {
    return (await this.commit({ work })).events;
  }

  commit(item: CommitItem): Promise<CommitOutcome> {
    if (this.closed) return Promise.reject(new Error('committer closed'));
    if (this.queue.length >= this.opts.maxQueue) return Promise.reject(new CommitterOverloaded());
    return new Promise((resolve, reject) => {
      const p: Pending = { item, bytes: item.bytes ?? 0, resolve, reject };
      if (this.waiting.length > 0 || !this.hasRoom(p.bytes)) {
        this.waiting.push(p);
        return;
      }
      this.enqueue(p);
    });
  }

  private hasRoom(bytes: number): boolean {
    const max = this.opts.maxQueueBytes;
    // Always room for one item when nothing else is held, whatever its size.
    return max === undefined || bytes === 0 || this.bytes === 0 || this.bytes + bytes <= max;
  }

  private enqueue(p: Pending): void {
    this.bytes += p.bytes;
    this.queue.push(p);
    this.schedule();
  }

  /** Committed (or failed) items give their bytes back; waiting items get in, in order. */
  private release(batch: readonly Pending[]): void {
    for (const p of batch) this.bytes -= p.bytes;
    while (this.waiting.length > 0 && this.hasRoom(this.waiting[0]!.bytes)) this.enqueue(this.waiting.shift()!);
  }

  /**
   * Everything one transaction does for a batch: dedupe, per-item work, sink rows, then the events (last). Past the
   * commit deadline the batch fails, and the transaction, should it get going after all, rolls back before the next
   * step. Only a COMMIT already sent can still complete: then the items are stored without being acknowledged, as when
   * a connection is lost during its COMMIT, and the devices' resends are recognised as duplicates (dedupe).
   */
  private async commitBatch(batch: Pending[], onAppended?: () => void): Promise<Settlement> {
    const perItem: NewEvent[][] = [];
    const duplicates: boolean[] = [];
    const timeoutMs = this.opts.commitTimeoutMs ?? DEFAULT_COMMIT_TIMEOUT_MS;
    let abandoned = false;
    const going = () => {
      if (abandoned) throw new CommitTimeout(timeoutMs);
    };
    const transaction = this.database.db.transaction(async (tx) => {
      going();
      const keys = batch.flatMap((p) => (p.item.dedupe ? [p.item.dedupe] : []));
      const fresh = keys.length > 0 && this.dedupeFlush ? await this.dedupeFlush(tx, keys) : null;
      // A resend can land in the same batch as its original (the device reconnected while the first copy was still
      // waiting for this commit): the database sees the key once, so only the first copy in the batch is new.
      const inBatch = new Set<string>();
      const rows = new Map<string, unknown[]>();
      const steps = new StepGroups(this.steps, tx);
      for (const p of batch) {
        const { item } = p;
        let dup = false;
        if (fresh !== null && item.dedupe !== undefined) {
          const { deviceId, key, hash } = item.dedupe;
          const copy = `${deviceId}:${key}:${hash}`;
          dup = !fresh.has(`${deviceId}:${key}`) || inBatch.has(copy);
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
        const flush = this.sinks.get(name);
        if (!flush) throw new Error(`no sink named ${name}`);
        pending.push(flush(tx, list));
      }
      const appended = this.log.appendInTx(tx, perItem.flat());
      const settled = await Promise.allSettled([...pending, appended]);
      for (const r of settled) if (r.status === 'rejected') throw r.reason;
      // Every statement of the batch has run and it holds its locks (the event log's among them) until COMMIT: the
      // next batch may start now (schedule).
      onAppended?.();
      return appended;
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
    return { stored, perItem, duplicates };
  }

  /** A committed batch's outcome handed on: the log's listeners first, then each submitter. */
  private settle(batch: readonly Pending[], { stored, perItem, duplicates }: Settlement): void {
    this.log.committed(stored);
    let i = 0;
    batch.forEach((p, k) => {
      const n = perItem[k]!.length;
      p.resolve({ events: stored.slice(i, i + n), duplicate: duplicates[k]! });
      i += n;
    });
  }

  /**
   * Commits overlap by one (docs/uplink-pipeline.md "Overlapping commits"): the next batch starts as soon as the one
   * before it has run its statements and waits only for its COMMIT. It holds every lock it took until then (the event
   * log's, and the rows it wrote), so the next batch's statements that touch the same rows, and its log append, wait
   * in the database for that COMMIT: positions, latest values and dedupe keys keep the order of the batches. What
   * overlaps is the COMMIT and the settlement of one batch (acknowledgements, replies, fan-out: Node's work) with the
   * statements of the next (the database's). Batches settle in the order they started.
   */
  private schedule(): void {
    if (this.timer || this.opening || this.inFlight >= 2 || this.queue.length === 0) return;
    if (this.inFlight === 0 && this.queue.length < this.opts.maxBatch && this.opts.delayMs > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.start();
      }, this.opts.delayMs);
      return;
    }
    this.start();
  }

  private start(): void {
    if (this.opening || this.inFlight >= 2 || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    this.opts.onBatch?.(batch.length);
    this.inFlight++;
    this.opening = true;
    let opened = false;
    const open = () => {
      if (opened) return;
      opened = true;
      this.opening = false;
      this.schedule();
    };
    const previous = this.settled;
    const done = this.commitAndSettle(batch, open, previous).finally(() => {
      open();
      this.inFlight--;
      this.release(batch);
      // What arrived meanwhile goes at once (no gathering delay: it has waited for this batch already).
      if (this.queue.length > 0) this.start();
      else if (this.inFlight === 0 && this.waiting.length === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
    this.settled = done.catch(() => undefined);
  }

  private async commitAndSettle(batch: Pending[], onAppended: () => void, previous: Promise<void>): Promise<void> {
    let outcome: Settlement;
    try {
      outcome = await this.commitBatch(batch, onAppended);
    } catch (err) {
      // No batch starts while this one's items are retried one by one (their transactions would overlap it).
      await previous;
      await this.settleFailed(batch, err);
      return;
    }
    await previous;
    this.settle(batch, outcome);
  }

  private async settleFailed(batch: Pending[], err: unknown): Promise<void> {
    if (batch.length === 1) {
      batch[0]!.reject(err);
    } else if (isUnavailable(err)) {
      // The database is down or unreachable: retrying a thousand items one by one would hold the queue for
      // minutes (a connect timeout each). Nothing is acknowledged; the devices resend (architecture.md).
      this.logger.warn({ err: errorSummary(err), size: batch.length }, 'group commit failed: database unavailable');
      for (const p of batch) p.reject(err);
    } else {
      this.logger.warn({ err, size: batch.length }, 'group commit failed; retrying its items one by one');
      for (let k = 0; k < batch.length; k++) {
        const p = batch[k]!;
        try {
          this.settle([p], await this.commitBatch([p]));
        } catch (e) {
          p.reject(e);
          if (isUnavailable(e)) {
            for (const rest of batch.slice(k + 1)) rest.reject(e);
            break;
          }
        }
      }
    }
  }

  /** Wait until everything submitted so far is committed (and its replies handed on); keeps taking work. */
  async idle(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.start();
    }
    if (this.inFlight > 0 || this.queue.length > 0 || this.waiting.length > 0)
      await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /** Stop taking work and wait for what was submitted to be committed (graceful shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }
}
