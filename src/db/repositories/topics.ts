import { and, asc, count, eq } from 'drizzle-orm';
import type { Executor } from '../client.ts';
import type { TopicOperation, TopicRecord } from '../records.ts';
import { productTopics } from '../tables.ts';

export type NewTopic = Pick<
  typeof productTopics.$inferInsert,
  'productKey' | 'shortName' | 'operation' | 'description'
>;

export function toTopicRecord(r: typeof productTopics.$inferSelect): TopicRecord {
  return { ...r, operation: r.operation as TopicOperation };
}

/** A product's topic categories in creation order. */
export async function listTopics(ex: Executor, productKey: string): Promise<TopicRecord[]> {
  const rows = await ex
    .select()
    .from(productTopics)
    .where(eq(productTopics.productKey, productKey))
    .orderBy(asc(productTopics.id));
  return rows.map(toTopicRecord);
}

export async function findTopicById(ex: Executor, id: number): Promise<TopicRecord | null> {
  const rows = await ex.select().from(productTopics).where(eq(productTopics.id, id));
  return rows[0] ? toTopicRecord(rows[0]) : null;
}

export async function countTopics(ex: Executor, productKey: string): Promise<number> {
  const [n] = await ex.select({ n: count() }).from(productTopics).where(eq(productTopics.productKey, productKey));
  return Number(n?.n ?? 0);
}

export async function insertTopics(ex: Executor, topics: NewTopic[]): Promise<void> {
  await ex.insert(productTopics).values(topics);
}

/** Null when the product already has a category of that name. */
export async function insertTopicIfAbsent(ex: Executor, topic: NewTopic): Promise<TopicRecord | null> {
  const rows = await ex.insert(productTopics).values(topic).onConflictDoNothing().returning();
  return rows[0] ? toTopicRecord(rows[0]) : null;
}

/** The deleted category, or null when there was none. */
export async function deleteTopic(ex: Executor, productKey: string, shortName: string): Promise<TopicRecord | null> {
  const rows = await ex
    .delete(productTopics)
    .where(and(eq(productTopics.productKey, productKey), eq(productTopics.shortName, shortName)))
    .returning();
  return rows[0] ? toTopicRecord(rows[0]) : null;
}
