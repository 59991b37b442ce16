import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../client.ts';
import { topicRoutes } from '../tables.ts';

/** Every route as (source, destination) pairs, in creation order. */
export function listTopicRoutes(ex: Executor): Promise<{ srcTopic: string; dstTopic: string }[]> {
  return ex
    .select({ srcTopic: topicRoutes.srcTopic, dstTopic: topicRoutes.dstTopic })
    .from(topicRoutes)
    .orderBy(asc(topicRoutes.id));
}

/** The destinations of one source topic, in creation order. */
export async function listRouteDestinations(ex: Executor, srcTopic: string): Promise<string[]> {
  const rows = await ex
    .select({ dstTopic: topicRoutes.dstTopic })
    .from(topicRoutes)
    .where(eq(topicRoutes.srcTopic, srcTopic))
    .orderBy(asc(topicRoutes.id));
  return rows.map((r) => r.dstTopic);
}

/** Add routes from `srcTopic`; pairs that exist already are kept as they are. */
export async function insertTopicRoutes(ex: Executor, srcTopic: string, dstTopics: readonly string[]): Promise<void> {
  await ex
    .insert(topicRoutes)
    .values(dstTopics.map((d) => ({ srcTopic, dstTopic: d })))
    .onConflictDoNothing();
}

/** Remove the routes from `srcTopic` (only to `dstTopics` when given); how many were removed. */
export async function deleteTopicRoutes(
  ex: Executor,
  srcTopic: string,
  dstTopics: readonly string[] | null,
): Promise<number> {
  const rows = await ex
    .delete(topicRoutes)
    .where(
      and(
        eq(topicRoutes.srcTopic, srcTopic),
        dstTopics ? inArray(topicRoutes.dstTopic, [...dstTopics, '']) : undefined,
      ),
    )
    .returning({ id: topicRoutes.id });
  return rows.length;
}
