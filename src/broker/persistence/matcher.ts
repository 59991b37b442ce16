import { randomUUID } from 'node:crypto';
import type { Executor } from '../../db/client.ts';
import { matchableSubscriptions, SubscriptionIndex, type TopicSubscription } from './subscriptions.ts';

export interface PersistenceLogger {
  warn(obj: object, msg?: string): void;
}

/** The part of mqemitter (or mqemitter-redis) used here: aedes exposes it as `broker.mq`. */
export interface MqEmitter {
  on(topic: string, listener: NoticeListener, done?: () => void): unknown;
  removeListener(topic: string, listener: NoticeListener, done?: () => void): unknown;
  emit(packet: { topic: string; payload: Buffer }, done?: (err?: unknown) => void): unknown;
}
type NoticeListener = (packet: { topic: string; payload: unknown }, done: () => void) => void;

/** `$SYS/<brokerId>/persistence/subscriptions`, payload `{ origin, clientIds }`; aedes' own $SYS handlers ignore it. */
const NOTICE_PATTERN = '$SYS/+/persistence/subscriptions';
const noticeTopic = (brokerId: string) => `$SYS/${brokerId}/persistence/subscriptions`;

/**
 * subscriptionsByTopic runs on every QoS > 0 publish, so it is answered from memory: a Qlobber of the table's
 * matchable rows, loaded at start. A change is written to the table first, then applied here, then announced on
 * the broker's emitter (shared through Redis when there are several instances). An instance that hears of a change
 * re-reads that client's rows, so notices only say *who* changed, and their order does not matter. `refresh()`
 * (on a timer when configured) reloads everything, repairing what a lost notice left stale.
 */
export class SubscriptionMatcher {
  readonly #db: Executor;
  readonly #logger: PersistenceLogger | undefined;
  /** Tells this instance's own notices apart (broker ids can repeat across restarts). */
  readonly #instanceId = randomUUID();
  #index = new SubscriptionIndex();
  /** Per-client chain: one client's changes reach the table and the index in the same order. */
  readonly #chains = new Map<string, Promise<void>>();
  /** While a full reload runs: clients whose entries changed meanwhile, re-read after the swap. */
  #dirty: Set<string> | null = null;
  #refreshing: Promise<void> | null = null;
  #timer: NodeJS.Timeout | undefined;
  #mq: MqEmitter | undefined;
  #brokerId = '';

  constructor(db: Executor, logger: PersistenceLogger | undefined) {
    this.#db = db;
    this.#logger = logger;
  }

  match(topic: string): TopicSubscription[] {
    return this.#index.match(topic);
  }

  async start(broker: { id: string; mq?: MqEmitter }, resyncIntervalMs: number): Promise<void> {
    this.#brokerId = broker.id;
    await this.refresh();
    const mq = broker.mq;
    if (mq) {
      await new Promise<void>((resolve) => mq.on(NOTICE_PATTERN, this.#onNotice, resolve));
      this.#mq = mq;
    }
    if (resyncIntervalMs > 0) {
      this.#timer = setInterval(() => {
        this.refresh().catch((err: unknown) =>
          this.#logger?.warn({ err }, 'mqtt persistence: subscription resync failed'),
        );
      }, resyncIntervalMs);
      this.#timer.unref();
    }
  }

  /** Stops listening and waits for pending changes. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    const mq = this.#mq;
    this.#mq = undefined;
    if (mq) await new Promise<void>((resolve) => mq.removeListener(NOTICE_PATTERN, this.#onNotice, resolve));
    await Promise.all([...this.#chains.values(), this.#refreshing]);
  }

  /** Reload the whole index from the table. */
  refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      this.#dirty = new Set();
      try {
        const rows = await matchableSubscriptions(this.#db);
        const { index, rejected } = SubscriptionIndex.from(rows);
        if (rejected.length > 0)
          this.#logger?.warn(
            { count: rejected.length },
            'mqtt persistence: subscriptions the matcher refuses were skipped',
          );
        // Swap and take the dirty set in one synchronous step: a change lands either in the old index (and is
        // re-read below) or in the new one.
        this.#index = index;
        const dirty = this.#dirty;
        this.#dirty = null;
        await Promise.all([...dirty].map((clientId) => this.#reload(clientId)));
      } finally {
        this.#dirty = null;
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  /** Write a change of one client's subscriptions, then apply it to the index and tell the other instances. */
  async change(clientId: string, write: () => Promise<void>, apply: (index: SubscriptionIndex) => void): Promise<void> {
    await this.#serial(clientId, async () => {
      await write();
      this.#touch(clientId, apply);
    });
    this.#announce(clientId);
  }

  #serial(clientId: string, fn: () => Promise<void>): Promise<void> {
    const run = (this.#chains.get(clientId) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => {});
    this.#chains.set(clientId, tail);
    void tail.then(() => {
      if (this.#chains.get(clientId) === tail) this.#chains.delete(clientId);
    });
    return run;
  }

  #touch(clientId: string, apply: (index: SubscriptionIndex) => void): void {
    apply(this.#index);
    this.#dirty?.add(clientId);
  }

  #reload(clientId: string): Promise<void> {
    return this.#serial(clientId, async () => {
      const subs = await matchableSubscriptions(this.#db, clientId);
      this.#touch(clientId, (ix) => ix.setClient(clientId, subs));
    });
  }

  /** Fire and forget: waiting would tie SUBACK to every emitter listener; a lost notice is repaired by the resync. */
  #announce(clientId: string): void {
    const mq = this.#mq;
    if (!mq) return;
    const payload = Buffer.from(JSON.stringify({ origin: this.#instanceId, clientIds: [clientId] }));
    mq.emit({ topic: noticeTopic(this.#brokerId), payload }, (err) => {
      if (err) this.#logger?.warn({ err, clientId }, 'mqtt persistence: subscription change notice failed');
    });
  }

  readonly #onNotice: NoticeListener = (packet, done) => {
    done();
    let notice: { origin?: unknown; clientIds?: unknown };
    try {
      notice = JSON.parse(String(packet.payload)) as typeof notice;
    } catch {
      return;
    }
    if (notice.origin === this.#instanceId || !Array.isArray(notice.clientIds)) return;
    for (const clientId of notice.clientIds) {
      if (typeof clientId !== 'string') continue;
      this.#reload(clientId).catch((err: unknown) =>
        this.#logger?.warn({ err, clientId }, 'mqtt persistence: reloading subscriptions failed'),
      );
    }
  };
}
