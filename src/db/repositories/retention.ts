import { lt, sql } from 'drizzle-orm';
import { query, type Executor } from '../client.ts';
import { commands, eventHistory, ingestDedupe, propertyHistory, propertyHourly } from '../tables.ts';

/** Delete rows matching `where` (by key column `key`) in batches of `batchSize` until none are left; returns the count. */
async function deleteInBatches(
  ex: Executor,
  table: typeof propertyHistory | typeof eventHistory | typeof commands,
  key: string,
  where: ReturnType<typeof sql>,
  batchSize: number,
): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await query<{ n: number }>(
      ex,
      sql`with gone as (delete from ${table} where ${sql.raw(key)} in (select ${sql.raw(key)} from ${table} where ${where} limit ${batchSize}) returning 1) select count(*)::int as n from gone`,
    );
    const n = Number(rows[0]?.n ?? 0);
    total += n;
    if (n < batchSize) return total;
  }
}

/**
 * Delete history (property and event points received before `cutoff`, commands requested before it) in small
 * batches so the tables stay available; rollup hours wholly before the cutoff go with their raw points, and dedupe
 * keys older than two hours. Returns the number of history and command rows deleted.
 */
export async function pruneHistory(ex: Executor, cutoff: Date, batchSize: number): Promise<number> {
  const before = cutoff.toISOString();
  let total = 0;
  for (const t of [propertyHistory, eventHistory])
    total += await deleteInBatches(ex, t, 'id', sql`received_at < ${before}::timestamptz`, batchSize);
  total += await deleteInBatches(ex, commands, 'message_id', sql`requested_at < ${before}::timestamptz`, batchSize);
  await ex.delete(propertyHourly).where(lt(propertyHourly.hour, new Date(cutoff.getTime() - 3600_000)));
  await ex.delete(ingestDedupe).where(lt(ingestDedupe.seenAt, new Date(Date.now() - 2 * 3600_000)));
  return total;
}
