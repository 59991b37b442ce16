import type { PGlite, QueryOptions, Results, Transaction } from '@electric-sql/pglite';
import { parse, protocol } from '@electric-sql/pglite';

/**
 * Prepared statements for the embedded database.
 *
 * PGlite's `query` runs every statement as an unnamed one, in six calls into PostgreSQL (Parse, Describe statement,
 * Bind, Describe portal, Execute, Sync), each a trip through its WebAssembly module and protocol parser, and the
 * server parses and plans the text again each time. Here a statement's text is parsed once into a named prepared
 * statement (Parse and Describe, to learn its parameter types), and every later run is one call: Bind, Describe,
 * Execute and Sync in one buffer. drizzle reaches PGlite only through `query` (of the database and of a
 * transaction), so installing this on the instance serves every statement of the platform. Measured: an insert of a
 * small JSON batch inside a transaction, 180-300 us per statement through `query`, 75-120 us prepared.
 *
 * What it keeps from `query`: the same locks (the transaction mutex around a statement outside a transaction, the
 * query mutex always), the same parameter serializers and result parsers (and the caller's, as drizzle passes),
 * the same `Results`, and a failed statement's `DatabaseError` with `query`, `params` and `queryOptions` attached.
 * Sync always reaches the server, so a failure leaves the connection ready (and a transaction aborted, as before).
 *
 * Bounded: at most `capacity` statements stay prepared, the least recently used closed first (its Close rides in
 * the next call); a text longer than `maxTextLength` (drizzle's multi-row VALUES, whose text changes with the row
 * count) runs as an unnamed statement in two calls. A statement whose plan PostgreSQL can no longer use (a table
 * it reads changed shape: "cached plan must not change result type", or DEALLOCATE ALL ran) is forgotten and,
 * outside a transaction, run once more freshly prepared. COPY with a blob, and explicit `paramTypes`, go to PGlite's
 * own `query`.
 */
export interface PreparedStatementOptions {
  capacity?: number;
  maxTextLength?: number;
}

interface Prepared {
  name: string;
  types: number[];
}

type Internals = PGlite & {
  _runExclusiveTransaction<T>(fn: () => Promise<T>): Promise<T>;
  _checkReady(): Promise<void>;
};

const { serialize } = protocol;

type Parsers = PGlite['parsers'];
/** What `parseResults` reads of the options besides the parsers, which are passed merged (see `parsers`). */
const ARRAY_ROWS: QueryOptions = { rowMode: 'array' };

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function errorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined;
}

/**
 * A prepared statement PostgreSQL can no longer run: its plan went stale ("cached plan must not change result type",
 * feature_not_supported from plancache.c), or it is gone (invalid_sql_statement_name: a DEALLOCATE or DISCARD ALL
 * sent through `exec`).
 */
function isStalePlan(e: unknown): boolean {
  const code = errorCode(e);
  if (code === '26000') return true;
  return code === '0A000' && /cached plan must not change result type/.test(String((e as Error).message));
}

export class PGliteStatements {
  private readonly statements = new Map<string, Prepared>();
  private readonly closing: string[] = [];
  private seq = 0;
  private readonly capacity: number;
  private readonly maxTextLength: number;
  private readonly pg: Internals;
  /** PGlite's parsers merged with a caller's (drizzle passes the same object with every query), merged once. */
  private readonly merged = new WeakMap<object, Parsers>();

  constructor(pg: PGlite, opts: PreparedStatementOptions = {}) {
    this.pg = pg as Internals;
    this.capacity = opts.capacity ?? 256;
    this.maxTextLength = opts.maxTextLength ?? 8_192;
  }

  /** How many statements are prepared now (tests, metrics). */
  get size(): number {
    return this.statements.size;
  }

  /** Route the instance's `query`, and its transactions' `query`, through prepared statements. */
  install(): void {
    const pg = this.pg;
    const ownQuery = pg.query.bind(pg);
    const ownTransaction = pg.transaction.bind(pg);
    pg.query = (<T>(text: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> => {
      if (!this.handles(options)) return ownQuery<T>(text, params as never, options);
      return this.outside<T>(text, params ?? [], options);
    }) as PGlite['query'];
    pg.transaction = (<T>(callback: (tx: Transaction) => Promise<T>): Promise<T> =>
      ownTransaction((tx) => {
        const ownTxQuery = tx.query.bind(tx);
        const query = <R>(text: string, params?: unknown[], options?: QueryOptions): Promise<Results<R>> => {
          if (!this.handles(options)) return ownTxQuery<R>(text, params as never, options);
          if (tx.closed) return Promise.reject(new Error('Transaction is closed'));
          return this.pg.runExclusive(() => this.run<R>(text, params ?? [], options));
        };
        // Everything else (exec, sql, rollback, listen, closed) is the transaction's own.
        return callback(Object.create(tx, { query: { value: query } }) as Transaction);
      })) as PGlite['transaction'];
  }

  private handles(options: QueryOptions | undefined): boolean {
    return !options?.blob && !options?.paramTypes;
  }

  /** A statement outside a transaction: as PGlite's `query`, under both mutexes, then the file system synced. */
  private async outside<T>(text: string, params: unknown[], options: QueryOptions | undefined): Promise<Results<T>> {
    await this.pg._checkReady();
    return this.pg._runExclusiveTransaction(() =>
      this.pg.runExclusive(async () => {
        let result: Results<T>;
        try {
          result = await this.run<T>(text, params, options);
        } catch (e) {
          // The statement was forgotten by `run`; alone (no transaction to have aborted) it can simply run again.
          if (!isStalePlan(e)) throw e;
          result = await this.run<T>(text, params, options);
        }
        await this.pg.syncToFs();
        return result;
      }),
    );
  }

  /** Under the query mutex (the caller's). */
  private async run<T>(text: string, params: unknown[], options: QueryOptions | undefined): Promise<Results<T>> {
    const notice = options?.onNotice ? { onNotice: options.onNotice } : {};
    let st = this.statements.get(text);
    try {
      if (st) {
        // Most recently used last: the eviction order.
        this.statements.delete(text);
        this.statements.set(text, st);
      } else {
        st = await this.prepare(text, text.length <= this.maxTextLength, notice);
      }
      const messages = await this.pg.execProtocolStream(
        concat([
          ...this.takeCloses(),
          serialize.bind({ statement: st.name, values: this.values(st.types, params, options) }),
          serialize.describe({ type: 'P' }),
          serialize.execute({}),
          serialize.sync(),
        ]),
        { syncToFs: false, ...notice },
      );
      return parse.parseResults(
        messages,
        this.parsers(options),
        options?.rowMode === 'array' ? ARRAY_ROWS : {},
      )[0] as Results<T>;
    } catch (e) {
      if (isStalePlan(e) && st?.name) this.forget(text);
      throw withQuery(e, text, params, options);
    }
  }

  /**
   * Parse (named when `keep`, else the unnamed statement) and describe it, without Sync: the Bind that follows runs
   * in the same extended-query cycle. On failure the server waits for Sync, which is sent before the error goes on.
   */
  private async prepare(text: string, keep: boolean, notice: QueryOptions): Promise<Prepared> {
    const name = keep ? `thingql_${(++this.seq).toString(36)}` : '';
    let messages: Awaited<ReturnType<PGlite['execProtocolStream']>>;
    try {
      messages = await this.pg.execProtocolStream(
        concat([...this.takeCloses(), serialize.parse({ name, text }), serialize.describe({ type: 'S', name })]),
        { syncToFs: false, ...(notice.onNotice ? { onNotice: notice.onNotice } : {}) },
      );
    } catch (e) {
      await this.pg.execProtocolStream(serialize.sync(), { syncToFs: false, throwOnError: false });
      throw e;
    }
    const st = { name, types: parse.parseDescribeStatementResults(messages) };
    if (keep) {
      this.statements.set(text, st);
      if (this.statements.size > this.capacity) {
        const [oldest, old] = this.statements.entries().next().value as [string, Prepared];
        this.statements.delete(oldest);
        this.closing.push(old.name);
      }
    }
    return st;
  }

  private forget(text: string): void {
    const st = this.statements.get(text);
    if (!st) return;
    this.statements.delete(text);
    this.closing.push(st.name);
  }

  /** Close messages for evicted statements, sent ahead of the next call's own messages. */
  private takeCloses(): Uint8Array[] {
    if (this.closing.length === 0) return [];
    const out = this.closing.map((name) => serialize.close({ type: 'S', name }));
    this.closing.length = 0;
    return out;
  }

  /**
   * The parsers for a result. PGlite's `parseResults` spreads its 318 default parsers and the caller's into a new
   * object on every call when the caller passes any (drizzle always does): ~85 us per statement, more than the
   * statement itself. The merge is the same each time for the same caller's object, so it is made once.
   */
  private parsers(options: QueryOptions | undefined): Parsers {
    const own = options?.parsers;
    if (!own) return this.pg.parsers;
    let merged = this.merged.get(own);
    if (!merged) {
      merged = { ...this.pg.parsers, ...own };
      this.merged.set(own, merged);
    }
    return merged;
  }

  /** Parameters as PGlite's `query` serialises them: by the type PostgreSQL inferred, else as text. */
  private values(types: number[], params: unknown[], options: QueryOptions | undefined): (string | null)[] {
    const own = options?.serializers;
    const serializers = this.pg.serializers;
    return params.map((param, i) => {
      if (param === null || param === undefined) return null;
      const oid = types[i]!;
      const serialize = own?.[oid] ?? serializers[oid];
      return serialize ? serialize(param) : String(param);
    });
  }
}

function withQuery(e: unknown, query: string, params: unknown[], options: QueryOptions | undefined): unknown {
  if (typeof e === 'object' && e !== null && 'code' in e && 'severity' in e) {
    Object.assign(e, { query, params, queryOptions: options });
  }
  return e;
}
