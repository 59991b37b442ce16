import { and, eq, inArray, sql } from 'drizzle-orm';
import { query, type Database } from '../../db/client.ts';
import { amqpDeliveries, consumerGroups, events } from '../../db/tables.ts';
import type { EventType, StoredEvent } from '../../events/types.ts';

export interface StepInput {
  settles: readonly number[];
  releases: readonly { position: number; attempt: number }[];
  /** Read new events after this position, up to `head`, at most `limit` of them. */
  after: number;
  head: number;
  limit: number;
  /** product -> event type -> the position its subscription starts after. */
  entries: Map<string, Map<string, number>>;
  /** Products some client with credit may see; null: all. */
  visible: readonly string[] | null;
  maxAgeMs: number;
}

export interface StepRow extends StoredEvent {
  /** This call claimed it for sending now (else it was claimed elsewhere, is waiting for a client, or is too old). */
  claimed: boolean;
  expired: boolean;
}

const list = (xs: readonly (string | number)[]) => sql.join(xs.map((x) => sql`${x}`), sql`, `);
/** One array parameter instead of one parameter per element (thousands per pump at full speed). */
const bigints = (xs: readonly number[]) => sql`${`{${xs.map((x) => Math.trunc(x)).join(',')}}`}::bigint[]`;
const ints = (xs: readonly number[]) => sql`${`{${xs.map((x) => Math.trunc(x)).join(',')}}`}::int[]`;

export interface Reclaimed {
  position: number;
  productKey: string | null;
  attempts: number;
}

/** Settled rows are kept this long below the cursor, so that a late claim of an old position still conflicts. */
const KEEP_SETTLED = '10 minutes';
const EPOCH = new Date(0);

/**
 * The in-flight table of cloud-api.md §7.5, shared by every instance: a message goes out only once its row is claimed
 * (insert with conflict-do-nothing), a redelivery only once its expired row is re-claimed (FOR UPDATE SKIP LOCKED).
 */
export function createDeliveryStore(database: Database, instanceId: string, ackTimeoutMs: number) {
  const db = database.db;
  const deadline = sql`now() + ${`${ackTimeoutMs} milliseconds`}::interval`;
  return {
    async cursor(groupId: string): Promise<number | null> {
      const rows = await db.select({ p: consumerGroups.position }).from(consumerGroups).where(eq(consumerGroups.groupId, groupId));
      return rows[0] ? Number(rows[0].p) : null;
    },

    /**
     * One round trip per pump: record outcomes (settled, released), then read the next subscribed events after
     * `after` and claim them (sent now when some client may see them, else waiting), conflict-do-nothing.
     */
    async step(groupId: string, input: StepInput): Promise<StepRow[]> {
      const settle =
        input.settles.length > 0
          ? sql`, s as (update amqp_deliveries set settled = true, settled_at = now() where group_id = ${groupId} and position = any(${bigints(input.settles)}) returning 1)`
          : sql``;
      const release =
        input.releases.length > 0
          ? sql`, r as (update amqp_deliveries set deadline = ${EPOCH.toISOString()}::timestamptz where group_id = ${groupId} and not settled and owner = ${instanceId}
                and (position, attempts) in (select * from unnest(${bigints(input.releases.map((i) => i.position))}, ${ints(input.releases.map((i) => i.attempt))})) returning 1)`
          : sql``;
      const preds = [...input.entries].flatMap(([pk, byType]) => {
        // Group the types by start position: one predicate per (product, start).
        const bySince = new Map<number, string[]>();
        for (const [t, since] of byType) bySince.set(since, [...(bySince.get(since) ?? []), t]);
        return [...bySince].map(([since, types]) => sql`(product_key = ${pk} and type in (${list(types)}) and position > ${since})`);
      });
      if (preds.length === 0 || input.limit <= 0 || input.after >= input.head) {
        if (settle.queryChunks.length || release.queryChunks.length) {
          await query(db, sql`with noop as (select 1) ${settle} ${release} select 1`);
        }
        return [];
      }
      const visible = input.visible === null ? sql`true` : input.visible.length > 0 ? sql`product_key in (${list(input.visible)})` : sql`false`;
      const fresh = sql`created_at >= now() - ${`${input.maxAgeMs} milliseconds`}::interval`;
      const rows = await query<{ position: string | number; type: string; product_key: string | null; device_name: string | null; data: Record<string, unknown>; created_at: string | Date; claimed: boolean; expired: boolean }>(
        db,
        sql`with ev as (
              select position, type, product_key, device_name, data, created_at, ${visible} as vis, ${fresh} as fresh from events
              where position > ${input.after} and position <= ${input.head} and (${sql.join(preds, sql` or `)})
                and not (type = 'device.message' and data->>'topic' like '/sys/%')
              order by position limit ${input.limit})
            ${settle} ${release},
            ins as (
              insert into amqp_deliveries (group_id, position, product_key, owner, attempts, deadline)
              select ${groupId}, position, product_key, case when vis then ${instanceId} end, case when vis then 1 else 0 end,
                     case when vis then ${deadline} else ${EPOCH.toISOString()}::timestamptz end
              from ev where fresh
              on conflict do nothing returning position, owner)
            select ev.position, ev.type, ev.product_key, ev.device_name, ev.data, ev.created_at, not ev.fresh as expired,
                   exists (select 1 from ins where ins.position = ev.position and ins.owner is not null) as claimed
            from ev order by ev.position`,
      );
      return rows.map((r) => ({
        position: Number(r.position),
        type: r.type as EventType,
        productKey: r.product_key,
        deviceName: r.device_name,
        data: typeof r.data === 'string' ? (JSON.parse(r.data) as Record<string, unknown>) : r.data,
        createdAt: new Date(r.created_at),
        claimed: Boolean(r.claimed),
        expired: Boolean(r.expired),
      }));
    },

    /**
     * Takes up to `limit` rows whose deadline passed (released, unanswered, lost with an instance, or waiting for a
     * client that may see them), oldest first, for products in `productKeys` (null: any).
     */
    async reclaim(groupId: string, productKeys: readonly string[] | null, limit: number): Promise<Reclaimed[]> {
      if (limit <= 0) return [];
      const scope = productKeys ? sql`and product_key in (${sql.join([...productKeys, ''].map((k) => sql`${k}`), sql`, `)})` : sql``;
      const rows = await query<{ position: string | number; product_key: string | null; attempts: number }>(
        db,
        sql`update amqp_deliveries set owner = ${instanceId}, attempts = attempts + 1, deadline = ${deadline}
            where group_id = ${groupId} and position in (
              select position from amqp_deliveries
              where group_id = ${groupId} and not settled and deadline < now() ${scope}
              order by position limit ${limit} for update skip locked)
            returning position, product_key, attempts`,
      );
      return rows.map((r) => ({ position: Number(r.position), productKey: r.product_key, attempts: Number(r.attempts) })).sort((a, b) => a.position - b.position);
    },

    /** Gives back a row not sent after all (no client had credit left): it keeps its attempt count. */
    async unclaim(groupId: string, positions: readonly number[]): Promise<void> {
      if (positions.length === 0) return;
      await db
        .update(amqpDeliveries)
        .set({ attempts: sql`greatest(${amqpDeliveries.attempts} - 1, 0)`, deadline: EPOCH, owner: null })
        .where(and(eq(amqpDeliveries.groupId, groupId), inArray(amqpDeliveries.position, [...positions]), eq(amqpDeliveries.owner, instanceId)));
    },

    async settle(groupId: string, positions: readonly number[]): Promise<void> {
      if (positions.length === 0) return;
      await db
        .update(amqpDeliveries)
        .set({ settled: true, settledAt: sql`now()` })
        .where(and(eq(amqpDeliveries.groupId, groupId), sql`${amqpDeliveries.position} = any(${bigints(positions)})`));
    },

    /** Makes deliveries redeliverable at once (released, modified, link lost), unless they were sent again since. */
    async release(groupId: string, items: readonly { position: number; attempt: number }[]): Promise<void> {
      if (items.length === 0) return;
      await query(
        db,
        sql`update amqp_deliveries set deadline = ${EPOCH.toISOString()}::timestamptz
            where group_id = ${groupId} and not settled and owner = ${instanceId}
              and (position, attempts) in (select * from unnest(${bigints(items.map((i) => i.position))}, ${ints(items.map((i) => i.attempt))}))`,
      );
    },

    /**
     * The cursor moves over the contiguous settled prefix: up to `scanned` (every matching event up to it has a row),
     * but not past the first unsettled row.
     */
    async advance(groupId: string, scanned: number): Promise<number | null> {
      const rows = await query<{ position: string | number }>(
        db,
        sql`update consumer_groups set position = t.p
            from (select least(${scanned}::bigint, coalesce((select min(position) - 1 from amqp_deliveries where group_id = ${groupId} and not settled), ${scanned}::bigint)) as p) t
            where group_id = ${groupId} and position < t.p
            returning consumer_groups.position`,
      );
      return rows[0] ? Number(rows[0].position) : null;
    },

    /** Removes settled rows below the cursors (kept a while, so that a late claim of an old position still conflicts). */
    async prune(): Promise<void> {
      await query(
        db,
        sql`delete from amqp_deliveries d using consumer_groups g where g.group_id = d.group_id and d.settled
            and d.settled_at < now() - ${KEEP_SETTLED}::interval and d.position <= g.position`,
      );
    },

    async eventsAt(positions: readonly number[]): Promise<Map<number, StoredEvent>> {
      if (positions.length === 0) return new Map();
      const rows = await db.select().from(events).where(inArray(events.position, [...positions]));
      return new Map(rows.map((r) => [Number(r.position), { ...r, type: r.type as EventType, data: r.data as Record<string, unknown> }]));
    },
  };
}

export type DeliveryStore = ReturnType<typeof createDeliveryStore>;
