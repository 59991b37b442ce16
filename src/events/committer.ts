import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import {
  runBatch,
  type CommitItem,
  type CommitOutcome,
  type CommitWork,
  type DedupeFlush,
  type Settlement,
  type SinkFlush,
} from './commit-batch.ts';
import { CommitterOverloaded, errorSummary, isUnavailable } from './commit-errors.ts';
import type { StepRun } from './commit-steps.ts';
import type { EventLog } from './log.ts';
import type { StoredEvent } from './types.ts';

export type {
  CommitItem,
  CommitOutcome,
  CommitStep,
  CommitWork,
  DedupeFlush,
  SinkFlush,
  SinkRows,
  StepRun,
} from './commit-batch.ts';
export { CommitterOverloaded, CommitTimeout, isUnavailable } from './commit-errors.ts';

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
  /** A batch ran again: its optimistic dedupe check found a resend of a committed message (commit-batch.ts). */
  onRanAgain?: () => void;
  /**
   * Start batches from a callback of their own (the check phase, or the gathering timer), never inside another one.
   * For PGlite, whose statements resolve without I/O: a batch runs to its end in the callback that starts it, and
   * back-to-back batches held the loop for 1-2.5 s under load. A networked database yields at every round trip.
   */
  yieldBetweenBatches?: boolean;
}

const DEFAULT_COMMIT_TIMEOUT_MS = 30_000;

/** Batches that check for resends first after one was found (`GroupCommitter.checkFirst`). */
const CHECK_FIRST_AFTER_RESEND = 16;

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
  /** A batch start waiting for the check phase (`yieldBetweenBatches`). */
  private immediate: NodeJS.Immediate | null = null;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly sinks = new Map<string, SinkFlush>();
  private readonly steps = new Map<string, StepRun>();
  private dedupeFlush: DedupeFlush | null = null;
  /**
   * Batches left that send their dedupe check a round trip ahead (commit-batch.ts): after a batch had to run again for
   * a resend, the next ones likely hold resends too (devices reconnecting after an outage resend what they had in
   * flight), and each would otherwise be done twice.
   */
  private checkFirst = 0;

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

  /** One transaction for the batch (commit-batch.ts); its items fail with CommitTimeout past the deadline. */
  private async commitBatch(batch: readonly Pending[], onAppended?: () => void): Promise<Settlement> {
    const optimisticDedupe = this.checkFirst === 0;
    if (!optimisticDedupe) this.checkFirst--;
    const outcome = await runBatch(
      {
        database: this.database,
        log: this.log,
        sinks: this.sinks,
        steps: this.steps,
        dedupeFlush: this.dedupeFlush,
        optimisticDedupe,
        timeoutMs: this.opts.commitTimeoutMs ?? DEFAULT_COMMIT_TIMEOUT_MS,
      },
      batch.map((p) => p.item),
      onAppended,
    );
    if (outcome.ranAgain || (!optimisticDedupe && outcome.duplicates.includes(true)))
      this.checkFirst = CHECK_FIRST_AFTER_RESEND;
    if (outcome.ranAgain) this.opts.onRanAgain?.();
    return outcome;
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
    this.startNext();
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
      this.startNext();
    };
    const previous = this.settled;
    const done = this.commitAndSettle(batch, open, previous).finally(() => {
      open();
      this.inFlight--;
      this.release(batch);
      // What arrived meanwhile goes without a gathering delay: it has waited for this batch already.
      if (this.queue.length > 0) this.startNext();
      else if (this.inFlight === 0 && this.waiting.length === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
    this.settled = done.catch(() => undefined);
  }

  /**
   * A batch without a gathering delay (a full queue, or the items that waited for the batch before): at once, or with
   * `yieldBetweenBatches` in the check phase, after this turn's socket reads (which then no longer start one each).
   */
  private startNext(): void {
    if (!this.opts.yieldBetweenBatches) {
      this.start();
      return;
    }
    if (this.immediate || this.queue.length === 0) return;
    this.immediate = setImmediate(() => {
      this.immediate = null;
      this.start();
    });
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
