/**
 * A migrated database of its own for one suite or test: an embedded PGlite loaded from the migrated template that
 * global-setup.ts builds once per migration set (~1 s instead of a 5-12 s initdb), or a fresh database on the
 * TEST_DATABASE_URL server (dropped at close, so suites run in parallel and on a used server).
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { inject } from 'vitest';
import { createDatabase, type Database } from '../../src/db/client.ts';
import { freshPostgresDatabase, type DbKind } from './platform.ts';

export interface TestDatabase {
  kind: DbKind;
  database: Database;
  /** The PostgreSQL URL (postgres only), e.g. to start a platform on the same data. */
  url: string | null;
  close(): Promise<void>;
}

let template: Blob | null = null;

export async function openTestDatabase(kind: DbKind): Promise<TestDatabase> {
  if (kind === 'postgres') {
    const fresh = await freshPostgresDatabase();
    try {
      const database = await createDatabase({ url: fresh.url, dataDir: tmpdir() });
      await database.migrate();
      return {
        kind,
        database,
        url: fresh.url,
        async close() {
          await database.close();
          await fresh.drop();
        },
      };
    } catch (err) {
      await fresh.drop();
      throw err;
    }
  }
  template ??= new Blob([readFileSync(inject('pgliteTemplate'))]);
  const database = await createDatabase({ url: 'memory://', dataDir: tmpdir(), pgliteLoadDataDir: template });
  // The template is migrated; this only checks it is current (as startPlatform does).
  await database.migrate();
  return { kind, database, url: null, close: () => database.close() };
}
