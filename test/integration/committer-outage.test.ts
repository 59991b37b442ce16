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

// A commit that cannot complete at all (its deadline, its rollback): commit-deadline.test.ts, on a real PostgreSQL.
