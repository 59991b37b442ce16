import type { Database, Tx } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { EventLog } from './log.ts';
import type { NewEvent, StoredEvent } from './types.ts';

/** One unit of ingest work: its writes run inside the shared transaction and return the events to append. */
export type CommitWork = (tx: Tx) => Promise<NewEvent[]>;

interface Pending {
  work: CommitWork;
  resolve: (events: StoredEvent[]) => void;
  reject: (err: unknown) => void;
}

export interface CommitterOptions {
  /** How long to gather work before committing when nothing is in flight (ms). */
  delayMs: number;
  /** Most work items in one transaction. */
  maxBatch: number;
  /** Most work items waiting; past it `submit` fails fast (backpressure: devices are not acked and retry). */
  maxQueue: number;
  onBatch?: (size: number) => void;
}

export class CommitterOverloaded extends Error {
  constructor() {
    super('ingest queue is full');
    this.name = 'CommitterOverloaded';
  }
}

/**
 * Group commit (architecture.md "Durable before acknowledged"): everything that arrives while a transaction is in
 * flight, or within `delayMs`, is committed in one transaction, so durability costs latency, not throughput. Each
 * submitter learns when its own work is committed, and only then acknowledges its device. If a grouped transaction
 * fails, its items are retried one by one so that one bad item cannot fail the others.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly database: Database,
    private readonly log: EventLog,
    private readonly logger: Logger,
    private readonly opts: CommitterOptions,
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  submit(work: CommitWork): Promise<StoredEvent[]> {
    if (this.closed) return Promise.reject(new Error('committer closed'));
    if (this.queue.length >= this.opts.maxQueue) return Promise.reject(new CommitterOverloaded());
    return new Promise((resolve, reject) => {
      this.queue.push({ work, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.timer) return;
    if (this.queue.length >= this.opts.maxBatch || this.opts.delayMs === 0) {
      void this.run();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, this.opts.delayMs);
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.opts.maxBatch);
        this.opts.onBatch?.(batch.length);
        try {
          const perItem: NewEvent[][] = [];
          const stored = await this.database.db.transaction(async (tx) => {
            for (const p of batch) perItem.push(await p.work(tx));
            return this.log.appendInTx(tx, perItem.flat());
          });
          this.log.committed(stored);
          let i = 0;
          batch.forEach((p, k) => {
            const n = perItem[k]!.length;
            p.resolve(stored.slice(i, i + n));
            i += n;
          });
        } catch (err) {
          if (batch.length === 1) {
            batch[0]!.reject(err);
          } else {
            this.logger.warn({ err, size: batch.length }, 'group commit failed; retrying its items one by one');
            for (const p of batch) await this.single(p);
          }
        }
      }
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
      else for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async single(p: Pending): Promise<void> {
    try {
      let events: NewEvent[] = [];
      const stored = await this.database.db.transaction(async (tx) => {
        events = await p.work(tx);
        return this.log.appendInTx(tx, events);
      });
      this.log.committed(stored);
      p.resolve(stored);
    } catch (err) {
      p.reject(err);
    }
  }

  /** Stop taking work and wait for what was submitted to be committed (graceful shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      void this.run();
    }
    if (this.running || this.queue.length > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }
}
