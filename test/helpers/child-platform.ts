import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * `thingql serve` in a child process, so a test can stop it the way an operator or a crash does (SIGTERM, SIGKILL).
 * It runs `node --import tsx src/main.ts serve` directly: killing an `npx tsx` wrapper would leave the server running
 * (stack.md gotcha 16). Ports come from its own log lines (PORT=0 and MQTT_PORT=0).
 */
export interface ChildPlatform {
  process: ChildProcess;
  httpPort: number;
  mqttPort: number;
  httpUrl: string;
  wsUrl: string;
  adminToken: string;
  output(): string;
  /** Resolves with the exit code or signal once the process has ended. */
  exited: Promise<number | NodeJS.Signals | null>;
  kill(signal: NodeJS.Signals): Promise<number | NodeJS.Signals | null>;
}

/**
 * A file-backed embedded database seeded from the migrated test template (a fresh initdb takes 5-12 s). The template
 * is a `dumpDataDir('gzip')` tarball of the data directory: unpacking it with tar is quicker than letting PGlite load
 * it (which starts a database); PGlite does that when tar is missing.
 */
export async function seedDataDir(dataDir: string, template: string): Promise<void> {
  const dir = path.join(dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('tar', ['-xzf', template, '-C', dir], { stdio: 'ignore' });
    return;
  } catch {
    rmSync(dir, { recursive: true, force: true });
  }
  const db = await PGlite.create(dir, { loadDataDir: new Blob([readFileSync(template)]) });
  await db.close();
}

export function startChildPlatform(
  env: { DATA_DIR: string; ADMIN_TOKEN: string } & Record<string, string>,
  timeoutMs = 30_000,
): Promise<ChildPlatform> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    MQTT_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    PRINT_ADMIN_TOKEN: 'false',
    RULE_ALLOW_PRIVATE_TARGETS: 'true',
    ...env,
  };
  delete childEnv.DATABASE_URL; // the embedded database in DATA_DIR
  delete childEnv.REDIS_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  return new Promise((resolve, reject) => {
    let httpPort = 0;
    let mqttPort = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`thingql serve did not start in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onLine = (line: string) => {
      let entry: { msg?: string; port?: number };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.msg?.startsWith('GraphQL on ')) httpPort = entry.port ?? 0;
      if (entry.msg?.startsWith('MQTT on ')) mqttPort = entry.port ?? 0;
      if (httpPort && mqttPort) {
        clearTimeout(timer);
        const httpUrl = `http://127.0.0.1:${httpPort}`;
        resolve({
          process: child,
          httpPort,
          mqttPort,
          httpUrl,
          wsUrl: `ws://127.0.0.1:${httpPort}/graphql`,
          adminToken: env.ADMIN_TOKEN,
          output: () => out,
          exited,
          kill: (signal) => {
            child.kill(signal);
            return exited;
          },
        });
      }
    };
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    });
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`thingql serve exited (${String(code)}) before it listened:\n${out}`));
    });
  });
}

/** POST a GraphQL operation to a child platform as its admin. */
export async function childGql(c: ChildPlatform, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const res = await fetch(`${c.httpUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${c.adminToken}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data: any; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** Open the stopped platform's embedded database directly (only once the child has exited: PGlite is single-process). */
export async function withDataDir<T>(dataDir: string, fn: (db: PGlite) => Promise<T>): Promise<T> {
  const db = await PGlite.create(path.join(dataDir, 'pglite'));
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
