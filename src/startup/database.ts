/**
 * Waiting for DATABASE_URL: containers start out of order, so an unreachable PostgreSQL is retried for
 * DATABASE_WAIT_MS before the start gives up with a message naming the setting. Refusals that waiting cannot fix
 * (wrong password, no such database) end the start at once.
 */
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { errnoCode, redactUrl, StartupError } from './errors.ts';

/** Network errors and "the database system is starting up" / "too many connections": worth another try. */
const TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P03',
  '53300',
]);

const span = (ms: number) => (ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

const describe = (err: unknown): string => {
  const code = errnoCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
};

export async function waitForDatabase(
  database: Database,
  opts: { url: string | undefined; waitMs: number; logger: Logger },
): Promise<void> {
  if (database.kind !== 'postgres' || !opts.url) return;
  const url = redactUrl(opts.url);
  const deadline = Date.now() + opts.waitMs;
  let delay = 250;
  let warned = false;
  for (;;) {
    try {
      await database.ping();
      if (warned) opts.logger.info('database reachable');
      return;
    } catch (err) {
      const code = errnoCode(err);
      if (!code || !TRANSIENT.has(code)) {
        throw new StartupError(
          'DATABASE_REFUSED',
          'DATABASE_URL',
          `DATABASE_URL ${url}: the database refused the connection (${describe(err)}).`,
          'check the user, password and database name in DATABASE_URL (the database must exist).',
        );
      }
      if (Date.now() + delay > deadline) {
        throw new StartupError(
          'DATABASE_UNREACHABLE',
          'DATABASE_URL',
          `DATABASE_URL ${url} is not reachable (${describe(err)})${opts.waitMs > 0 ? `, retried for ${span(opts.waitMs)}` : ''}.`,
          'start PostgreSQL or correct the host and port in DATABASE_URL; DATABASE_WAIT_MS sets how long a start waits for it. Unset DATABASE_URL to use the embedded database in DATA_DIR.',
        );
      }
      if (!warned) {
        warned = true;
        opts.logger.warn(
          { code },
          `database ${url} not reachable yet: retrying for up to ${span(opts.waitMs)} (DATABASE_WAIT_MS)`,
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
    }
  }
}
