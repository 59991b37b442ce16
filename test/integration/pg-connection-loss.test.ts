/**
 * The platform's postgres.js connections when PostgreSQL resets them. Node reports a failing socket's `error` and its
 * `close` a turn of the event loop apart, and postgres.js takes the connection out of its pool only at the close: a
 * query handed to the connection in between went to the dead socket and was never settled, until the connection's
 * next startup resolved it with the startup's own result (a transaction's BEGIN lost that way hung the group
 * committer after a database restart: db-outage suite). Here the query is issued exactly in that gap (from the
 * socket's error, once postgres.js has handled it), so no timing decides the outcome. PostgreSQL only.
 */
import type net from 'node:net';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { pgSocket, postgresOptions } from '../../src/db/client.ts';
import { startDbProxy, type DbProxy } from '../helpers/db-proxy.ts';

type Outcome = { rows: unknown[] } | { code: string };

const settle = (p: PromiseLike<Iterable<unknown>>): Promise<Outcome> =>
  Promise.resolve(p).then(
    (rows) => ({ rows: [...rows] }),
    (err: { code?: string; message?: string }) => ({ code: err.code ?? String(err.message) }),
  );

describe.skipIf(!process.env.TEST_DATABASE_URL)('a PostgreSQL connection reset under a pooled client', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  /** The platform's client (its socket and settings) through a proxy that can cut the connection, with one connection. */
  async function client() {
    const upstream = new URL(process.env.TEST_DATABASE_URL!);
    const proxy: DbProxy = await startDbProxy({ host: upstream.hostname, port: Number(upstream.port || 5432) });
    cleanup.push(() => proxy.close());
    const url = new URL(upstream);
    url.host = `127.0.0.1:${proxy.port}`;
    const sockets: net.Socket[] = [];
    const sql = postgres(url.toString(), {
      ...postgresOptions(),
      max: 1,
      socket: (o: Parameters<typeof pgSocket>[0]) => {
        const s = pgSocket(o);
        sockets.push(s);
        return s;
      },
    } as object);
    cleanup.push(() => sql.end({ timeout: 1 }));
    await sql`select 1`;
    return { sql, proxy, socket: sockets.at(-1)! };
  }

  /**
   * Cut the connection; `issue` runs once postgres.js has seen the socket's error (its listener ran before the
   * microtask). Then the database comes back, and the next query reconnects the pool's one connection.
   */
  async function resetWhile<T>(
    c: Awaited<ReturnType<typeof client>>,
    issue: () => T,
  ): Promise<{ issued: T; next: unknown[] }> {
    let issued!: T;
    const errored = new Promise<void>((resolve) =>
      c.socket.once('error', () =>
        queueMicrotask(() => {
          issued = issue();
          resolve();
        }),
      ),
    );
    const closed = new Promise((resolve) => c.socket.once('close', resolve));
    await c.proxy.cut('refuse');
    await errored;
    await closed;
    await c.proxy.restore();
    const next = [...(await c.sql`select 2 as n`)];
    return { issued, next };
  }

  it('runs or fails a query issued between the socket error and its close, never settles it with another result', async () => {
    const c = await client();
    const { issued, next } = await resetWhile(c, () => settle(c.sql`select 'late' as x`));
    expect(next).toEqual([{ n: 2 }]);
    const outcome = await issued;
    // After the close the query waits for a reconnect: it runs once the database is back, or fails with the connect
    // error if it tried before. What it must not get is the result of the reconnect's startup (no rows).
    if ('rows' in outcome) expect(outcome.rows).toEqual([{ x: 'late' }]);
    else expect(outcome.code).toMatch(/^(ECONNREFUSED|ECONNRESET|CONNECT_TIMEOUT|CONNECTION_\w+)$/);
  });

  it('runs or fails a transaction begun between the socket error and its close', async () => {
    const c = await client();
    const { issued, next } = await resetWhile(c, () =>
      settle(
        c.sql.begin(async (tx) => {
          // A table that lives until the commit: outside a transaction block it is gone before the insert.
          await tx`create temp table loss_probe (x int) on commit drop`;
          await tx`insert into loss_probe values (1)`;
          return [...(await tx`select count(*)::int as n from loss_probe`)];
        }),
      ),
    );
    expect(next).toEqual([{ n: 2 }]);
    const outcome = await issued;
    if ('rows' in outcome) expect(outcome.rows).toEqual([{ n: 1 }]);
    else expect(outcome.code).toMatch(/^(ECONNREFUSED|ECONNRESET|CONNECT_TIMEOUT|CONNECTION_\w+)$/);
  });

  it('fails a transaction whose connection is reset mid-statement, and the connection then reconnects and serves', async () => {
    const c = await client();
    const errored = new Promise((resolve) => c.socket.once('error', resolve));
    const tx = settle(
      c.sql.begin(async (t) => {
        await t`select pg_sleep(30)`;
        return [];
      }),
    );
    // The statement is on its way once the connection leaves the pool's idle list; a reset then fails it, and
    // postgres.js sends the transaction's ROLLBACK on the dead connection.
    await new Promise((r) => setTimeout(r, 200));
    await c.proxy.cut('refuse');
    await errored;
    expect(await tx).toEqual({ code: expect.stringMatching(/^(ECONNRESET|CONNECTION_CLOSED)$/) });
    await c.proxy.restore();
    // Not a connect timeout: the reconnect's startup message goes out (no write left behind by the ROLLBACK).
    expect([...(await c.sql`select 3 as n`)]).toEqual([{ n: 3 }]);
  });
});
