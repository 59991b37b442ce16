import { toAmqpMessage } from '../../domain/amqp/messages.ts';
import type { EventHub } from '../../events/hub.ts';
import type { EventLog } from '../../events/log.ts';
import type { StoredEvent } from '../../events/types.ts';
import type { Logger } from '../../logger.ts';
import {
  budgetScopes,
  ClientRing,
  totalCredit,
  type Budget,
  type ClientState,
  type ConsumerHandle,
  type Outcome,
} from './clients.ts';
import { CursorAdvancer } from './cursor.ts';
import type { DeliveryStore, StepRow } from './deliveries.ts';
import { ReadAhead } from './read-ahead.ts';

export type { ConsumerHandle, OutgoingMessage, Outcome } from './clients.ts';

export interface DispatcherStats {
  delivered(n: number): void;
  redelivered(n: number): void;
  rejected(n: number): void;
  expired(n: number): void;
}

/** Messages per pump at most: small pages let rhea write one page while the next is read and claimed. */
const PAGE = 250;

/**
 * Delivery of one consumer group to this instance's clients (cloud-api.md §7.5). The group's cursor and the in-flight
 * table are shared by every instance (DeliveryStore); this keeps only the read-ahead position of its own scan of the
 * log and the copies its clients hold. One pump runs at a time: settle what was answered, send what is due again,
 * then new events in log order, round-robin over clients with credit, then move the cursor.
 */
export class GroupDispatcher {
  private readonly ring = new ClientRing();
  private readonly clients = this.ring.clients;
  private entries = new Map<string, Map<string, number>>();
  private scanned = 0;
  private started = false;
  private entriesStale = false;
  /** Whether rows may be due for (re)delivery: checked on ticks, after releases, for new clients, after a full page. */
  private dueCheck = true;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private settles: number[] = [];
  private releases: { position: number; attempt: number }[] = [];
  /** Messages a client refused with undeliverable-here: another client gets them when there is one. */
  private readonly avoid = new Map<number, ConsumerHandle>();
  private readonly unsubscribe: () => void;
  private readonly cursor: CursorAdvancer;
  private readonly readAhead = new ReadAhead();

  constructor(
    readonly groupId: string,
    private readonly deps: {
      store: DeliveryStore;
      log: EventLog;
      hub: EventHub;
      logger: Logger;
      loadEntries: (groupId: string) => Promise<Map<string, Map<string, number>>>;
      maxAgeMs: number;
      stats: DispatcherStats;
    },
  ) {
    this.cursor = new CursorAdvancer(
      (scanned) => deps.store.advance(groupId, scanned),
      (error) => deps.logger.warn({ err: error, groupId }, 'amqp cursor update failed'),
    );
    this.unsubscribe = deps.hub.subscribe((e) => {
      if (e.productKey && this.clients.length > 0 && this.entries.get(e.productKey)?.has(e.type)) this.kick();
    });
  }

  get size(): number {
    return this.clients.length;
  }

  handles(): { handle: ConsumerHandle; inFlight: number }[] {
    return this.clients.map((c) => ({ handle: c.handle, inFlight: c.inFlight.size }));
  }

  add(handle: ConsumerHandle): void {
    this.ring.add(handle);
    this.dueCheck = true;
    this.kick();
  }

  /** The link or connection is gone: what it held unsettled is redelivered (§7.5). */
  remove(handle: ConsumerHandle): void {
    const c = this.ring.remove(handle);
    if (!c) return;
    for (const [position, attempt] of c.inFlight) this.releases.push({ position, attempt });
    this.kick();
  }

  outcome(handle: ConsumerHandle, position: number, attempt: number, outcome: Outcome): void {
    const c = this.ring.find(handle);
    if (c && c.inFlight.get(position) === attempt) c.inFlight.delete(position);
    if (outcome === 'accepted' || outcome === 'rejected') {
      if (outcome === 'rejected') this.deps.stats.rejected(1);
      this.settles.push(position);
    } else {
      if (outcome === 'undeliverable-here') this.avoid.set(position, handle);
      this.releases.push({ position, attempt });
    }
    this.kick();
  }

  /** The cursor was reset (start over from it) or the relations changed (reload them); a tick checks ack timeouts. */
  refresh(what: 'reset' | 'relations' | 'tick'): void {
    if (what === 'reset') this.started = false;
    if (what === 'relations') this.entriesStale = true;
    if (what === 'tick') {
      this.dueCheck = true;
      this.cursor.tick();
    }
    if (this.clients.length > 0) this.kick();
  }

  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pumpLoop().finally(() => (this.running = null));
  }

  private async pumpLoop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.pump();
      } catch (error) {
        this.deps.logger.warn({ err: error, groupId: this.groupId }, 'amqp delivery pump failed; retrying');
        await new Promise((r) => setTimeout(r, 500).unref());
        this.again = !this.closed;
      }
    } while (this.again && !this.closed);
  }

  private async pump(): Promise<void> {
    const settles = this.settles.splice(0);
    const releases = this.releases.splice(0);
    try {
      await this.pumpWith(settles, releases);
    } catch (error) {
      // Outcomes not recorded yet are kept for the next try (the database blipped).
      this.settles.unshift(...settles);
      this.releases.unshift(...releases);
      throw error;
    }
  }

  private async pumpWith(settles: number[], releases: { position: number; attempt: number }[]): Promise<void> {
    const { store } = this.deps;
    if (releases.length > 0) this.dueCheck = true;
    const flushNow = this.clients.length === 0 || !this.started;
    if (flushNow) {
      await store.settle(this.groupId, settles);
      await store.release(this.groupId, releases);
      if (this.clients.length === 0) return this.dropPrefetch();
    }
    if (!this.started) {
      await this.dropPrefetch();
      this.entries = await this.deps.loadEntries(this.groupId);
      const cursor = await store.cursor(this.groupId);
      if (cursor === null) return; // the group was deleted
      this.scanned = cursor;
      this.started = true;
      this.entriesStale = false;
    } else if (this.entriesStale) {
      this.entriesStale = false;
      this.entries = await this.deps.loadEntries(this.groupId);
    }
    const budget = this.ring.budget();
    if (totalCredit(budget) > 0 && this.dueCheck) {
      this.dueCheck = false;
      await this.redeliver(budget, Math.min(totalCredit(budget), PAGE));
    }
    await this.scan(budget, Math.min(totalCredit(budget), PAGE), flushNow ? [] : settles, flushNow ? [] : releases);
    this.cursor.afterPump(this.scanned, settles.length > 0);
  }

  private send(c: ClientState, budget: Budget, e: StoredEvent, attempt: number): void {
    const content = toAmqpMessage(e);
    if (!content) return;
    budget.set(c, (budget.get(c) ?? 0) - 1);
    c.inFlight.set(e.position, attempt);
    try {
      c.handle.send({
        ...content,
        position: e.position,
        attempt,
        deliveryCount: attempt - 1,
        firstAcquirer: attempt === 1,
      });
    } catch (error) {
      // The link went away between the credit check and the send: the message goes to someone else.
      c.inFlight.delete(e.position);
      this.releases.push({ position: e.position, attempt });
      this.again = true;
      this.deps.logger.debug({ err: error, groupId: this.groupId }, 'amqp send failed');
    }
  }

  /** Released, unanswered, orphaned (a lost instance) and waiting rows, oldest first. */
  private async redeliver(budget: Budget, limit: number): Promise<void> {
    const { store } = this.deps;
    const rows = await store.reclaim(this.groupId, budgetScopes(budget), limit);
    if (rows.length === 0) return;
    if (rows.length === limit) this.dueCheck = true;
    const events = await store.eventsAt(rows.map((r) => r.position));
    const dead: number[] = [];
    const back: number[] = [];
    let redelivered = 0;
    let first = 0;
    for (const r of rows) {
      const e = events.get(r.position);
      if (!e || Date.now() - e.createdAt.getTime() > this.deps.maxAgeMs || !toAmqpMessage(e)) {
        dead.push(r.position);
        continue;
      }
      const c = this.ring.pick(budget, r.productKey, this.avoid.get(r.position));
      if (!c) {
        back.push(r.position);
        continue;
      }
      this.avoid.delete(r.position);
      this.send(c, budget, e, r.attempts);
      if (r.attempts > 1) redelivered++;
      else first++;
    }
    if (dead.length) this.deps.stats.expired(dead.length);
    if (redelivered) this.deps.stats.redelivered(redelivered);
    if (first) this.deps.stats.delivered(first);
    await store.settle(this.groupId, dead);
    await store.unclaim(this.groupId, back);
  }

  /** Gives back what an unused read-ahead claimed (a reset, a smaller credit): redeliverable at once. */
  private async dropPrefetch(): Promise<void> {
    const rows = await this.readAhead.drop();
    for (const e of rows) if (e.claimed) this.releases.push({ position: e.position, attempt: 1 });
    if (rows.length) this.again = true;
  }

  /** Outcomes, then new events after the read-ahead position, in log order, up to the clients' credit. */
  private async scan(
    budget: Budget,
    limit: number,
    settles: number[],
    releases: { position: number; attempt: number }[],
  ): Promise<void> {
    const { store } = this.deps;
    let head = this.deps.hub.position;
    let rows: StepRow[];
    const p = this.readAhead.take(this.scanned, limit);
    if (p) {
      [rows] = await Promise.all([p.rows, store.settle(this.groupId, settles), store.release(this.groupId, releases)]);
      head = p.head;
      limit = p.limit;
    } else {
      await this.dropPrefetch();
      rows = await store.step(this.groupId, {
        settles,
        releases,
        after: this.scanned,
        head,
        limit,
        entries: this.entries,
        visible: budgetScopes(budget),
        maxAgeMs: this.deps.maxAgeMs,
      });
    }
    if (limit <= 0 || this.scanned >= head) return;
    this.scanned = rows.length === limit ? rows[rows.length - 1]!.position : head;
    // A full page with credit left: read and claim the next one while this one is sent.
    const left = totalCredit(budget) - rows.filter((e) => e.claimed).length;
    if (rows.length === limit && left > 0 && !this.closed) {
      const next = { after: this.scanned, head: this.deps.hub.position, limit: Math.min(left, PAGE) };
      this.readAhead.start(
        next,
        store.step(this.groupId, {
          settles: [],
          releases: [],
          ...next,
          entries: this.entries,
          visible: budgetScopes(budget),
          maxAgeMs: this.deps.maxAgeMs,
        }),
      );
      this.again = true;
    }
    let sent = 0;
    let expired = 0;
    for (const e of rows) {
      if (e.expired) expired++;
      if (!e.claimed) continue;
      const c = this.ring.pick(budget, e.productKey ?? null);
      if (!c) {
        // No client left with credit for it: redeliverable at once.
        this.releases.push({ position: e.position, attempt: 1 });
        this.again = true;
        continue;
      }
      this.send(c, budget, e, 1);
      sent++;
    }
    if (sent) this.deps.stats.delivered(sent);
    if (expired) this.deps.stats.expired(expired);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    await this.running;
    await this.dropPrefetch();
    await this.cursor.idle();
    // Graceful stop: what clients still hold goes back at once instead of after the ack timeout.
    const releases = this.clients.flatMap((c) => [...c.inFlight].map(([position, attempt]) => ({ position, attempt })));
    await this.deps.store.settle(this.groupId, this.settles.splice(0));
    await this.deps.store.release(this.groupId, [...this.releases.splice(0), ...releases]);
  }
}
