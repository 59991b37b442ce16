import { DomainError } from '../domain/errors.ts';
import { encodeCursor } from './cursor.ts';
import type { EventHub } from './hub.ts';
import type { EventLog } from './log.ts';
import { matchesFilter, type EventFilter, type StoredEvent } from './types.ts';

export interface StreamGap {
  /** The cursor the client resumed after. */
  requestedAfter: string;
  /** Events from just after the requested cursor up to (not including) this position were removed by retention. */
  firstAvailablePosition: number;
}

export interface StreamItem {
  event: StoredEvent;
  /** Set on the first item after a resume whose cursor is older than retention (graphql-api.md: one gap notice). */
  gap: StreamGap | null;
}

export interface StreamOptions {
  filter: EventFilter;
  /** Resume after this position (replay, then live); null: live from now. */
  after: number | null;
  /** Backpressure policy (architecture.md): live events buffered for a slow consumer before the stream fails. */
  bufferLimit: number;
  replayPageSize?: number;
}

/** Raised to a subscriber that fell too far behind; `cursor` resumes exactly after what it received. */
export function streamOverflow(lastDelivered: number): DomainError {
  return new DomainError(
    'SUBSCRIBER_TOO_SLOW',
    `subscriber fell more than the buffer behind; resume with after: "${encodeCursor(lastDelivered)}"`,
  );
}

/**
 * Replay then live, with no gap and no duplicate: the live listener is registered first (buffering), then stored
 * events are replayed up to the hub position seen at registration, then the buffer continues from there. A hand-made
 * iterator rather than an async generator so that `return()` (client unsubscribes) cleans up at once even while
 * waiting for the next event.
 */
export class EventStream implements AsyncIterableIterator<StreamItem> {
  private readonly queue: StreamItem[] = [];
  private readonly live: StoredEvent[] = [];
  private replaying: boolean;
  private delivered: number;
  private queuedUpTo: number;
  private failure: unknown = null;
  /** The retention gap notice, until it rides on the first item delivered (replayed, or live if nothing was left). */
  private gap: StreamGap | null = null;
  private finished = false;
  private waiter: { resolve: (r: IteratorResult<StreamItem>) => void; reject: (e: unknown) => void } | null = null;
  private drainWaiter: (() => void) | null = null;
  private readonly unsubscribe: () => void;

  constructor(
    hub: EventHub,
    private readonly log: EventLog,
    private readonly opts: StreamOptions,
  ) {
    const start = opts.after ?? hub.position;
    this.delivered = start;
    this.queuedUpTo = start;
    this.replaying = opts.after != null;
    this.unsubscribe = hub.subscribe((e) => this.onLive(e));
    if (this.replaying) {
      const upto = hub.position;
      this.replay(opts.after!, upto).catch((error: unknown) => this.fail(error));
    }
  }

  private onLive(e: StoredEvent): void {
    if (this.finished || !matchesFilter(this.opts.filter, e)) return;
    if (this.replaying) {
      if (this.live.length >= this.opts.bufferLimit) {
        this.fail(streamOverflow(this.delivered));
        return;
      }
      this.live.push(e);
      return;
    }
    if (e.position <= this.queuedUpTo) return;
    if (this.queue.length >= this.opts.bufferLimit) {
      this.fail(streamOverflow(this.delivered));
      return;
    }
    this.push({ event: e, gap: null });
  }

  private async replay(after: number, upto: number): Promise<void> {
    const pageSize = this.opts.replayPageSize ?? 500;
    const floor = await this.log.floor();
    if (after < floor - 1) this.gap = { requestedAfter: encodeCursor(after), firstAvailablePosition: floor };
    let cursor = after;
    while (!this.finished && cursor < upto) {
      const rows = await this.log.read(cursor, upto, this.opts.filter, pageSize);
      for (const e of rows) {
        if (matchesFilter(this.opts.filter, e)) this.push({ event: e, gap: null });
        cursor = e.position;
      }
      if (rows.length < pageSize) break;
      // Do not read ahead of a slow consumer: wait until the queue is drained below one page.
      while (!this.finished && this.queue.length > pageSize) await new Promise<void>((r) => (this.drainWaiter = r));
    }
    if (this.finished) return;
    this.queuedUpTo = Math.max(this.queuedUpTo, upto);
    this.replaying = false;
    for (const e of this.live.splice(0)) {
      if (e.position > this.queuedUpTo) this.push({ event: e, gap: null });
    }
  }

  private push(item: StreamItem): void {
    if (this.gap) {
      item = { ...item, gap: this.gap };
      this.gap = null;
    }
    this.queuedUpTo = Math.max(this.queuedUpTo, item.event.position);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      this.delivered = item.event.position;
      w.resolve({ value: item, done: false });
    } else {
      this.queue.push(item);
    }
  }

  private fail(error: unknown): void {
    if (this.finished) return;
    this.failure = error;
    this.queue.length = 0;
    this.cleanup();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(error);
    }
  }

  private cleanup(): void {
    this.finished = true;
    this.unsubscribe();
    this.drainWaiter?.();
  }

  next(): Promise<IteratorResult<StreamItem>> {
    const item = this.queue.shift();
    if (item) {
      this.delivered = item.event.position;
      if (this.drainWaiter && this.queue.length <= (this.opts.replayPageSize ?? 500)) {
        const d = this.drainWaiter;
        this.drainWaiter = null;
        d();
      }
      return Promise.resolve({ value: item, done: false });
    }
    if (this.failure) {
      const f = this.failure;
      this.failure = null;
      return Promise.reject(f);
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<StreamItem>> {
    this.cleanup();
    this.queue.length = 0;
    if (this.waiter) {
      this.waiter.resolve({ value: undefined, done: true });
      this.waiter = null;
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<StreamItem>> {
    this.cleanup();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StreamItem> {
    return this;
  }
}
