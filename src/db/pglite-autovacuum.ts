import type { PGlite } from '@electric-sql/pglite';
import type { Logger } from '../logger.ts';

/**
 * VACUUM and ANALYZE for the embedded database, which has no autovacuum of its own.
 *
 * PGlite runs PostgreSQL as one backend in this process: no autovacuum launcher, so nothing ever vacuums or analyzes
 * its tables. Without ANALYZE the planner has no statistics and, worse, a statement prepared while a table was small
 * keeps its plan for good (only an ANALYZE or a schema change invalidates a cached plan): a reply update planned on an
 * empty `commands` table scanned the whole table on every batch once it held thousands of rows. Without VACUUM the
 * space of deleted and updated rows (retention, presence, latest values) is never reused, so the data directory grows
 * however much retention deletes.
 *
 * So, every `everyMs`, the same decision PostgreSQL's autovacuum makes, with its default thresholds: a table is
 * vacuumed (and analyzed) when its dead rows exceed 50 + 20% of its rows or its inserts since the last vacuum exceed
 * 1,000 + 20%, and only analyzed when its changes since the last analyze exceed 50 + 10%. One statement per table,
 * through PGlite's own `exec` (it waits for any transaction in progress, and other work waits for it in turn). And,
 * whatever changed, every table whose oldest unfrozen transaction is 200 million transactions old is vacuumed, as
 * PostgreSQL's autovacuum does against transaction id wraparound.
 * PGlite runs on this thread, so a statement holds the event loop while it runs; vacuuming often keeps each run to
 * what changed since the last one (the visibility map lets VACUUM skip the rest).
 */
export interface AutovacuumOptions {
  everyMs?: number;
  /** The first run, after startup (migrations, the first logins). */
  firstAfterMs?: number;
  /** Transactions after which a table is vacuumed to freeze its rows (PostgreSQL's autovacuum_freeze_max_age). */
  freezeMaxAge?: number;
}

interface TableStats {
  name: string;
  live: number;
  dead: number;
  modified: number;
  inserted: number;
}

/** What one run did, by table (tests, logs). */
export interface AutovacuumRun {
  vacuumed: string[];
  analyzed: string[];
}

const THRESHOLDS = {
  vacuum: { base: 50, scale: 0.2 },
  insert: { base: 1_000, scale: 0.2 },
  analyze: { base: 50, scale: 0.1 },
} as const;

const exceeds = (n: number, live: number, t: { base: number; scale: number }) => n > t.base + t.scale * live;

/** PostgreSQL's defaults: autovacuum_freeze_max_age, autovacuum_multixact_freeze_max_age. */
const FREEZE_MAX_AGE = 200_000_000;
const MULTIXACT_FREEZE_MAX_AGE = 400_000_000;

export function startPgliteAutovacuum(pg: PGlite, logger: Logger, opts: AutovacuumOptions = {}) {
  const everyMs = opts.everyMs ?? 60_000;
  let running: Promise<AutovacuumRun> | null = null;
  let stopped = false;

  const freezeMaxAge = opts.freezeMaxAge ?? FREEZE_MAX_AGE;
  const multixactFreezeMaxAge = Math.min(MULTIXACT_FREEZE_MAX_AGE, 2 * freezeMaxAge);

  async function once(): Promise<AutovacuumRun> {
    const done: AutovacuumRun = { vacuumed: [], analyzed: [] };
    // The backend writes its counts to the statistics it reads below only when idle, at most once a second, and PGlite
    // has no idle timer to write the last ones: without this a run saw the counts of a second or more ago (of a burst
    // of registrations, the first half only).
    await pg.query('select pg_stat_force_next_flush()');
    // Against transaction id wraparound, as PostgreSQL's autovacuum does whatever else changed: every table of the
    // database, catalogs included, whose oldest unfrozen transaction is that old (each group commit is one; about two
    // billion later, rows never frozen would look as if written in the future, and vanish). A VACUUM of a table that
    // old is aggressive: it freezes the whole table.
    const { rows: old } = await pg.query<{ name: string }>(
      `select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'm') and (age(c.relfrozenxid) > $1 or mxid_age(c.relminmxid) > $2) order by 1`,
      [freezeMaxAge, multixactFreezeMaxAge],
    );
    for (const t of old) {
      if (stopped || pg.closed) return done;
      await timed(t.name, 'vacuum', () => pg.exec(`vacuum ${t.name}`));
      done.vacuumed.push(t.name);
    }
    const { rows } = await pg.query<TableStats>(
      `select format('%I.%I', schemaname, relname) as name, n_live_tup::float8 as live, n_dead_tup::float8 as dead,
              n_mod_since_analyze::float8 as modified, n_ins_since_vacuum::float8 as inserted
         from pg_stat_user_tables order by relname`,
    );
    for (const t of rows) {
      if (stopped || pg.closed) break;
      const vacuum = exceeds(t.dead, t.live, THRESHOLDS.vacuum) || exceeds(t.inserted, t.live, THRESHOLDS.insert);
      const analyze = exceeds(t.modified, t.live, THRESHOLDS.analyze);
      if ((!vacuum && !analyze) || done.vacuumed.includes(t.name)) continue;
      await timed(t.name, vacuum ? 'vacuum' : 'analyze', () =>
        pg.exec(vacuum ? `vacuum (analyze) ${t.name}` : `analyze ${t.name}`),
      );
      (vacuum ? done.vacuumed : done.analyzed).push(t.name);
    }
    return done;
  }

  async function timed(table: string, action: 'vacuum' | 'analyze', run: () => Promise<unknown>): Promise<void> {
    const started = performance.now();
    await run();
    logger.debug({ table, action, ms: Math.round(performance.now() - started) }, `embedded database: ${action}`);
  }

  const run = (): Promise<AutovacuumRun> => {
    running ??= once()
      .catch((err: unknown) => {
        if (!stopped) logger.warn({ err }, 'embedded database: vacuum run failed');
        return { vacuumed: [], analyzed: [] };
      })
      .finally(() => (running = null));
    return running;
  };
  const timer = setInterval(run, everyMs);
  timer.unref();
  const first = setTimeout(run, opts.firstAfterMs ?? 10_000);
  first.unref();
  return {
    /** One run now (or the one in progress). */
    run,
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      clearTimeout(first);
      await running;
    },
  };
}
