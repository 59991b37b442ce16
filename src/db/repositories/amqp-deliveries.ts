import { and, eq, inArray, sql } from 'drizzle-orm';
import { query, type Executor } from '../client.ts';
import { amqpDeliveries, consumerGroups, events } from '../tables.ts';

/**
 * The in-flight table of cloud-api.md §7.5, shared by every instance: a message goes out only once its row is claimed
 * (insert with conflict-do-nothing), a redelivery only once its expired row is re-claimed (FOR UPDATE SKIP LOCKED).
 * `owner` is the claiming instance; a claim holds until `ackTimeoutMs` from now.
 */

/** An event row as the delivery queries read it (the event's type is a plain string here). */
export interface DeliveryEventRow {
  position: number;
  type: string;
  productKey: string | null;
  deviceName: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
}

export interface ClaimStep {
  groupId: string;
  owner: string;
  ackTimeoutMs: number;
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

export interface ClaimedRow extends DeliveryEventRow {
  /** This call claimed it for sending now (else it was claimed elsewhere, is waiting for a client, or is too old). */
  claimed: boolean;
  expired: boolean;
}

export interface ReclaimedRow {
  position: number;
  productKey: string | null;
  attempts: number;
}

const list = (xs: readonly (string | number)[]) =>
  sql.join(
    xs.map((x) => sql`${x}`),
    sql`, `,
  );
/** One array parameter instead of one parameter per element (thousands per pump at full speed). */
const bigints = (xs: readonly number[]) => sql`${`{${xs.map((x) => Math.trunc(x)).join(',')}}`}::bigint[]`;
const ints = (xs: readonly number[]) => sql`${`{${xs.map((x) => Math.trunc(x)).join(',')}}`}::int[]`;
const deadlineIn = (ackTimeoutMs: number) => sql`now() + ${`${ackTimeoutMs} milliseconds`}::interval`;

/** Settled rows are kept this long below the cursor, so that a late claim of an old position still conflicts. */
const KEEP_SETTLED = '10 minutes';
const EPOCH = new Date(0);

/** The group's cursor; null when the group does not exist. */
export async function findGroupCursor(ex: Executor, groupId: string): Promise<number | null> {
  const rows = await ex
    .select({ p: consumerGroups.position })
    .from(consumerGroups)
    .where(eq(consumerGroups.groupId, groupId));
  return rows[0] ? Number(rows[0].p) : null;
}

/**
 * One round trip: record outcomes (settled, released), then read the next subscribed events after `after` and claim
 * them (sent now when some client may see them, else waiting), conflict-do-nothing.
 */
export async function recordOutcomesAndClaim(ex: Executor, input: ClaimStep): Promise<ClaimedRow[]> {
  const { groupId, owner } = input;
  const settle =
    input.settles.length > 0
      ? sql`, s as (update amqp_deliveries set settled = true, settled_at = now() where group_id = ${groupId} and position = any(${bigints(input.settles)}) returning 1)`
      : sql``;
  const release =
    input.releases.length > 0
      ? sql`, r as (update amqp_deliveries set deadline = ${EPOCH.toISOString()}::timestamptz where group_id = ${groupId} and not settled and owner = ${owner}
            and (position, attempts) in (select * from unnest(${bigints(input.releases.map((i) => i.position))}, ${ints(input.releases.map((i) => i.attempt))})) returning 1)`
      : sql``;
  const preds = [...input.entries].flatMap(([pk, byType]) => {
    // Group the types by start position: one predicate per (product, start).
    const bySince = new Map<number, string[]>();
    for (const [t, since] of byType) bySince.set(since, [...(bySince.get(since) ?? []), t]);
    return [...bySince].map(
      ([since, types]) => sql`(product_key = ${pk} and type in (${list(types)}) and position > ${since})`,
    );
  });
  if (preds.length === 0 || input.limit <= 0 || input.after >= input.head) {
    if (settle.queryChunks.length || release.queryChunks.length) {
      await query(ex, sql`with noop as (select 1) ${settle} ${release} select 1`);
    }
    return [];
  }
  const visible =
    input.visible === null
      ? sql`true`
      : input.visible.length > 0
        ? sql`product_key in (${list(input.visible)})`
        : sql`false`;
  const fresh = sql`created_at >= now() - ${`${input.maxAgeMs} milliseconds`}::interval`;
  const rows = await query<{
    position: string | number;
    type: string;
    product_key: string | null;
    device_name: string | null;
    data: Record<string, unknown>;
    created_at: string | Date;
    claimed: boolean;
    expired: boolean;
  }>(
    ex,
    sql`with ev as (
          select position, type, product_key, device_name, data, created_at, ${visible} as vis, ${fresh} as fresh from events
          where position > ${input.after} and position <= ${input.head} and (${sql.join(preds, sql` or `)})
            and not (type = 'device.message' and data->>'topic' like '/sys/%')
          order by position limit ${input.limit})
        ${settle} ${release},
        ins as (
          insert into amqp_deliveries (group_id, position, product_key, owner, attempts, deadline)
          select ${groupId}, position, product_key, case when vis then ${owner} end, case when vis then 1 else 0 end,
                 case when vis then ${deadlineIn(input.ackTimeoutMs)} else ${EPOCH.toISOString()}::timestamptz end
          from ev where fresh
          on conflict do nothing returning position, owner)
        select ev.position, ev.type, ev.product_key, ev.device_name, ev.data, ev.created_at, not ev.fresh as expired,
               exists (select 1 from ins where ins.position = ev.position and ins.owner is not null) as claimed
        from ev order by ev.position`,
  );
  return rows.map((r) => ({
    position: Number(r.position),
    type: r.type,
    productKey: r.product_key,
    deviceName: r.device_name,
    data: typeof r.data === 'string' ? (JSON.parse(r.data) as Record<string, unknown>) : r.data,
    createdAt: new Date(r.created_at),
    claimed: Boolean(r.claimed),
    expired: Boolean(r.expired),
  }));
}

/**
 * Take up to `limit` rows whose deadline passed (released, unanswered, lost with an instance, or waiting for a client
 * that may see them), oldest first, for products in `productKeys` (null: any).
 */
export async function reclaimDue(
  ex: Executor,
  r: { groupId: string; owner: string; ackTimeoutMs: number; productKeys: readonly string[] | null; limit: number },
): Promise<ReclaimedRow[]> {
  if (r.limit <= 0) return [];
  const scope = r.productKeys
    ? sql`and product_key in (${sql.join(
        [...r.productKeys, ''].map((k) => sql`${k}`),
        sql`, `,
      )})`
    : sql``;
  const rows = await query<{ position: string | number; product_key: string | null; attempts: number }>(
    ex,
    sql`update amqp_deliveries set owner = ${r.owner}, attempts = attempts + 1, deadline = ${deadlineIn(r.ackTimeoutMs)}
        where group_id = ${r.groupId} and position in (
          select position from amqp_deliveries
          where group_id = ${r.groupId} and not settled and deadline < now() ${scope}
          order by position limit ${r.limit} for update skip locked)
        returning position, product_key, attempts`,
  );
  return rows
    .map((x) => ({ position: Number(x.position), productKey: x.product_key, attempts: Number(x.attempts) }))
    .sort((a, b) => a.position - b.position);
}

/** Give back rows not sent after all (no client had credit left): they keep their attempt count. */
export async function unclaimDeliveries(
  ex: Executor,
  groupId: string,
  owner: string,
  positions: readonly number[],
): Promise<void> {
  if (positions.length === 0) return;
  await ex
    .update(amqpDeliveries)
    .set({ attempts: sql`greatest(${amqpDeliveries.attempts} - 1, 0)`, deadline: EPOCH, owner: null })
    .where(
      and(
        eq(amqpDeliveries.groupId, groupId),
        inArray(amqpDeliveries.position, [...positions]),
        eq(amqpDeliveries.owner, owner),
      ),
    );
}

export async function settleDeliveries(ex: Executor, groupId: string, positions: readonly number[]): Promise<void> {
  if (positions.length === 0) return;
  await ex
    .update(amqpDeliveries)
    .set({ settled: true, settledAt: sql`now()` })
    .where(and(eq(amqpDeliveries.groupId, groupId), sql`${amqpDeliveries.position} = any(${bigints(positions)})`));
}

/** Make deliveries redeliverable at once (released, modified, link lost), unless they were sent again since. */
export async function releaseDeliveries(
  ex: Executor,
  groupId: string,
  owner: string,
  items: readonly { position: number; attempt: number }[],
): Promise<void> {
  if (items.length === 0) return;
  await query(
    ex,
    sql`update amqp_deliveries set deadline = ${EPOCH.toISOString()}::timestamptz
        where group_id = ${groupId} and not settled and owner = ${owner}
          and (position, attempts) in (select * from unnest(${bigints(items.map((i) => i.position))}, ${ints(items.map((i) => i.attempt))}))`,
  );
}

/**
 * Move the group's cursor over the contiguous settled prefix: up to `scanned` (every matching event up to it has a
 * row), but not past the first unsettled row. The new cursor, or null when it did not move.
 */
export async function advanceGroupCursor(ex: Executor, groupId: string, scanned: number): Promise<number | null> {
  const rows = await query<{ position: string | number }>(
    ex,
    sql`update consumer_groups set position = t.p
        from (select least(${scanned}::bigint, coalesce((select min(position) - 1 from amqp_deliveries where group_id = ${groupId} and not settled), ${scanned}::bigint)) as p) t
        where group_id = ${groupId} and position < t.p
        returning consumer_groups.position`,
  );
  return rows[0] ? Number(rows[0].position) : null;
}

/** Remove settled rows below the cursors (kept a while, so that a late claim of an old position still conflicts). */
export async function pruneSettledDeliveries(ex: Executor): Promise<void> {
  await query(
    ex,
    sql`delete from amqp_deliveries d using consumer_groups g where g.group_id = d.group_id and d.settled
        and d.settled_at < now() - ${KEEP_SETTLED}::interval and d.position <= g.position`,
  );
}

/** The events at the given log positions, by position. */
export async function findEventsAt(ex: Executor, positions: readonly number[]): Promise<Map<number, DeliveryEventRow>> {
  if (positions.length === 0) return new Map();
  const rows = await ex
    .select()
    .from(events)
    .where(inArray(events.position, [...positions]));
  return new Map(rows.map((r) => [Number(r.position), { ...r, data: r.data as Record<string, unknown> }]));
}
