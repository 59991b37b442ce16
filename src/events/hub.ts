import type { Logger } from '../logger.ts';
import type { EventLog } from './log.ts';
import type { PlatformEventType, StoredOf } from './catalog.ts';
import type { StoredEvent } from './types.ts';

export type HubListener = (e: StoredEvent) => void;

/**
 * In-process fan-out of committed events, always in position order.
 *
 * Events arrive from local commits (EventLog.onCommit) and, with several instances, from Redis. They can arrive out
 * of order (two local transactions finishing in either order, another instance's events), so the hub dispatches
 * only the contiguous run after the last position it dispatched. A hole that stays open longer than `gapWaitMs` is
 * filled from the database: thanks to the event-log lock (log.ts) everything below a committed position is settled,
 * so whatever the database does not have there was rolled back and will never appear.
 */
export class EventHub {
  private last = 0;
  private readonly pending = new Map<number, StoredEvent>();
  private maxPending = 0;
  private readonly listeners = new Set<HubListener>();
  /** Typed subscriptions: only the events of their types are dispatched to them. */
  private readonly byType = new Map<string, Set<HubListener>>();
  private gapTimer: NodeJS.Timeout | null = null;
  private filling: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly log: EventLog,
    private readonly logger: Logger,
    private readonly gapWaitMs = 20,
  ) {}

  async start(): Promise<void> {
    this.last = await this.log.headPosition();
  }

  /** Highest position dispatched: every event at or below it has been delivered to listeners. */
  get position(): number {
    return this.last;
  }

  subscribe(listener: HubListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Typed subscription: `listener` gets only events of `types`, with their data typed (events/catalog.ts). Cheaper
   * than a listener that filters every event: dispatch looks the listeners up by type.
   */
  on<T extends PlatformEventType>(types: T | readonly T[], listener: (e: StoredOf<T>) => void): () => void {
    const list = (typeof types === 'string' ? [types] : types) as readonly string[];
    const l = listener as unknown as HubListener;
    for (const t of list) {
      let set = this.byType.get(t);
      if (!set) this.byType.set(t, (set = new Set()));
      set.add(l);
    }
    return () => {
      for (const t of list) this.byType.get(t)?.delete(l);
    };
  }

  offer(batch: readonly StoredEvent[]): void {
    for (const e of batch) {
      if (e.position <= this.last || this.pending.has(e.position)) continue;
      this.pending.set(e.position, e);
      if (e.position > this.maxPending) this.maxPending = e.position;
    }
    this.flush();
  }

  /** Another source says the log reaches `head` (Redis announce, periodic poll): catch up if behind. */
  announceHead(head: number): void {
    if (head > this.last && head > this.maxPending) this.maxPending = head;
    this.flush();
    if (this.maxPending > this.last) this.scheduleFill(0);
  }

  private flush(): void {
    let next = this.pending.get(this.last + 1);
    while (next) {
      this.pending.delete(next.position);
      this.last = next.position;
      this.dispatch(next);
      next = this.pending.get(this.last + 1);
    }
    if (this.maxPending > this.last) this.scheduleFill(this.gapWaitMs);
    else if (this.gapTimer) {
      clearTimeout(this.gapTimer);
      this.gapTimer = null;
    }
  }

  private dispatch(e: StoredEvent): void {
    for (const l of this.listeners) this.call(l, e);
    const typed = this.byType.get(e.type);
    if (typed) for (const l of typed) this.call(l, e);
  }

  private call(l: HubListener, e: StoredEvent): void {
    try {
      l(e);
    } catch (error) {
      this.logger.error({ err: error, position: e.position }, 'event listener failed');
    }
  }

  private scheduleFill(delay: number): void {
    if (this.gapTimer || this.filling || this.closed) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      this.filling = this.fill()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'event hub catch-up failed; retrying'))
        .finally(() => {
          this.filling = null;
          if (this.maxPending > this.last) this.scheduleFill(this.closed ? 0 : 200);
        });
    }, delay);
    this.gapTimer.unref?.();
  }

  private async fill(): Promise<void> {
    const target = this.maxPending;
    while (this.last < target && !this.closed) {
      const rows = await this.log.read(this.last, target, null, 1000);
      for (const e of rows)
        if (e.position > this.last && !this.pending.has(e.position)) this.pending.set(e.position, e);
      // Everything up to the end of this page (or the target) is settled: dispatch what exists, skip the holes.
      const settledTo = rows.length === 1000 ? rows[rows.length - 1]!.position : target;
      const ready = [...this.pending.keys()].filter((p) => p <= settledTo).sort((a, b) => a - b);
      for (const p of ready) {
        const e = this.pending.get(p)!;
        this.pending.delete(p);
        this.last = p;
        this.dispatch(e);
      }
      if (this.last < settledTo) this.last = settledTo;
    }
    this.flush();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.gapTimer) clearTimeout(this.gapTimer);
    await this.filling;
    this.listeners.clear();
    this.byType.clear();
  }
}
