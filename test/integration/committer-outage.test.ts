/**
 * The group committer when its transaction fails. A database that cannot be reached fails every item of a batch at
 * once (nothing acknowledged; devices resend) instead of retrying a thousand items one by one, each waiting for its
 * own connect timeout; an item whose data the database refuses fails alone. The database here is a stand-in whose
 * transactions fail the way postgres.js and PostgreSQL report it (error codes), and counts its transactions: one
 * transaction per batch, not one per item, is what keeps an outage from taking items x connect timeout.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { GroupCommitter, isUnavailable, type CommitItem } from '../../src/events/committer.ts';
import type { EventLog } from '../../src/events/log.ts';
import { createLogger } from '../../src/logger.ts';

/** A failure that takes a while, as a connect timeout does. */
const SLOW_FAILURE_MS = 50;

/** postgres.js wraps driver errors; drizzle wraps them again in DrizzleQueryError with `cause`. */
const wrapped = (code: string) =>
  Object.assign(new Error('Failed query: ...'), { cause: Object.assign(new Error(code), { code }) });

function fakeDatabase(behaviour: (items: number) => Promise<void>) {
  const transactions: number[] = [];
  const database = {
    db: {
      async transaction(fn: (tx: unknown) => Promise<unknown>) {
        let rows = 0;
        const tx = { rows: (n: number) => (rows += n) };
        const result = await fn(tx);
        transactions.push(rows);
        await behaviour(rows);
        return result;
      },
    },
  } as unknown as Database;
  const log = { appendInTx: async () => [], committed: () => {} } as unknown as EventLog;
  return { database, log, transactions };
}

function committer(behaviour: (items: number) => Promise<void>) {
  const f = fakeDatabase(behaviour);
  const c = new GroupCommitter(f.database, f.log, createLogger('silent'), {
    delayMs: 5,
    maxBatch: 1000,
    maxQueue: 10_000,
  });
  return { c, transactions: f.transactions };
}

const item = (tag: string): CommitItem => ({
  work: async (tx) => {
    (tx as unknown as { rows: (n: number) => void }).rows(1);
    if (tag === 'bad') throw wrapped('22P02'); // invalid_text_representation: this item's data
    return [];
  },
});

describe('group commit failures', () => {
  it('classifies connection and server failures as unavailable, data errors as not', () => {
    for (const code of [
      'ECONNREFUSED',
      'ECONNRESET',
      'CONNECTION_CLOSED',
      'CONNECTION_DESTROYED',
      'CONNECT_TIMEOUT',
      '08006',
      '57P01',
      '53300',
    ]) {
      expect(isUnavailable(wrapped(code)), code).toBe(true);
    }
    for (const code of ['22P02', '23505', '22P05', '42P01']) expect(isUnavailable(wrapped(code)), code).toBe(false);
    expect(isUnavailable(new RangeError('Invalid time value'))).toBe(false);
  });

  it('fails a whole batch at once when the database is unreachable, without retrying its items one by one', async () => {
    const { c, transactions } = committer(async () => {
      await new Promise((r) => setTimeout(r, SLOW_FAILURE_MS));
      throw wrapped('CONNECT_TIMEOUT');
    });
    const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => c.commit(item(String(i)))));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    // One failed transaction for the batch, not 300 of them one after the other (300 x SLOW_FAILURE_MS). Counted,
    // not timed: a busy machine must not fail it, nor let a regression pass.
    expect(transactions).toEqual([300]);
    // The committer keeps working once the database is back.
    await c.close();
  });

  it('stops retrying one by one as soon as a retry finds the database gone', async () => {
    let calls = 0;
    const { c, transactions } = committer(async () => {
      calls++;
      if (calls === 1) throw wrapped('22P02'); // the batch fails on data...
      throw wrapped('ECONNREFUSED'); // ...and the first retry finds the database gone
    });
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => c.commit(item(String(i)))));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(transactions).toEqual([50, 1]);
  });

  it("retries the items of a batch one by one when one item's data is refused, so only that item fails", async () => {
    const { c, transactions } = committer(async () => {});
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((tag) => c.commit(item(tag))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    // The failed batch threw inside `work` before its transaction completed; then one transaction per item.
    expect(transactions).toEqual([1, 1]);
  });
});

describe('a commit that cannot complete', () => {
  /**
   * A stand-in whose first transaction hangs as a lost connection's does: it never answers (`gate` never opens), or
   * answers only once the gate opens. Later transactions run normally.
   */
  function hangingFirst(opts: { maxQueueBytes?: number } = {}) {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const ran: string[] = [];
    let calls = 0;
    const database = {
      db: {
        async transaction(fn: (tx: unknown) => Promise<unknown>) {
          if (++calls === 1) await gate;
          return fn({});
        },
      },
    } as unknown as Database;
    const log = { appendInTx: async () => [], committed: () => {} } as unknown as EventLog;
    const c = new GroupCommitter(database, log, createLogger('silent'), {
      delayMs: 1,
      maxBatch: 1000,
      maxQueue: 10_000,
      commitTimeoutMs: 50,
      ...opts,
    });
    const work = (tag: string, bytes = 0): CommitItem => ({
      bytes,
      work: async () => {
        ran.push(tag);
        return [];
      },
    });
    return { c, ran, work, openGate: () => open() };
  }

  const code = (r: PromiseSettledResult<unknown>) =>
    r.status === 'rejected' ? (r.reason as { code?: string }).code : 'fulfilled';

  it('fails the batch once its deadline passes, as unavailable, and commits what comes next', async () => {
    const { c, ran, work } = hangingFirst();
    const first = await Promise.allSettled([c.commit(work('a')), c.commit(work('b'))]);
    expect(first.map(code)).toEqual(['COMMIT_TIMEOUT', 'COMMIT_TIMEOUT']);
    expect(first.every((r) => r.status === 'rejected' && isUnavailable(r.reason))).toBe(true);
    await c.commit(work('c'));
    expect(ran).toEqual(['c']);
    await c.close();
  });

  it('lets the items waiting for room under the byte budget in once the stuck batch has failed', async () => {
    const { c, ran, work } = hangingFirst({ maxQueueBytes: 150 });
    const stuck = c.commit(work('a', 100));
    // No room for it while `a` holds its bytes: it waits (its device gets no PUBACK meanwhile).
    const waiting = c.commit(work('b', 100));
    expect(c.waitingItems).toBe(1);
    expect((await Promise.allSettled([stuck])).map(code)).toEqual(['COMMIT_TIMEOUT']);
    await waiting;
    await c.close();
    expect(ran).toEqual(['b']);
    expect(c.queuedBytes).toBe(0);
  });

  it('rolls a transaction that gets going after its deadline back before it runs any item', async () => {
    const { c, ran, work, openGate } = hangingFirst();
    expect((await Promise.allSettled([c.commit(work('late'))])).map(code)).toEqual(['COMMIT_TIMEOUT']);
    openGate();
    await c.commit(work('next'));
    await c.close();
    expect(ran).toEqual(['next']);
  });
});
