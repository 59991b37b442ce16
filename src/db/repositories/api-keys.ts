import { asc, eq, sql } from 'drizzle-orm';
import type { Executor } from '../client.ts';
import { apiKeys } from '../tables.ts';

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type NewApiKey = Pick<
  typeof apiKeys.$inferInsert,
  'name' | 'role' | 'productKeys' | 'tokenHash' | 'tokenPrefix'
>;

export async function findApiKeyByTokenHash(ex: Executor, tokenHash: string): Promise<ApiKeyRow | null> {
  const rows = await ex.select().from(apiKeys).where(eq(apiKeys.tokenHash, tokenHash)).limit(1);
  return rows[0] ?? null;
}

export async function findApiKey(ex: Executor, id: number): Promise<ApiKeyRow | null> {
  const rows = await ex.select().from(apiKeys).where(eq(apiKeys.id, id));
  return rows[0] ?? null;
}

export const listApiKeys = (ex: Executor): Promise<ApiKeyRow[]> => ex.select().from(apiKeys).orderBy(asc(apiKeys.id));

export async function insertApiKey(ex: Executor, values: NewApiKey): Promise<ApiKeyRow> {
  const [row] = await ex.insert(apiKeys).values(values).returning();
  return row!;
}

/** Revoke the key (keeping the first revocation time); null when there is no such key. */
export async function revokeApiKey(ex: Executor, id: number): Promise<ApiKeyRow | null> {
  const [row] = await ex
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
    .where(eq(apiKeys.id, id))
    .returning();
  return row ?? null;
}
