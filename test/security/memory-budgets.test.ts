/**
 * Memory bounded by bytes, not entries. With 256 KB payloads an entry-bounded cache or queue
 * grows to gigabytes; these budgets hold whatever the payload size, and the ingest queue pushes back (the submitter
 * waits, so the broker holds the PUBACK) instead of growing.
 */
import { buildSchema, parse, type ExecutionArgs } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { GroupCommitter, type CommitItem } from '../../src/events/committer.ts';
import type { EventLog } from '../../src/events/log.ts';
import { createSharedSubscriber } from '../../src/http/shared-subscriptions.ts';
import { createLogger } from '../../src/logger.ts';

const PAYLOAD = 256 * 1024;
const BUDGET = 2 * 1024 * 1024;

describe('memory budgets with 256 KB payloads', () => {
  it('keeps the shared subscription result cache within its byte budget, evicting the oldest results', async () => {
    const schema = buildSchema('type Query { ok: Boolean } type Subscription { posted: String }');
    const events = 40;
    async function* source() {
      for (let position = 1; position <= events; position++)
        yield { event: { position }, posted: String(position % 10).repeat(PAYLOAD) };
    }
    const rootValue = { posted: () => source() };
    const subscribe = createSharedSubscriber({ maxBytes: BUDGET, maskError: (e) => e as Error });
    const it = await subscribe({
      schema,
      document: parse('subscription { posted }'),
      rootValue,
    } as unknown as ExecutionArgs);
    if (!(Symbol.asyncIterator in it)) throw new Error('expected a stream');
    let received = 0;
    let peak = 0;
    for await (const r of it as AsyncIterable<{ data?: { posted?: string } }>) {
      expect(r.data?.posted).toHaveLength(PAYLOAD);
      received++;
      await new Promise((resolve) => setImmediate(resolve)); // let the entry learn its size
      peak = Math.max(peak, subscribe.stats().bytes);
    }
    expect(received).toBe(events);
    // 40 results of 256 KB are 10 MB: the cache keeps what fits in 2 MB.
    expect(peak).toBeLessThanOrEqual(BUDGET);
    expect(subscribe.stats().entries).toBeLessThan(BUDGET / PAYLOAD + 1);
  });

  it('holds ingest submissions back (no PUBACK) once the queue holds its byte budget, instead of growing', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const database = {
      db: {
        async transaction(fn: (tx: unknown) => Promise<unknown>) {
          await gate; // the database is slow: nothing commits until the gate opens
          return fn({});
        },
      },
    } as unknown as Database;
    const log = { appendInTx: async () => [], committed: () => {} } as unknown as EventLog;
    const c = new GroupCommitter(database, log, createLogger('silent'), {
      delayMs: 1,
      maxBatch: 1000,
      maxQueue: 10_000,
      maxQueueBytes: BUDGET,
    });
    const item = (): CommitItem => ({ bytes: 3 * PAYLOAD, build: () => ({ events: [] }) });

    const settled: boolean[] = [];
    const submissions = Array.from({ length: 40 }, (_, i) => c.commit(item()).then(() => void (settled[i] = true)));
    await new Promise((r) => setTimeout(r, 20));
    // 40 x 768 KB would be 30 MB queued: the queue keeps its budget, the rest wait (their PUBACKs with them).
    expect(c.queuedBytes).toBeLessThanOrEqual(BUDGET);
    expect(c.waitingItems).toBeGreaterThan(30);
    expect(settled.filter(Boolean)).toHaveLength(0);

    open();
    await Promise.all(submissions);
    expect(settled.filter(Boolean)).toHaveLength(40);
    expect(c.queuedBytes).toBe(0);
    expect(c.waitingItems).toBe(0);
    await c.close();
  });
});
