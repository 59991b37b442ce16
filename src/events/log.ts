import { and, asc, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import { query, queryPrepared, type Database, type Executor, type Tx } from '../db/client.ts';
import { events, platformState } from '../db/tables.ts';
import type { EventFilter, EventType, NewEvent, StoredEvent } from './types.ts';

/** Advisory lock key held by every transaction that appends to the log, from drawing positions until commit. */
const EVENT_LOG_LOCK = 7_354_022;
const FLOOR_KEY = 'event_log_floor';

export type CommitListener = (events: StoredEvent[]) => void;

/**
 * The commit-ordered event log (architecture.md §1).
 *
 * Ordering: positions are drawn from a sequence only while the transaction holds one advisory lock, which it keeps
 * until commit. Every position below a committed one therefore belongs to a transaction that has already committed
 * or rolled back, so a reader that has seen position p can never later find a new event below p (no gap, no
 * duplicate), across concurrent writers and instances. Appends go last in their transaction, so the lock is held
 * only for the insert and the commit; group commit (ingest) keeps the number of such transactions small.
 */
export class EventLog {
  private listeners: CommitListener[] = [];

  constructor(private readonly database: Database) {}

  /** Called after every local commit with the committed events, in position order. */
  onCommit(listener: CommitListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Append inside the caller's transaction; call `committed()` with the result once the transaction commits.
   * Two statements sent back to back (postgres.js pipelines them: one round trip): the log lock, then one constant
   * statement that draws the positions and inserts the events from one JSON parameter, the k-th smallest position
   * going to the k-th event.
   */
  async appendInTx(tx: Executor, batch: readonly NewEvent[]): Promise<StoredEvent[]> {
    if (batch.length === 0) return [];
    const json = JSON.stringify(
      batch.map((e, i) => ({ o: i + 1, t: e.type, pk: e.productKey ?? null, dn: e.deviceName ?? null, d: e.data })),
    );
    const locked = queryPrepared(tx, sql`select pg_advisory_xact_lock(${EVENT_LOG_LOCK})`);
    const inserted = queryPrepared<{ p: string | number; t: string | Date }>(
      tx,
      sql`with pos as (select nextval('event_position_seq') as p from generate_series(1, ${batch.length}::int)),
               ranked as (select p, row_number() over (order by p) as o from pos)
          insert into events (position, type, product_key, device_name, data, created_at)
          select ranked.p, x.t, x.pk, x.dn, x.d, now()
          from ranked join json_to_recordset(${json}::text::json) as x(o int, t text, pk text, dn text, d jsonb) on x.o = ranked.o
          returning position as p, created_at as t`,
    );
    const [lockResult, insertResult] = await Promise.allSettled([locked, inserted]);
    if (lockResult.status === 'rejected') throw lockResult.reason;
    if (insertResult.status === 'rejected') throw insertResult.reason;
    const rows = insertResult.value;
    const positions = rows.map((r) => Number(r.p)).sort((a, b) => a - b);
    const createdAt = new Date(rows[0]!.t);
    return batch.map(
      (e, i): StoredEvent => ({
        position: positions[i]!,
        type: e.type,
        productKey: e.productKey ?? null,
        deviceName: e.deviceName ?? null,
        data: e.data,
        createdAt,
      }),
    );
  }

  committed(stored: StoredEvent[]): void {
    if (stored.length === 0) return;
    for (const l of this.listeners) l(stored);
  }

  /**
   * A service transaction that emits events: `emit` collects them, they are appended as the transaction's last
   * statement and announced after commit. Expected failures thrown by `fn` roll everything back.
   */
  async transaction<T>(fn: (tx: Tx, emit: (e: NewEvent) => void) => Promise<T>): Promise<T> {
    const pending: NewEvent[] = [];
    let stored: StoredEvent[] = [];
    const result = await this.database.db.transaction(async (tx) => {
      const r = await fn(tx, (e) => pending.push(e));
      stored = await this.appendInTx(tx, pending);
      return r;
    });
    this.committed(stored);
    return result;
  }

  /** Stored events after `after` (exclusive) up to `upto` (inclusive), matching the filter's indexed parts. */
  async read(after: number, upto: number | null, filter: EventFilter | null, limit: number): Promise<StoredEvent[]> {
    const conds = [gt(events.position, after)];
    if (upto != null) conds.push(lte(events.position, upto));
    if (filter) {
      conds.push(inArray(events.type, [...filter.types]));
      if (filter.productKey != null) conds.push(eq(events.productKey, filter.productKey));
      if (filter.deviceName != null) conds.push(eq(events.deviceName, filter.deviceName));
      // '' never is a product key: it keeps the list non-empty. Not '\u0000': PostgreSQL text cannot hold NUL.
      if (filter.productKeys != null) conds.push(inArray(events.productKey, [...filter.productKeys, '']));
    }
    const rows = await this.database.db
      .select()
      .from(events)
      .where(and(...conds))
      .orderBy(asc(events.position))
      .limit(limit);
    return rows.map((r) => ({ ...r, type: r.type as EventType, data: r.data as Record<string, unknown> }));
  }

  async headPosition(): Promise<number> {
    const rows = await query<{ p: string | number | null }>(
      this.database.db,
      sql`select max(position) as p from events`,
    );
    return Number(rows[0]?.p ?? 0);
  }

  /** Positions below the floor were removed by retention; a cursor below it has missed events. */
  async floor(): Promise<number> {
    const rows = await this.database.db.select().from(platformState).where(eq(platformState.key, FLOOR_KEY));
    return Number((rows[0]?.value as { position?: number } | undefined)?.position ?? 0);
  }

  /** Retention: delete events older than `cutoff` in small batches; returns how many were deleted. */
  async prune(cutoff: Date, batchSize = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.database.db.transaction(async (tx) => {
        const rows = await query<{ p: string | number }>(
          tx,
          sql`delete from events where position in (
                select position from events where created_at < ${cutoff.toISOString()}::timestamptz
                order by position limit ${batchSize})
              returning position as p`,
        );
        if (rows.length === 0) return 0;
        const maxDeleted = Math.max(...rows.map((r) => Number(r.p)));
        await tx
          .insert(platformState)
          .values({ key: FLOOR_KEY, value: { position: maxDeleted + 1 } })
          .onConflictDoUpdate({
            target: platformState.key,
            set: {
              value: sql`jsonb_build_object('position', greatest((${platformState.value}->>'position')::bigint, ${maxDeleted + 1}))`,
              updatedAt: sql`now()`,
            },
          });
        return rows.length;
      });
      total += deleted;
      if (deleted < batchSize) return total;
    }
  }
}
