import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../client.ts';
import { idWindowClauses, type IdWindow } from '../id-window.ts';
import type { DeadLetterRecord } from '../rule-records.ts';
import { deadLetters } from '../tables.ts';

export type NewDeadLetter = Omit<typeof deadLetters.$inferInsert, 'id' | 'createdAt' | 'redrivenAt'>;

export async function insertDeadLetter(ex: Executor, dl: NewDeadLetter): Promise<void> {
  await ex.insert(deadLetters).values(dl);
}

/** A page of the rule's dead letters, `limit` rows. */
export async function pageDeadLetters(ex: Executor, ruleId: number, w: IdWindow): Promise<DeadLetterRecord[]> {
  const c = idWindowClauses(deadLetters.id, w);
  const rows = await ex
    .select()
    .from(deadLetters)
    .where(and(eq(deadLetters.ruleId, ruleId), c.where))
    .orderBy(c.orderBy)
    .limit(w.limit);
  return rows as DeadLetterRecord[];
}

export function countDeadLetters(ex: Executor, ruleId: number): Promise<number> {
  return ex.$count(deadLetters, eq(deadLetters.ruleId, ruleId));
}

/** The rule's dead letters not redriven yet (only those in `ids` when given), oldest first, at most `limit`. */
export async function listPendingDeadLetters(
  ex: Executor,
  ruleId: number,
  ids: readonly number[] | null,
  limit: number,
): Promise<DeadLetterRecord[]> {
  const rows = await ex
    .select()
    .from(deadLetters)
    .where(
      and(
        eq(deadLetters.ruleId, ruleId),
        isNull(deadLetters.redrivenAt),
        ids ? inArray(deadLetters.id, [...ids, -1]) : undefined,
      ),
    )
    .orderBy(asc(deadLetters.id))
    .limit(limit);
  return rows as DeadLetterRecord[];
}

export async function markDeadLetterRedriven(ex: Executor, id: number): Promise<void> {
  await ex.update(deadLetters).set({ redrivenAt: new Date() }).where(eq(deadLetters.id, id));
}

/** A redrive failed: one more attempt, and its error. */
export async function recordDeadLetterFailure(ex: Executor, id: number, error: string): Promise<void> {
  await ex
    .update(deadLetters)
    .set({ attempts: sql`${deadLetters.attempts} + 1`, error })
    .where(eq(deadLetters.id, id));
}
