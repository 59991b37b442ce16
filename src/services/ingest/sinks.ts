import { sql } from 'drizzle-orm';
import { query, type Tx } from '../../db/client.ts';
import { eventHistory, ingestDedupe, propertyHistory, propertyLatest } from '../../db/tables.ts';
import type { GroupCommitter } from '../../events/committer.ts';

export type HistoryRow = typeof propertyHistory.$inferInsert;
export type LatestRow = typeof propertyLatest.$inferInsert;
export type EventRow = typeof eventHistory.$inferInsert;

/** alink-protocol.md §3.3: at most 200 properties per post; each sink statement stays well below PG's parameter cap. */
const CHUNK = 2000;
/** A resent request (same device, id and payload) within this window is recognised as a duplicate. */
export const DEDUPE_WINDOW = '1 hour';

async function chunked<T>(rows: T[], fn: (part: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await fn(rows.slice(i, i + CHUNK));
}

/** The batch sinks of the thing-data tables, and the dedupe check: one statement each per group commit. */
export function registerThingDataSinks(committer: GroupCommitter): void {
  committer.sink('propertyHistory', (tx, rows) => chunked(rows as HistoryRow[], (part) => tx.insert(propertyHistory).values(part)));
  committer.sink('eventHistory', (tx, rows) => chunked(rows as EventRow[], (part) => tx.insert(eventHistory).values(part)));
  committer.sink('propertyLatest', async (tx, rows) => {
    // One row per (device, identifier) per statement (ON CONFLICT cannot touch a row twice): the newest wins.
    const newest = new Map<string, LatestRow>();
    for (const r of rows as LatestRow[]) {
      const k = `${r.deviceId}:${r.identifier}`;
      const cur = newest.get(k);
      if (!cur || cur.ts <= r.ts) newest.set(k, r);
    }
    await chunked([...newest.values()], (part) =>
      tx
        .insert(propertyLatest)
        .values(part)
        .onConflictDoUpdate({
          target: [propertyLatest.deviceId, propertyLatest.identifier],
          set: { ts: sql`excluded.ts`, value: sql`excluded.value` },
          // An offline history post with older times does not overwrite a newer latest value.
          setWhere: sql`excluded.ts >= ${propertyLatest.ts}`,
        }),
    );
  });
  committer.dedupeWith(async (tx: Tx, keys) => {
    const unique = [...new Map(keys.map((k) => [`${k.deviceId}:${k.key}`, k])).values()];
    const fresh = new Set<string>();
    for (let i = 0; i < unique.length; i += CHUNK) {
      const part = unique.slice(i, i + CHUNK);
      const values = sql.join(
        part.map((k) => sql`(${k.deviceId}::bigint, ${k.key}, ${k.hash})`),
        sql`, `,
      );
      const rows = await query<{ device_id: string | number; request_key: string }>(
        tx,
        sql`insert into ${ingestDedupe} (device_id, request_key, hash) values ${values}
            on conflict (device_id, request_key) do update set hash = excluded.hash, seen_at = now()
            where not (${ingestDedupe.hash} = excluded.hash and ${ingestDedupe.seenAt} > now() - ${DEDUPE_WINDOW}::interval)
            returning device_id, request_key`,
      );
      for (const r of rows) fresh.add(`${Number(r.device_id)}:${r.request_key}`);
    }
    return fresh;
  });
}
