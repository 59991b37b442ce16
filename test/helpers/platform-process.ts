/**
 * `thingql serve` as a real child process on ports chosen here, so a test can SIGKILL it and start it again on the
 * same ports and database: devices then reconnect to the address they know. It runs
 * `node --import tsx src/main.ts serve`, so the pid is the server itself (killing an `npx` wrapper would leave the
 * server running: stack.md gotcha 16).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { inject } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * A port free right now, closed again before use. It is drawn below Linux's ephemeral range (32768-60999): ports the
 * kernel hands to `listen(0)` and to outgoing connections of other suites running meanwhile come from that range, so
 * such a port could be taken again before the child listens on it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

export interface PlatformProcess {
  child: ChildProcess;
  pid: number;
  httpUrl: string;
  wsUrl: string;
  mqttUrl: string;
  adminToken: string;
  output(): string;
  /** Settles with the exit code, or the signal, once the process has ended. */
  exited: Promise<number | NodeJS.Signals | null>;
  kill(signal: NodeJS.Signals): Promise<number | NodeJS.Signals | null>;
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ status: number; data: T; errors?: any[] }>;
}

export interface PlatformProcessOptions {
  httpPort: number;
  mqttPort: number;
  adminToken: string;
  /** DATABASE_URL (PostgreSQL) or DATA_DIR (embedded PGlite). */
  database: { url: string } | { dataDir: string };
  env?: Record<string, string>;
  timeoutMs?: number;
}

export async function spawnPlatform(o: PlatformProcessOptions): Promise<PlatformProcess> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(o.httpPort),
    MQTT_PORT: String(o.mqttPort),
    ADMIN_TOKEN: o.adminToken,
    LOG_LEVEL: 'warn',
    PRINT_ADMIN_TOKEN: 'false',
    RULE_ALLOW_PRIVATE_TARGETS: 'true',
    ...o.env,
  };
  delete env.REDIS_URL;
  if ('url' in o.database) env.DATABASE_URL = o.database.url;
  else {
    delete env.DATABASE_URL;
    env.DATA_DIR = o.database.dataDir;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  let ended = false;
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => {
      ended = true;
      resolve(signal ?? code);
    }),
  );
  const httpUrl = `http://127.0.0.1:${o.httpPort}`;
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  // /healthz answers once HTTP listens, and the MQTT listeners are started before it (src/server.ts).
  for (;;) {
    if (ended) throw new Error(`thingql serve exited (${String(await exited)}) before it was healthy:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`thingql serve was not healthy in time:\n${out}`);
    }
    const ok = await fetch(`${httpUrl}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    pid: child.pid!,
    httpUrl,
    wsUrl: `ws://127.0.0.1:${o.httpPort}/graphql`,
    mqttUrl: `mqtt://127.0.0.1:${o.mqttPort}`,
    adminToken: o.adminToken,
    output: () => out,
    exited,
    kill(signal) {
      if (!ended) child.kill(signal);
      return exited;
    },
    async gql(query, variables) {
      const res = await fetch(`${httpUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${o.adminToken}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data: any; errors?: any[] };
      return { status: res.status, data: body.data, ...(body.errors ? { errors: body.errors } : {}) };
    },
  };
}

/** A PostgreSQL database of its own on the TEST_DATABASE_URL server, already migrated (global-setup's template); `drop()` removes it. */
export async function scratchPostgres(
  prefix = 'thingql_p',
): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const base = process.env.TEST_DATABASE_URL!;
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  const template = inject('postgresTemplate');
  await admin.unsafe(`create database ${name}${template ? ` template ${template}` : ''}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

/**
 * A file-backed embedded database as `thingql serve` opens it (`${DATA_DIR}/pglite`), seeded from the migrated
 * test template so the child does not run initdb (5-12 s, stack.md gotcha 7).
 */
export async function seedPgliteDataDir(dataDir: string, templateFile: string): Promise<void> {
  const db = await PGlite.create(path.join(dataDir, 'pglite'), { loadDataDir: new Blob([readFileSync(templateFile)]) });
  await db.close();
}

/** Open a stopped platform's embedded database (PGlite is single-process: only after the child has exited). */
export async function openPgliteDataDir<T>(dataDir: string, fn: (db: PGlite) => Promise<T>): Promise<T> {
  const db = await PGlite.create(path.join(dataDir, 'pglite'));
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
