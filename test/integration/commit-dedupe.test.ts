/**
 * The group commit's optimistic dedupe check (events/commit-batch.ts): the check goes out with the batch's other
 * statements, every item built as new; when its answer names a resend of a committed message, the transaction rolls
 * back and the batch runs again with the check first, and the next batches check first for a while
 * (events/committer.ts `checkFirst`). The real dedupe statement (db/repositories/history.ts) on a real database.
 */
import { randomInt } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { query } from '../../src/db/client.ts';
import { recordRequestKeys } from '../../src/db/repositories/history.ts';
import { GroupCommitter, type CommitItem } from '../../src/events/committer.ts';
import { EventLog } from '../../src/events/log.ts';
import { createLogger } from '../../src/logger.ts';
import { describeEachDb } from '../helpers/services-env.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/test-db.ts';

describeEachDb('the optimistic dedupe check on %s', (kind) => {
  let tdb: TestDatabase;
  let committer: GroupCommitter;
  let reruns = 0;
  let batches = 0;
  // A device id of this run: ingest_dedupe is keyed by device, and a used PostgreSQL server keeps earlier runs' rows.
  const device = randomInt(1_000_000, 2 ** 40);
  const table = `dedupe_tags_${kind}`;

  beforeAll(async () => {
    tdb = await openTestDatabase(kind);
    await query(tdb.database.db, sql.raw(`create table ${table} (tag text not null)`));
    committer = new GroupCommitter(tdb.database, new EventLog(tdb.database), createLogger('silent'), {
      // Items submitted in one turn share a batch.
      delayMs: 20,
      maxBatch: 100,
      maxQueue: 1000,
      onBatch: () => batches++,
      onRanAgain: () => reruns++,
    });
    committer.dedupeWith(recordRequestKeys);
    committer.sink('tags', async (tx, rows) => {
      await query(
        tx,
        sql`insert into ${sql.raw(table)} (tag) select jsonb_array_elements_text(${JSON.stringify(rows)}::text::jsonb)`,
      );
    });
  });
  afterAll(async () => {
    await committer?.close();
    await tdb?.close();
  });

  /** A post with request id `key`: stores its tag and one event unless it is a resend. */
  const post = (key: string, tag: string, hash = `h-${key}`): CommitItem => ({
    dedupe: { deviceId: device, key, hash },
    build: (duplicate) =>
      duplicate ? { events: [] } : { events: [{ type: 'device.message', data: { tag } }], rows: { tags: [tag] } },
  });
  const tags = async () =>
    (await query<{ tag: string }>(tdb.database.db, sql.raw(`select tag from ${table} order by tag`))).map((r) => r.tag);
  /** Items submitted in one turn with nothing in flight: one batch. */
  const commitTogether = async (items: CommitItem[]) => {
    await committer.idle();
    return Promise.all(items.map((i) => committer.commit(i)));
  };

  it('runs a batch holding a resend of a committed post again, storing the new posts once and the resend not again', async () => {
    await committer.commit(post('1', 'a'));
    await committer.idle();
    expect(reruns).toBe(0);
    const before = batches;
    const out = await commitTogether([post('2', 'b'), post('1', 'a'), post('3', 'c')]);
    expect(batches - before).toBe(1);
    expect(out.map((o) => o.duplicate)).toEqual([false, true, false]);
    expect(out.map((o) => o.events.length)).toEqual([1, 0, 1]);
    expect(reruns).toBe(1);
    expect(await tags()).toEqual(['a', 'b', 'c']);
  });

  it('checks first in the batches after that, and recognises a second copy within a batch without a rerun', async () => {
    // Checked first: the resend is found before anything is built, so nothing runs twice.
    const out = await commitTogether([post('3', 'c'), post('4', 'd'), post('4', 'd')]);
    expect(out.map((o) => o.duplicate)).toEqual([true, false, true]);
    expect(reruns).toBe(1);
    // A reused id with another payload is a new post, as before.
    const reused = await committer.commit(post('2', 'b2', 'another hash'));
    expect(reused.duplicate).toBe(false);
    expect(await tags()).toEqual(['a', 'b', 'b2', 'c', 'd']);
  });
});
