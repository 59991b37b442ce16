import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import { query, type Executor } from '../client.ts';
import type { ConsumerGroupRecord } from '../amqp-records.ts';
import { amqpDeliveries, consumerGroups, subscribeRelations, subscriptionEntries } from '../tables.ts';

/** Consumer groups, subscribe relations and their (product, group, message type) entries. */

/** The head of the event log (0 when empty). */
export async function findLogHead(ex: Executor): Promise<number> {
  const rows = await query<{ p: string | number | null }>(ex, sql`select max(position) as p from events`);
  return Number(rows[0]?.p ?? 0);
}

// ---- consumer groups

export function listGroups(ex: Executor): Promise<ConsumerGroupRecord[]> {
  return ex.select().from(consumerGroups).orderBy(asc(consumerGroups.id));
}

export async function findGroup(ex: Executor, groupId: string): Promise<ConsumerGroupRecord | null> {
  const rows = await ex.select().from(consumerGroups).where(eq(consumerGroups.groupId, groupId));
  return rows[0] ?? null;
}

/** By Relay node id. */
export async function findGroupById(ex: Executor, id: number): Promise<ConsumerGroupRecord | null> {
  const rows = await ex.select().from(consumerGroups).where(eq(consumerGroups.id, id));
  return rows[0] ?? null;
}

/** Which of the given group ids exist. */
export async function findExistingGroupIds(ex: Executor, groupIds: readonly string[]): Promise<string[]> {
  const rows = await ex
    .select({ g: consumerGroups.groupId })
    .from(consumerGroups)
    .where(inArray(consumerGroups.groupId, [...groupIds]));
  return rows.map((r) => r.g);
}

export async function insertGroup(
  ex: Executor,
  g: { groupId: string; name: string; position: number },
): Promise<ConsumerGroupRecord> {
  const [row] = await ex.insert(consumerGroups).values(g).returning();
  return row!;
}

/** Insert the group unless it exists (several instances starting at once agree). */
export async function insertGroupIfAbsent(
  ex: Executor,
  g: { groupId: string; name: string; position: number },
): Promise<void> {
  await ex.insert(consumerGroups).values(g).onConflictDoNothing();
}

/** Delete the group with its entries and deliveries; false when it did not exist. */
export async function deleteGroup(ex: Executor, groupId: string): Promise<boolean> {
  const rows = await ex
    .delete(consumerGroups)
    .where(eq(consumerGroups.groupId, groupId))
    .returning({ id: consumerGroups.id });
  if (rows.length === 0) return false;
  await ex.delete(subscriptionEntries).where(eq(subscriptionEntries.groupId, groupId));
  await ex.delete(amqpDeliveries).where(eq(amqpDeliveries.groupId, groupId));
  return true;
}

/** Move the group's cursor to `position` and drop its deliveries; null when the group does not exist. */
export async function resetGroup(ex: Executor, groupId: string, position: number): Promise<ConsumerGroupRecord | null> {
  const [row] = await ex
    .update(consumerGroups)
    .set({ position })
    .where(eq(consumerGroups.groupId, groupId))
    .returning();
  if (!row) return null;
  await ex.delete(amqpDeliveries).where(eq(amqpDeliveries.groupId, groupId));
  return row;
}

/** Events of the product of the given types after `after`, device messages on /sys/ topics left out. */
export async function countSubscribedEvents(
  ex: Executor,
  productKey: string,
  types: readonly string[],
  after: number,
): Promise<number> {
  const rows = await query<{ n: string | number }>(
    ex,
    sql`select count(*) as n from events where product_key = ${productKey} and position > ${after}
        and type in (${sql.join(
          types.map((t) => sql`${t}`),
          sql`, `,
        )})
        and not (type = 'device.message' and data->>'topic' like '/sys/%')`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** Deliveries of the group settled above `after`. */
export async function countSettledAfter(ex: Executor, groupId: string, after: number): Promise<number> {
  const rows = await ex
    .select({ n: sql<number>`count(*)` })
    .from(amqpDeliveries)
    .where(
      and(eq(amqpDeliveries.groupId, groupId), eq(amqpDeliveries.settled, true), gt(amqpDeliveries.position, after)),
    );
  return Number(rows[0]?.n ?? 0);
}

// ---- subscribe relations and entries

export interface SubscriptionEntryRow {
  productKey: string;
  groupId: string;
  messageType: string;
  sincePosition: number;
}

/** Relations (of the given products; null: all) in creation order, with the entries of their products. */
export async function listRelations(
  ex: Executor,
  productKeys: readonly string[] | null,
): Promise<{ id: number; productKey: string; createdAt: Date; entries: SubscriptionEntryRow[] }[]> {
  const rels = await ex
    .select()
    .from(subscribeRelations)
    .where(productKeys ? inArray(subscribeRelations.productKey, [...productKeys, '']) : undefined)
    .orderBy(asc(subscribeRelations.id));
  if (rels.length === 0) return [];
  const entries = await ex
    .select()
    .from(subscriptionEntries)
    .where(
      inArray(
        subscriptionEntries.productKey,
        rels.map((r) => r.productKey),
      ),
    );
  return rels.map((r) => ({
    id: r.id,
    productKey: r.productKey,
    createdAt: r.createdAt,
    entries: entries.filter((e) => e.productKey === r.productKey),
  }));
}

/** Create the product's relation; false when it has one already. */
export async function insertRelation(ex: Executor, productKey: string): Promise<boolean> {
  const rows = await ex
    .insert(subscribeRelations)
    .values({ productKey })
    .onConflictDoNothing()
    .returning({ id: subscribeRelations.id });
  return rows.length > 0;
}

/** Mark the product's relation updated; false when it has none. */
export async function touchRelation(ex: Executor, productKey: string): Promise<boolean> {
  const rows = await ex
    .update(subscribeRelations)
    .set({ updatedAt: new Date() })
    .where(eq(subscribeRelations.productKey, productKey))
    .returning({ id: subscribeRelations.id });
  return rows.length > 0;
}

/** Delete the product's relation with its entries; false when it has none. */
export async function deleteRelation(ex: Executor, productKey: string): Promise<boolean> {
  const rows = await ex
    .delete(subscribeRelations)
    .where(eq(subscribeRelations.productKey, productKey))
    .returning({ id: subscribeRelations.id });
  if (rows.length === 0) return false;
  await ex.delete(subscriptionEntries).where(eq(subscriptionEntries.productKey, productKey));
  return true;
}

export function listProductEntries(ex: Executor, productKey: string): Promise<SubscriptionEntryRow[]> {
  return ex.select().from(subscriptionEntries).where(eq(subscriptionEntries.productKey, productKey));
}

export function listGroupEntries(ex: Executor, groupId: string): Promise<SubscriptionEntryRow[]> {
  return ex.select().from(subscriptionEntries).where(eq(subscriptionEntries.groupId, groupId));
}

export async function deleteEntry(
  ex: Executor,
  e: { productKey: string; groupId: string; messageType: string },
): Promise<void> {
  await ex
    .delete(subscriptionEntries)
    .where(
      and(
        eq(subscriptionEntries.productKey, e.productKey),
        eq(subscriptionEntries.groupId, e.groupId),
        eq(subscriptionEntries.messageType, e.messageType),
      ),
    );
}

export async function insertEntries(ex: Executor, entries: readonly SubscriptionEntryRow[]): Promise<void> {
  if (entries.length > 0) await ex.insert(subscriptionEntries).values([...entries]);
}
