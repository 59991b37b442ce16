import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import type { PgAsyncDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';

/** One type for both drivers (stack.md gotcha 5). */
export type Db = PgAsyncDatabase<PgQueryResultHKT>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Anything that runs queries: the database or an open transaction. Inside a transaction always pass `tx` (stack.md 6). */
export type Executor = Db | Tx;

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Db;
  /** Run migrations; several instances starting at once serialise on an advisory lock. */
  migrate(): Promise<void>;
  /** Cheap liveness probe for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /** PGlite only: the raw client, used by tests to dump a migrated template. */
  readonly pglite?: PGlite;
}

export const MIGRATIONS_FOLDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const MIGRATION_LOCK = 7_354_021;

/** Raw `execute` results differ: PGlite returns `{ rows }`, postgres.js an array (stack.md gotcha 5). */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

export async function query<T>(ex: Executor, q: SQL): Promise<T[]> {
  return rowsOf<T>(await ex.execute(q));
}

/** What `queryPrepared` reaches under drizzle: the driver client of the database or transaction, and the dialect. */
interface DriverAccess {
  session?: {
    client?: { unsafe?: (text: string, params: unknown[], o: { prepare: boolean }) => PromiseLike<unknown> };
  };
  dialect?: { sqlToQuery(q: SQL): { sql: string; params: unknown[] } };
}

/**
 * A statement of CONSTANT text on the hot path (the ingest sinks, the dedupe check, the event-log append), prepared
 * once per connection on PostgreSQL. drizzle runs `execute` unprepared, and postgres.js then sends each parameterised
 * statement in two round trips (parse and describe, wait, then bind and execute) while the server parses and plans
 * it again every time. Never for SQL whose text varies: each distinct text stays prepared on every connection.
 * PGlite (in process, one connection) runs it as `query` does, which prepares every statement (pglite-statements.ts).
 */
export async function queryPrepared<T>(ex: Executor, q: SQL): Promise<T[]> {
  const access = ex as unknown as DriverAccess;
  const client = access.session?.client;
  if (typeof client?.unsafe !== 'function' || !access.dialect) return query<T>(ex, q);
  const { sql: text, params } = access.dialect.sqlToQuery(q);
  return rowsOf<T>(await client.unsafe(text, params, { prepare: true }));
}

export interface DatabaseOptions {
  url?: string | undefined;
  dataDir: string;
  /** A `dumpDataDir()` tarball to start an embedded database from (tests: a migrated template, ~1 s instead of initdb). */
  pgliteLoadDataDir?: Blob | undefined;
}

/**
 * The embedded database's buffer pool. PGlite runs PostgreSQL's default of 128 MB, and PostgreSQL in WebAssembly
 * touches all of it at start: 128 MB of resident memory before the first row. 32 MB (PostgreSQL's own default before
 * 9.3) keeps an idle server's RSS within its budget (docs/performance.md); a page that falls out is read back from
 * the data directory through the OS page cache (or from memory, for memory://), not from disk.
 */
const PGLITE_SHARED_BUFFERS = '32MB';

/**
 * PostgreSQL fills every new 16 MB WAL segment with zeros before using it (`wal_init_zero`), 8 KB write by 8 KB
 * write. In PGlite's in-memory file system each of those writes past the end of the file reallocates and copies the
 * file (Emscripten MEMFS `expandFileStorage`), so the commit that crossed into a new segment took hundreds of
 * milliseconds of CPU on the event loop: most of the COMMIT time of a busy embedded database (docs/performance.md,
 * RRPC). Off, the segment is sized by writing its last byte. The zeros protect nothing PGlite keeps: it already runs
 * with fsync off (`-F` in its defaults).
 */
const PGLITE_WAL_INIT_ZERO = 'off';

/**
 * How many rows ANALYZE samples (300 per unit) and how fine its histograms are. The embedded database is analyzed by
 * our own autovacuum (pglite-autovacuum.ts) on the event loop's thread, where PostgreSQL's default of 100 (30,000 rows)
 * held the loop for 180 ms on 20,000 events (their JSON payloads). 10 (3,000 rows, PostgreSQL's default before 8.4) is
 * plenty for what the platform asks: equality on keys and ranges of time, all through indexes.
 */
const PGLITE_STATISTICS_TARGET = 10;

/** Each driver (and its drizzle adapter and migrator) is imported only when chosen: a process needs one of the two. */
export async function createDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url && /^postgres(ql)?:\/\//.test(opts.url)) return createPostgres(opts.url);
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }, { PGliteStatements }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
    import('./pglite-statements.ts'),
  ]);
  // PGlite's defaults plus a smaller buffer pool, no zero-filled WAL segments and smaller ANALYZE samples (see above);
  // without its defaults to extend, its own.
  const defaults = (PGlite as unknown as { defaultStartParams?: string[] }).defaultStartParams;
  const tuning = defaults
    ? {
        startParams: [
          ...defaults,
          '-c',
          `shared_buffers=${PGLITE_SHARED_BUFFERS}`,
          '-c',
          `wal_init_zero=${PGLITE_WAL_INIT_ZERO}`,
          '-c',
          `default_statistics_target=${PGLITE_STATISTICS_TARGET}`,
        ],
      }
    : {};
  let client: PGlite;
  if (opts.pgliteLoadDataDir) {
    client = await PGlite.create({ loadDataDir: opts.pgliteLoadDataDir, ...tuning });
  } else if (opts.url === 'memory://') {
    client = await PGlite.create(tuning);
  } else {
    const dir = path.resolve(opts.dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    client = await PGlite.create(dir, tuning);
  }
  // Every statement prepared once (pglite-statements.ts): one call into the database per statement instead of six.
  new PGliteStatements(client).install();
  const db = drizzlePglite({ client }) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    pglite: client,
    // PGlite is one process and one connection: no concurrent migrator can exist.
    migrate: async () => {
      await migratePglite(db as never, { migrationsFolder: MIGRATIONS_FOLDER });
    },
    ping: async () => {
      await client.query('select 1');
    },
    close: () => client.close(),
  };
}

/**
 * postgres.js leaves Nagle's algorithm on (stack.md: a pipelined batch or a COPY then waits ~40-90 ms for the
 * delayed ACK). It takes our own socket through its `socket` option: connect it with TCP_NODELAY. The socket is
 * returned while still connecting (Node buffers the startup message until it is up): a refused or failing connect
 * then reaches postgres.js as the socket's own `error`/`close`, so its reconnect logic and connect timeout apply
 * exactly as with the sockets it makes itself.
 */
export function pgSocket(o: { host: string[]; port: number[]; path?: string | false }): net.Socket {
  const s = o.path ? net.connect(o.path) : net.connect(o.port[0] ?? 5432, o.host[0] ?? 'localhost');
  s.setNoDelay(true);
  failLateQueries(s);
  return s;
}

/**
 * Make a failing socket fail, at its `close`, whatever postgres.js handed it after its `error`.
 *
 * postgres.js (3.4.9) fails the queries a connection holds when the socket's `error` arrives, and takes the connection
 * out of its pool only at the `close` that follows, then failing nothing more (it expects the two together). Node
 * emits them a turn of the event loop apart (the error on the next tick, the close once the handle has closed: tens
 * of ms on a busy machine). In between the pool still counts the connection as idle and hands it new queries: they
 * were written to the dead socket and never settled, and the connection's next startup even resolved the last of them
 * with its own ReadyForQuery. A transaction's BEGIN lost that way hung the group committer for good after a database
 * restart (test/integration/pg-connection-loss.test.ts). So the error is delivered again just before the close: it
 * fails what came in between, and nothing else (what the connection held was failed the first time).
 *
 * The error is not held back until the close, nor the close brought forward to the error: either way a failed
 * transaction's ROLLBACK (postgres.js sends it on the dead connection once the transaction's queries fail) would reach
 * the connection after its close, when postgres.js has no socket to write it to; its writer then throws and leaves its
 * buffer behind, and that connection's next startup is never sent (a connect timeout, again and again).
 */
function failLateQueries(s: net.Socket): void {
  const emit = s.emit.bind(s) as (event: string | symbol, ...args: unknown[]) => boolean;
  let error: unknown = null;
  let closed = false;
  s.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (closed && event === 'error') return false; // nothing listens any more (postgres.js removed its listeners)
    if (event === 'error' && error === null) error = args[0];
    if (event === 'close' && !closed) {
      closed = true;
      if (error !== null && s.listenerCount('error') > 0) emit('error', error);
    }
    return emit(event, ...args);
  }) as typeof s.emit;
}

/** postgres.js settings of the platform (tests build their own clients from them). */
export function postgresOptions() {
  return {
    socket: pgSocket,
    onnotice: () => {},
    max: 10,
    idle_timeout: 30,
    connect_timeout: 10,
    // Reconnect quickly after an outage (postgres.js' default backoff grows to 20 s): devices are waiting for their acks.
    backoff: (attempt: number) => Math.min(0.1 * 2 ** attempt, 2),
  };
}

async function createPostgres(url: string): Promise<Database> {
  const [{ default: postgres }, { drizzle: drizzlePostgres }, { migrate: migratePostgres }] = await Promise.all([
    import('postgres'),
    import('drizzle-orm/postgres-js'),
    import('drizzle-orm/postgres-js/migrator'),
  ]);
  const client = postgres(url, postgresOptions() as object);
  const db = drizzlePostgres({ client }) as unknown as Db;
  return {
    kind: 'postgres',
    db,
    async migrate() {
      const conn = await client.reserve();
      try {
        await conn`select pg_advisory_lock(${MIGRATION_LOCK})`;
        await migratePostgres(db as never, { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await conn`select pg_advisory_unlock(${MIGRATION_LOCK})`.catch(() => {});
        conn.release();
      }
    },
    ping: async () => {
      await client`select 1`;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

export { sql };
