/**
 * The embedded database's own autovacuum (src/db/pglite-autovacuum.ts): PGlite has none, so a statement planned on a
 * small table kept scanning it once it had grown, and deleted rows' space was never reused.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { startPgliteAutovacuum } from '../../src/db/pglite-autovacuum.ts';
import { PGliteStatements } from '../../src/db/pglite-statements.ts';
import { createLogger } from '../../src/logger.ts';

let template: Blob | null = null;
let pg: PGlite;
let autovacuum: ReturnType<typeof startPgliteAutovacuum>;

beforeEach(async () => {
  template ??= new Blob([readFileSync(inject('pgliteTemplate'))]);
  pg = await PGlite.create({ loadDataDir: template });
  new PGliteStatements(pg).install();
  await pg.exec(`create table readings (k text primary key, v int not null, pad text)`);
  // Runs only when asked (the timers are far off).
  autovacuum = startPgliteAutovacuum(pg, createLogger('silent'), { everyMs: 3_600_000, firstAfterMs: 3_600_000 });
});

afterEach(async () => {
  await autovacuum.stop();
  if (!pg.closed) await pg.close();
});

const fill = (from: number, n: number) =>
  pg.query(`insert into readings select 'k' || g, g, repeat('x', 100) from generate_series($1::int, $2::int) g`, [
    from,
    from + n - 1,
  ]);

describe('embedded database autovacuum', () => {
  it('analyzes a grown table, so a statement planned while it was small looks rows up by index again', async () => {
    const update = `update readings r set v = x.v
      from (select * from json_to_recordset($1::text::json) as x(k text, v int) limit $2) x where r.k = x.k`;
    const batch = JSON.stringify([
      { k: 'k7', v: -7 },
      { k: 'k4000', v: -4000 },
    ]);
    /** Sequential and index scans of `readings` by one run of the update: the difference of the backend's not yet
     *  flushed counts around it, in one transaction (the counts carry other transactions' until they are flushed). */
    const scans = () =>
      pg.transaction(async (tx) => {
        const count = async () =>
          (
            await tx.query<{ seq: number; idx: number }>(
              `select seq_scan::int as seq, idx_scan::int as idx from pg_stat_xact_user_tables where relname = 'readings'`,
            )
          ).rows[0]!;
        const before = await count();
        await tx.query(update, [batch, 2]);
        const after = await count();
        return { seq: after.seq - before.seq, idx: after.idx - before.idx };
      });

    await fill(1, 10);
    for (let i = 0; i < 8; i++) await scans(); // planned, and its plan cached, on a table of one page
    await fill(11, 5_000);
    // The cached plan still reads the whole table.
    expect(await scans()).toEqual({ seq: 1, idx: 0 });

    const run = await autovacuum.run();
    expect([...run.vacuumed, ...run.analyzed]).toContain('public.readings');
    expect(await scans()).toEqual({ seq: 0, idx: 2 }); // one look-up per row of the batch
    expect((await pg.query(`select v from readings where k in ('k7', 'k4000') order by v`)).rows).toEqual([
      { v: -4000 },
      { v: -7 },
    ]);
    // Nothing left to do until the table changes again.
    expect(await autovacuum.run()).toEqual({ vacuumed: [], analyzed: [] });
  });

  it('vacuums a table whose rows were deleted, so new rows reuse their space instead of growing the file', async () => {
    const size = async () =>
      Number((await pg.query<{ n: string }>(`select pg_relation_size('readings')::text as n`)).rows[0]!.n);
    await fill(1, 5_000);
    await autovacuum.run();
    const full = await size();

    await pg.query(`delete from readings`);
    expect((await autovacuum.run()).vacuumed).toContain('public.readings');
    await fill(5_001, 5_000);
    expect(await size()).toBeLessThanOrEqual(full);
  });

  it('vacuums every table, catalogs included, whose oldest unfrozen transaction is too old, changed or not', async () => {
    await fill(1, 10);
    const freezing = startPgliteAutovacuum(pg, createLogger('silent'), {
      everyMs: 3_600_000,
      firstAfterMs: 3_600_000,
      freezeMaxAge: 1, // instead of 200 million transactions
    });
    const age = async () =>
      Number(
        (await pg.query<{ n: string }>(`select age(relfrozenxid)::text as n from pg_class where relname = 'readings'`))
          .rows[0]!.n,
      );
    try {
      await pg.query(`update readings set v = v + 1`); // a later transaction than the rows' first one
      const before = await age();
      const run = await freezing.run();
      expect(run.vacuumed).toEqual(expect.arrayContaining(['public.readings', 'pg_catalog.pg_class']));
      expect(await age()).toBeLessThan(before);
    } finally {
      await freezing.stop();
    }
  });

  it('a run on a closed database fails quietly: logged, not thrown', async () => {
    const lines: string[] = [];
    const log = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const watched = startPgliteAutovacuum(pg, createLogger('warn', 'json', log), {
      everyMs: 3_600_000,
      firstAfterMs: 3_600_000,
    });
    await fill(1, 100);
    await pg.close();
    try {
      expect(await watched.run()).toEqual({ vacuumed: [], analyzed: [] });
    } finally {
      await watched.stop();
    }
    expect(lines.map((l) => JSON.parse(l) as { level: number; msg: string })).toEqual([
      expect.objectContaining({ level: 40, msg: 'embedded database: vacuum run failed' }),
    ]);
  });
});
