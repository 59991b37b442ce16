/**
 * The embedded database's prepared statements (src/db/pglite-statements.ts), on a real PGlite: results as PGlite's
 * own `query` gives them, each text prepared once (PostgreSQL's pg_prepared_statements says so), the least recently
 * used closed beyond the capacity, long texts unnamed, errors that leave the connection usable, a plan made stale by
 * ALTER TABLE or gone after DEALLOCATE ALL, and the locks: a statement outside a transaction waits for the
 * transaction, never runs inside it.
 */
import { readFileSync } from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
import { afterEach, beforeEach, describe, expect, inject, it, onTestFinished } from 'vitest';
import { PGliteStatements } from '../../src/db/pglite-statements.ts';

let pg: PGlite;
let statements: PGliteStatements;

async function prepared(): Promise<string[]> {
  // Read through the untouched instance's protocol: this query is not prepared itself (it would count).
  const r = await pg.exec(`select statement from pg_prepared_statements order by statement`);
  return r[0]!.rows.map((row) => (row as { statement: string }).statement);
}

let template: Blob | null = null;
const DDL = `create table t (id bigserial primary key, name text not null, doc jsonb, at timestamptz default '2026-01-02T03:04:05Z', tags text[], raw bytea)`;

beforeEach(async () => {
  // From the suite's migrated template (~1 s each instead of an initdb); table t is this file's own.
  template ??= new Blob([readFileSync(inject('pgliteTemplate'))]);
  pg = await PGlite.create({ loadDataDir: template });
  await pg.exec(DDL);
  statements = new PGliteStatements(pg, { capacity: 3, maxTextLength: 200 });
  statements.install();
});

afterEach(async () => {
  await pg.close();
});

describe('PGlite prepared statements', () => {
  it('returns what PGlite query returns, for every parameter and result type and both row modes', async () => {
    // The reference: the same database without prepared statements.
    const plain = await PGlite.create({ loadDataDir: template! });
    onTestFinished(() => plain.close());
    await plain.exec(DDL);
    const insert = `insert into t (name, doc, tags, raw) values ($1, $2, $3, $4) returning id, name, doc, at, tags, raw`;
    const params = ['lamp', { on: true, n: [1, 2] }, ['a', 'b,c'], new Uint8Array([0, 1, 255])];
    for (let i = 0; i < 3; i++) {
      const [a, b] = [await plain.query(insert, params), await pg.query(insert, params)];
      expect(b).toEqual(a);
    }
    const drizzleLike = { rowMode: 'array' as const, parsers: { [types.TIMESTAMPTZ]: (v: string) => v } };
    const select = `select id, doc->'n' as n, at from t where name = $1 order by id`;
    const [a, b] = [await plain.query(select, ['lamp'], drizzleLike), await pg.query(select, ['lamp'], drizzleLike)];
    expect(b).toEqual(a);
    expect(b.rows).toHaveLength(3);
    expect(typeof (b.rows[0] as unknown[])[2]).toBe('string');
    // Each caller's parsers apply to its own statements only (their merge with PGlite's is kept per parsers object).
    const tenfold = { parsers: { [types.INT4]: (v: string) => Number(v) * 10 } };
    const count = `select count(*)::int as n, min(at) as at from t`;
    for (let i = 0; i < 2; i++) {
      const [c, d] = [await plain.query(count, [], tenfold), await pg.query(count, [], tenfold)];
      expect(d).toEqual(c);
      expect(d.rows).toEqual([{ n: 30, at: new Date('2026-01-02T03:04:05Z') }]);
      expect((await pg.query(count, [], drizzleLike)).rows).toEqual([[3, '2026-01-02 03:04:05+00']]);
      expect((await pg.query(count)).rows).toEqual([{ n: 3, at: new Date('2026-01-02T03:04:05Z') }]);
    }
    const update = `update t set name = $1 where name = $2`;
    expect(await pg.query(update, ['bulb', 'lamp'])).toMatchObject({ affectedRows: 3, rowCount: 3, command: 'UPDATE' });
    expect(await pg.query(`select count(*)::int as n from t where name = $1`, [null])).toMatchObject({
      rows: [{ n: 0 }],
    });
  });

  it('prepares a text once, inside and outside transactions, and closes the least recently used beyond capacity', async () => {
    const q = (n: number) => `select $1::int + ${n} as v`;
    for (let i = 0; i < 4; i++) expect((await pg.query(q(1), [i])).rows).toEqual([{ v: i + 1 }]);
    await pg.transaction(async (tx) => {
      expect((await tx.query(q(1), [10])).rows).toEqual([{ v: 11 }]);
      expect((await tx.query(q(2), [10])).rows).toEqual([{ v: 12 }]);
    });
    expect(await prepared()).toEqual([q(1), q(2)]);
    await pg.query(q(3), [0]);
    await pg.query(q(1), [0]); // most recently used now: q(2) is the oldest
    await pg.query(q(4), [0]); // fourth text: q(2) is closed with the next call
    await pg.query(q(1), [0]);
    expect(statements.size).toBe(3);
    expect(await prepared()).toEqual([q(1), q(3), q(4)]);
  });

  it('runs a long text as an unnamed statement, keeping nothing prepared', async () => {
    const long = `select $1::text as v, '${'x'.repeat(300)}' as pad`;
    expect((await pg.query<{ v: string }>(long, ['a'])).rows[0]!.v).toBe('a');
    expect((await pg.query<{ v: string }>(long, ['b'])).rows[0]!.v).toBe('b');
    expect(await prepared()).toEqual([]);
  });

  it('fails a bad statement with PostgreSQL error and its query, and the connection stays usable', async () => {
    const bad = `selec $1`;
    const err = await pg.query(bad, [1]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '42601', query: bad, params: [1] });
    const div = await pg.query(`select 1 / $1::int as v`, [0]).catch((e: unknown) => e);
    expect(div).toMatchObject({ code: '22012' });
    expect((await pg.query(`select 1 / $1::int as v`, [1])).rows).toEqual([{ v: 1 }]);
    const dup = `insert into t (id, name) values ($1, $2)`;
    await pg.query(dup, [1, 'a']);
    await expect(pg.query(dup, [1, 'a'])).rejects.toMatchObject({ code: '23505' });

    // In a transaction a failure aborts it, as PGlite's own query does; the rollback leaves nothing behind.
    const inTx = await pg
      .transaction(async (tx) => {
        await tx.query(dup, [2, 'b']);
        await tx.query(dup, [1, 'a']).catch(() => undefined);
        await tx.query(`select 1 as v`);
      })
      .catch((e: unknown) => e);
    expect(inTx).toMatchObject({ code: '25P02' });
    expect((await pg.query(`select count(*)::int as n from t`)).rows).toEqual([{ n: 1 }]);
    expect(pg.isInTransaction()).toBe(false);
  });

  it('forgets a statement whose plan a table change made stale, and runs it again outside a transaction', async () => {
    const all = `select * from t where id = $1`;
    await pg.query(`insert into t (id, name) values ($1, $2)`, [7, 'a']);
    expect(Object.keys((await pg.query(all, [7])).rows[0] as object)).not.toContain('extra');
    await pg.exec(`alter table t add column extra int default 5`);
    expect((await pg.query(all, [7])).rows[0]).toMatchObject({ id: 7, extra: 5 });
    await pg.exec(`alter table t add column more int default 6`);
    const inTx = await pg.transaction((tx) => tx.query(all, [7])).catch((e: unknown) => e);
    expect(inTx).toMatchObject({ code: '0A000' });
    expect((await pg.query(all, [7])).rows[0]).toMatchObject({ extra: 5, more: 6 });
    // Statements deallocated behind its back (DEALLOCATE ALL through exec) are prepared again.
    await pg.exec(`deallocate all`);
    expect((await pg.query(all, [7])).rows[0]).toMatchObject({ id: 7 });
    expect(await prepared()).toEqual([all]);
  });

  it('keeps a statement outside a transaction out of it: it waits for the transaction to end', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const didInsert = new Promise<void>((r) => (inserted = r));
    const tx = pg.transaction(async (t) => {
      await t.query(`insert into t (name) values ($1)`, ['uncommitted']);
      inserted();
      await held;
      await t.rollback();
    });
    await didInsert;
    let counted: number | null = null;
    const count = pg.query<{ n: number }>(`select count(*)::int as n from t`).then((r) => (counted = r.rows[0]!.n));
    await new Promise((r) => setTimeout(r, 50));
    expect(counted).toBeNull();
    release();
    await tx;
    await count;
    expect(counted).toBe(0);
    // A closed transaction refuses statements, as PGlite's own does.
    let leaked: import('@electric-sql/pglite').Transaction | undefined;
    await pg.transaction(async (t) => {
      leaked = t;
    });
    await expect(leaked!.query(`select 1`)).rejects.toThrow(/closed/);
  });
});
