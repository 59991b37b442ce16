import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createDatabase, MIGRATIONS_FOLDER } from '../../src/db/client.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}

function migrationsHash(): string {
  const h = createHash('sha256');
  for (const dir of readdirSync(MIGRATIONS_FOLDER).sort()) {
    const file = path.join(MIGRATIONS_FOLDER, dir, 'migration.sql');
    if (existsSync(file)) h.update(dir).update(readFileSync(file));
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * A fresh PGlite runs initdb (5-12 s on 2 cores, stack.md gotcha 7). Build one migrated database per migration set,
 * dump it once, and let every test platform load the dump (~1 s).
 */
export default async function setup(project: TestProject) {
  const file = path.join(tmpdir(), `thingql-pglite-template-${migrationsHash()}.tar.gz`);
  if (!existsSync(file)) {
    const db = await createDatabase({ url: 'memory://', dataDir: tmpdir() });
    await db.migrate();
    const dump = await db.pglite!.dumpDataDir('gzip');
    await db.close();
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
    renameSync(tmp, file);
  }
  project.provide('pgliteTemplate', file);
}
