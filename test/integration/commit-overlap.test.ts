/**
 * Overlapping group commits (events/committer.ts `schedule`): the next batch starts while the one before it waits for
 * its COMMIT, yet the event log, the rows both write and the settlements keep the order in which items were
 * submitted. PostgreSQL and PGlite (where the second transaction waits for the first: nothing overlaps, nothing breaks).
 */
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, query, queryPrepared, type Database } from '../../src/db/client.ts';
import { GroupCommitter, type CommitItem } from '../../src/events/committer.ts';
import { EventLog } from '../../src/events/log.ts';
import type { NewEvent } from '../../src/events/types.ts';
import { createLogger } from '../../src/logger.ts';
import { freshPostgresDatabase } from '../helpers/platform.ts';
import { requireService } from '../helpers/services-env.ts';

const KEYS = 7;

const targets: [string, boolean][] = [
  ['pglite', true],
  ['postgres', Boolean(requireService('TEST_DATABASE_URL'))],
];

describe.each(targets)('overlapping commits (%s)', (kind, available) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function open(): Promise<Database> {
    if (kind === 'pglite') {
      const database = await createDatabase({ url: 'memory://', dataDir: '' });
      cleanup.push(() => database.close());
      return database;
    }
    const fresh = await freshPostgresDatabase();
    cleanup.push(fresh.drop);
    const database = await createDatabase({ url: fresh.url, dataDir: '' });
    cleanup.push(() => database.close());
    return database;
  }

  it.skipIf(!available)('keeps submission order in the log, in the rows and in the settlements', async () => {
    const ITEMS = kind === 'postgres' ? 3000 : 1000;
    const database = await open();
    await database.migrate();
    await database.db.execute(sql`create table overlap_latest (k int primary key, seq int not null)`);
    const log = new EventLog(database);
    let batches = 0;
    let overlapped = 0;
    let unsettled = 0;
    const c = new GroupCommitter(database, log, createLogger('silent'), {
      delayMs: 1,
      maxBatch: 150,
      maxQueue: 10_000,
      onBatch: () => {
        batches++;
        // Items of an earlier batch not settled yet while this one starts: the commits overlap.
        if (unsettled > 0) overlapped++;
      },
    });
    cleanup.push(() => c.close());
    c.sink('latest', async (tx, rows) => {
      await queryPrepared(
        tx,
        sql`insert into overlap_latest (k, seq)
            select distinct on (x.k) x.k, x.seq
            from json_to_recordset(${JSON.stringify(rows)}::text::json) as x(k int, seq int)
            order by x.k, x.seq desc
            on conflict (k) do update set seq = excluded.seq`,
      );
    });

    const settledOrder: number[] = [];
    const item = (seq: number): CommitItem => ({
      build: () => ({
        // A type of its own, outside the platform's catalog: only its order is looked at.
        events: [{ type: 'test.overlap', data: { seq } } as unknown as NewEvent],
        rows: { latest: [{ k: seq % KEYS, seq }] },
      }),
    });
    const pending: Promise<unknown>[] = [];
    const lastOfKey = new Map<number, number>();
    for (let seq = 0; seq < ITEMS; seq++) {
      // Submitted in bursts, so that batches of many sizes start while others commit.
      if (seq % 40 === 0) await new Promise((r) => setImmediate(r));
      unsettled++;
      pending.push(
        c.commit(item(seq)).then(() => {
          unsettled--;
          settledOrder.push(seq);
        }),
      );
      lastOfKey.set(seq % KEYS, seq);
    }
    await Promise.all(pending);
    await c.idle();

    expect(settledOrder).toEqual([...Array(ITEMS).keys()]);
    const logged = await query<{ seq: number }>(
      database.db,
      sql`select (data->>'seq')::int as seq from events where type = 'test.overlap' order by position`,
    );
    expect(logged.map((r) => r.seq)).toEqual([...Array(ITEMS).keys()]);
    const latest = await query<{ k: number; seq: number }>(
      database.db,
      sql`select k, seq from overlap_latest order by k`,
    );
    expect(new Map(latest.map((r) => [r.k, r.seq]))).toEqual(lastOfKey);
    expect(batches).toBeGreaterThan(5);
    if (kind === 'postgres') expect(overlapped).toBeGreaterThan(0);
  });
});
