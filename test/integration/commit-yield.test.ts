/**
 * Group commits on the embedded database start one turn of the event loop apart (events/committer.ts
 * `yieldBetweenBatches`). PGlite answers a statement without waiting for I/O, so without it a backlog of batches was
 * committed as one chain of microtasks: no socket read and no timer in between, for seconds under load.
 */
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/client.ts';
import { GroupCommitter } from '../../src/events/committer.ts';
import { EventLog } from '../../src/events/log.ts';
import { createLogger } from '../../src/logger.ts';

describe('group commit on the embedded database', () => {
  let database: Database | null = null;
  afterEach(async () => {
    await database?.close();
    database = null;
  });

  it('lets the event loop turn between back-to-back batches', async () => {
    database = await createDatabase({ url: 'memory://', dataDir: '' });
    // Turns of the event loop, counted from the check phase: what a socket read or a timer would wait for.
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const startedAt: number[] = [];
    const committer = new GroupCommitter(database, new EventLog(database), createLogger('silent'), {
      delayMs: 0,
      maxBatch: 5,
      maxQueue: 1000,
      yieldBetweenBatches: true,
      onBatch: () => startedAt.push(turns),
    });
    const ran: number[] = [];
    // 30 items submitted at once: 6 batches of 5, each a transaction of its own.
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        committer.commit({
          work: async (tx) => {
            await tx.execute(sql`select 1`);
            ran.push(i);
            return [];
          },
        }),
      ),
    );
    spinning = false;
    await committer.close();
    expect(outcomes).toHaveLength(30);
    expect(ran).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(startedAt.length).toBeGreaterThanOrEqual(6);
    // Each batch starts at least one turn after the one before it (without the option all six start in one turn).
    for (let k = 1; k < startedAt.length; k++) expect(startedAt[k]).toBeGreaterThan(startedAt[k - 1]!);
  });
});
