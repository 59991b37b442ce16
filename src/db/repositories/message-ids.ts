import { sql } from 'drizzle-orm';
import { query, type Executor } from '../client.ts';

/** The next block number of `message_id_seq` (hi/lo allocation of platform message ids). */
export async function nextMessageIdBlock(ex: Executor): Promise<number> {
  const rows = await query<{ b: string | number }>(ex, sql`select nextval('message_id_seq') as b`);
  return Number(rows[0]!.b);
}
