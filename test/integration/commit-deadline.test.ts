/**
 * The group committer's deadline on a real PostgreSQL: a batch whose transaction cannot finish (here: it waits on a
 * lock another session holds, as a transaction on a lost or stuck connection waits for ever) fails as unavailable
 * after `commitTimeoutMs`, so its devices get no PUBACK and resend, and the committer goes on with what comes next.
 * When the stuck transaction gets going again later, it rolls back: nothing of the abandoned batch is stored.
 * PostgreSQL only (PGlite is one connection: no other session can hold the lock).
 */
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, query, type Database } from '../../src/db/client.ts';
import { GroupCommitter, isUnavailable, type CommitItem } from '../../src/events/committer.ts';
import { EventLog } from '../../src/events/log.ts';
import { createLogger } from '../../src/logger.ts';
import { freshPostgresDatabase } from '../helpers/platform.ts';
import { requireService } from '../helpers/services-env.ts';
import { waitFor } from '../helpers/wait.ts';

/** The lock each item's statement waits for while the test holds it in another session. */
const ITEM_LOCK = 7_354_999;

describe.skipIf(!requireService('TEST_DATABASE_URL'))('a commit that cannot complete (PostgreSQL)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function setup(opts: { maxQueueBytes?: number } = {}) {
    const fresh = await freshPostgresDatabase();
    cleanup.push(fresh.drop);
    const database: Database = await createDatabase({ url: fresh.url, dataDir: '' });
    cleanup.push(() => database.close());
    await database.migrate();
    await database.db.execute(sql`create table deadline_items (tag text primary key)`);
    // The other session: holds the lock until `release`.
    const other = postgres(fresh.url, { max: 1, onnotice: () => {} });
    cleanup.push(() => other.end({ timeout: 5 }));
    const held = await other.reserve();
    await held`select pg_advisory_lock(${ITEM_LOCK})`;
    const release = async () => {
      await held`select pg_advisory_unlock(${ITEM_LOCK})`;
      held.release();
    };
    const c = new GroupCommitter(database, new EventLog(database), createLogger('silent'), {
      delayMs: 1,
      maxBatch: 1000,
      maxQueue: 10_000,
      // Long enough for a free lock to be taken at once; the stuck batch waits on the held lock however long it is.
      commitTimeoutMs: 500,
      ...opts,
    });
    cleanup.push(() => c.close());
    // Each item waits for the lock, then stores its tag: a stuck batch is stuck in its first item.
    const item = (tag: string, bytes = 0): CommitItem => ({
      bytes,
      work: async (tx) => {
        await query(tx, sql`select pg_advisory_xact_lock(${ITEM_LOCK})`);
        await query(tx, sql`insert into deadline_items (tag) values (${tag})`);
        return [];
      },
    });
    const stored = async () =>
      (await query<{ tag: string }>(database.db, sql`select tag from deadline_items order by tag`)).map((r) => r.tag);
    // Sessions holding or awaiting the item lock (an advisory lock on one bigint below 2^32 has it as objid).
    const lockSessions = async () =>
      Number(
        (
          await query<{ n: string }>(
            database.db,
            sql`select count(*) as n from pg_locks where locktype = 'advisory' and objid = ${ITEM_LOCK}`,
          )
        )[0]?.n,
      );
    return { c, item, release, stored, lockSessions };
  }

  const code = (r: PromiseSettledResult<unknown>) =>
    r.status === 'rejected' ? (r.reason as { code?: string }).code : 'fulfilled';

  it('fails the stuck batch as unavailable, rolls it back when it gets going, and commits what comes next', async () => {
    const { c, item, release, stored, lockSessions } = await setup();
    const first = await Promise.allSettled([c.commit(item('a')), c.commit(item('b'))]);
    expect(first.map(code)).toEqual(['COMMIT_TIMEOUT', 'COMMIT_TIMEOUT']);
    expect(first.every((r) => r.status === 'rejected' && isUnavailable(r.reason))).toBe(true);
    // The stuck transaction now gets its lock and goes on: it must roll back, not store `a` and `b` unacknowledged.
    await release();
    // It ends (rolled back, below) before `c` is sent: `c` would otherwise wait on the lock behind it, and on a loaded
    // machine that can outlast the deadline (CI failed once so).
    await waitFor(lockSessions, { until: (n) => n === 0, message: 'the abandoned transaction to end' });
    await c.commit(item('c'));
    await c.idle();
    expect(await stored()).toEqual(['c']);
  });

  it('lets the items waiting for room under the byte budget in once the stuck batch has failed', async () => {
    const { c, item, release, stored } = await setup({ maxQueueBytes: 150 });
    const stuck = c.commit(item('a', 100));
    // No room for it while `a` holds its bytes: it waits (its device gets no PUBACK meanwhile).
    const waiting = c.commit(item('b', 100));
    expect(c.waitingItems).toBe(1);
    expect((await Promise.allSettled([stuck])).map(code)).toEqual(['COMMIT_TIMEOUT']);
    // `b` is in now, and stuck behind the same lock until it is released.
    await release();
    await waiting;
    await c.idle();
    expect(c.queuedBytes).toBe(0);
    expect(await stored()).toEqual(['b']);
  });
});
