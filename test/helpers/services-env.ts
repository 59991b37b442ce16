/**
 * Suites that need an outside service (PostgreSQL, Redis, RabbitMQ) name it by its environment variable. Absent, the
 * suite is reported skipped (never passed silently); under CI=true an absent service is a failure, so a CI job that
 * lost its service container cannot go green by skipping.
 */
import { describe } from 'vitest';
import type { DbKind } from './platform.ts';

export type ServiceVar = 'TEST_DATABASE_URL' | 'TEST_REDIS_URL' | 'TEST_AMQP_URL';

/**
 * True when every named service is configured. When one is missing: false (skip), or, under CI=true, an error thrown
 * while the suite is collected, which fails the file with the names of what is missing.
 */
export function requireService(...vars: ServiceVar[]): boolean {
  const missing = vars.filter((v) => !process.env[v]);
  if (missing.length === 0) return true;
  if (process.env.CI === 'true')
    throw new Error(
      `CI=true but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set: this suite needs the service`,
    );
  return false;
}

/** Every database a database-backed suite runs on; PostgreSQL is reported skipped without TEST_DATABASE_URL. */
export const DB_KINDS: readonly DbKind[] = ['pglite', 'postgres'];

/** Whether the suite on `kind` can run here (see requireService). */
export function dbAvailable(kind: DbKind): boolean {
  return kind === 'pglite' || requireService('TEST_DATABASE_URL');
}

/**
 * `describe.each(DB_KINDS)` that reports the PostgreSQL variant skipped (not absent) without TEST_DATABASE_URL.
 * `title` may hold `%s` for the database.
 */
export function describeEachDb(title: string, body: (kind: DbKind) => void): void {
  for (const kind of DB_KINDS) describe.skipIf(!dbAvailable(kind))(title.replace('%s', kind), () => body(kind));
}
