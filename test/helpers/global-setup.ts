import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { createDatabase, MIGRATIONS_FOLDER } from '../../src/db/client.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    /** A migrated database on the TEST_DATABASE_URL server to create test databases from; '' without one. */
    postgresTemplate: string;
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
 * Migrating an empty PostgreSQL database takes 2-6 s (every migration, one statement at a time); `create database ..
 * template` copies a migrated one in well under a second, and the platform's own migrate() then finds nothing to do.
 * One template per migration set, kept on the server for the next run. Built under a name of its own and renamed
 * when complete, so that runs starting at the same time (other work trees, same server) never clone a half-migrated
 * one; nothing stays connected to it (PostgreSQL refuses to copy a database that has sessions).
 */
async function postgresTemplate(hash: string): Promise<string> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) return '';
  const name = `thingql_template_${hash}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  try {
    if ((await admin`select 1 from pg_database where datname = ${name}`).length > 0) return name;
    const building = `${name}_${process.pid}`;
    await admin.unsafe(`create database ${building}`);
    const url = new URL(base);
    url.pathname = `/${building}`;
    const db = await createDatabase({ url: url.toString(), dataDir: tmpdir() });
    try {
      await db.migrate();
    } finally {
      await db.close();
    }
    try {
      await admin.unsafe(`alter database ${building} rename to ${name}`);
    } catch (err) {
      // Another run finished the same template first: use that one.
      await admin.unsafe(`drop database if exists ${building} with (force)`);
      if ((await admin`select 1 from pg_database where datname = ${name}`).length === 0) throw err;
    }
    return name;
  } finally {
    await admin.end();
  }
}

/**
 * A fresh PGlite runs initdb (5-12 s on 2 cores, stack.md gotcha 7). Build one migrated database per migration set,
 * dump it once, and let every test platform load the dump (~1 s).
 */
export default async function setup(project: TestProject) {
  const hash = migrationsHash();
  project.provide('postgresTemplate', await postgresTemplate(hash));
  const file = path.join(tmpdir(), `thingql-pglite-template-${hash}.tar.gz`);
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
