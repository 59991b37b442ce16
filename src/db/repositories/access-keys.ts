import { asc, eq, sql } from 'drizzle-orm';
import type { Executor } from '../client.ts';
import { accessKeys } from '../tables.ts';

export type AccessKeyRow = typeof accessKeys.$inferSelect;
export type NewAccessKey = Pick<
  typeof accessKeys.$inferInsert,
  'accessKeyId' | 'name' | 'role' | 'productKeys' | 'secretEnc'
>;

export async function findAccessKey(ex: Executor, accessKeyId: string): Promise<AccessKeyRow | null> {
  const rows = await ex.select().from(accessKeys).where(eq(accessKeys.accessKeyId, accessKeyId)).limit(1);
  return rows[0] ?? null;
}

export async function findAccessKeyById(ex: Executor, id: number): Promise<AccessKeyRow | null> {
  const rows = await ex.select().from(accessKeys).where(eq(accessKeys.id, id));
  return rows[0] ?? null;
}

export const listAccessKeys = (ex: Executor): Promise<AccessKeyRow[]> =>
  ex.select().from(accessKeys).orderBy(asc(accessKeys.id));

export async function insertAccessKey(ex: Executor, values: NewAccessKey): Promise<AccessKeyRow> {
  const [row] = await ex.insert(accessKeys).values(values).returning();
  return row!;
}

/** Revoke the key (keeping the first revocation time); null when there is no such key. */
export async function revokeAccessKey(ex: Executor, accessKeyId: string): Promise<AccessKeyRow | null> {
  const [row] = await ex
    .update(accessKeys)
    .set({ revokedAt: sql`coalesce(${accessKeys.revokedAt}, now())` })
    .where(eq(accessKeys.accessKeyId, accessKeyId))
    .returning();
  return row ?? null;
}

/** Record that the key was just used. */
export async function touchAccessKey(ex: Executor, accessKeyId: string): Promise<void> {
  await ex.update(accessKeys).set({ lastUsedAt: sql`now()` }).where(eq(accessKeys.accessKeyId, accessKeyId));
}
