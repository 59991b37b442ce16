import { eq } from 'drizzle-orm';
import type { Executor } from '../client.ts';
import { platformState } from '../tables.ts';

/** Store `value` under `key` unless the key is set; true when this call stored it. */
export async function insertStateIfAbsent(ex: Executor, key: string, value: unknown): Promise<boolean> {
  const rows = await ex
    .insert(platformState)
    .values({ key, value })
    .onConflictDoNothing()
    .returning({ key: platformState.key });
  return rows.length > 0;
}

/** The value stored under `key`, or undefined. */
export async function readState<T>(ex: Executor, key: string): Promise<T | undefined> {
  const rows = await ex.select({ value: platformState.value }).from(platformState).where(eq(platformState.key, key));
  return rows[0] ? (rows[0].value as T) : undefined;
}

export async function writeState(ex: Executor, key: string, value: unknown): Promise<void> {
  await ex
    .insert(platformState)
    .values({ key, value })
    .onConflictDoUpdate({ target: platformState.key, set: { value, updatedAt: new Date() } });
}
