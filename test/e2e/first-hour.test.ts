/**
 * The first hour of a new user: what a failed start says, the DATA_DIR lock, private files, the first-start
 * token outside the log and `thingql admin-token --reset`, and `thingql simulate` against a broker that is not ThingQL.
 * Every case runs the real CLI in a child process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { makeConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startPlatform } from '../../src/server.ts';
import { resetAdminToken } from '../../src/startup/admin-token.ts';
import { StartupError } from '../../src/startup/errors.ts';
import { seedDataDir } from '../helpers/child-platform.ts';
import { runCli, servePorts } from '../helpers/cli-process.ts';
import { freePort } from '../helpers/platform-process.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'thingql-first-hour-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at .+:\d+:\d+/);

function occupy(): Promise<net.Server> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}
const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

async function gql(httpPort: number, token: string, query: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: await res.json() };
}

/** Every directory 0700 and every file 0600 (no group or other bits) under `dir`. */
function publicEntries(dir: string): string[] {
  const found: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p);
    if ((st.mode & 0o077) !== 0) found.push(`${p} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(path.join(p, n));
  };
  walk(dir);
  return found;
}

describe('a start that cannot succeed says which setting and how to fix it, with no stack and no state written', () => {
  it('thingql serve with MQTT_PORT taken (by Mosquitto, say): exit 1, the setting and the fix on stderr, DATA_DIR untouched', async () => {
    const taken = await occupy();
    const dataDir = path.join(tmp, 'mqtt-taken');
    try {
      const run = runCli(['serve'], { MQTT_PORT: String(portOf(taken)), PORT: '0', DATA_DIR: dataDir });
      expect(await run.exited).toBe(1);
      const err = run.stderr();
      expect(err).toContain(`thingql did not start: MQTT_PORT ${portOf(taken)} is already in use`);
      expect(err).toContain('setting: MQTT_PORT');
      expect(err).toContain(`MQTT_PORT=${portOf(taken) + 1} (or --mqtt-port ${portOf(taken) + 1})`);
      expect(err).toContain('thingql admin-token --reset');
      noStack(err);
      expect(run.stdout()).toBe('');
      expect(existsSync(dataDir)).toBe(false); // the ports are opened before DATA_DIR or the database is touched
    } finally {
      taken.close();
    }
  }, 60_000);

  it('taken PORT, unreachable DATABASE_URL (retried for DATABASE_WAIT_MS), unusable DATA_DIR: typed errors naming the setting', async () => {
    const taken = await occupy();
    const closedPort = await freePort();
    writeFileSync(path.join(tmp, 'a-file'), '');
    const base = { HOST: '127.0.0.1', PORT: 0, MQTT_PORT: 0, PRINT_ADMIN_TOKEN: false, LOG_LEVEL: 'silent' };
    const fail = (o: Record<string, unknown>) =>
      startPlatform(makeConfig({ ...base, ...o })).then(
        () => {
          throw new Error('started');
        },
        (e: unknown) => e as StartupError,
      );
    try {
      const httpDir = path.join(tmp, 'http-taken');
      const http = await fail({ PORT: portOf(taken), DATA_DIR: httpDir });
      expect(http).toBeInstanceOf(StartupError);
      expect(http).toMatchObject({ code: 'PORT_IN_USE', setting: 'PORT' });
      expect(http.describe()).toContain(`PORT=${portOf(taken) + 1} (or --port ${portOf(taken) + 1})`);
      expect(existsSync(httpDir)).toBe(false);

      const db = await fail({
        DATABASE_URL: `postgres://thingql:hunter2@127.0.0.1:${closedPort}/thingql`,
        DATABASE_WAIT_MS: 300,
      });
      expect(db).toMatchObject({ code: 'DATABASE_UNREACHABLE', setting: 'DATABASE_URL' });
      expect(db.message).toContain(
        `DATABASE_URL postgres://thingql:***@127.0.0.1:${closedPort}/thingql is not reachable`,
      );
      expect(db.message).toContain('ECONNREFUSED');
      expect(db.message).toContain('retried for 300 ms');
      expect(db.describe()).toContain('DATABASE_WAIT_MS');
      expect(db.describe()).not.toContain('hunter2');

      const dir = await fail({ DATA_DIR: path.join(tmp, 'a-file', 'data') });
      expect(dir).toMatchObject({ code: 'DATA_DIR_UNWRITABLE', setting: 'DATA_DIR' });
    } finally {
      taken.close();
    }
  }, 60_000);
});

describe('DATA_DIR: one process at a time, private files, and the admin token', () => {
  const dataDir = path.join(tmp, 'data');
  let firstToken = '';

  it('first start prints the token outside the log; a second process and admin-token --reset refuse while it runs; files are private', async () => {
    await seedDataDir(dataDir, inject('pgliteTemplate'));
    // A lock left by a crashed process (its pid no longer runs) does not block the start.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(
      path.join(dataDir, 'thingql.lock'),
      JSON.stringify({ pid: dead, host: hostname(), startedAt: new Date(0).toISOString() }),
    );

    const env = { PORT: '0', MQTT_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info' };
    const first = runCli(['serve'], env);
    try {
      const ports = await servePorts(first);
      const banner = await first.waitFor('stderr', (t) => /tq_[\w-]{20,}/.test(t));
      const token = /tq_[\w-]{20,}/.exec(banner)![0];
      expect(banner).toContain('Admin token (shown once, store it now)');
      expect(banner).toContain('thingql admin-token --reset');
      // Not a TTY: the log is JSON lines only, and the token is not in it.
      const logLines = first.stdout().split('\n').filter(Boolean);
      for (const line of logLines) expect(() => JSON.parse(line)).not.toThrow();
      expect(first.stdout()).not.toContain(token);
      expect((await gql(ports.http, token, '{ apiKeys { id } }')).body.errors).toBeUndefined();

      const lock = JSON.parse(readFileSync(path.join(dataDir, 'thingql.lock'), 'utf8'));
      expect(lock.pid).toBe(first.child.pid);

      const second = runCli(['serve'], env);
      const reset = await resetAdminToken(makeConfig({ DATA_DIR: dataDir }), createLogger('silent')).then(
        () => new StartupError('ADMIN_TOKEN_IS_SET', 'none', 'reset succeeded while the server ran', ''),
        (e: unknown) => e as StartupError,
      );
      expect(await second.exited).toBe(1);
      expect(second.stderr()).toContain(`is in use by another ThingQL process (pid ${first.child.pid}`);
      expect(second.stderr()).toContain('setting: DATA_DIR');
      noStack(second.stderr());
      expect(reset).toMatchObject({ code: 'DATA_DIR_LOCKED', setting: 'DATA_DIR' });
      expect(reset.message).toContain(`pid ${first.child.pid}`);
      // Both refused before touching anything: the first still serves.
      expect((await gql(ports.http, token, '{ apiKeys { id } }')).body.errors).toBeUndefined();

      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(existsSync(path.join(dataDir, 'thingql.lock'))).toBe(false);
      expect(publicEntries(dataDir)).toEqual([]);
      firstToken = token;
    } finally {
      first.child.kill('SIGKILL');
    }
  }, 120_000);

  it('thingql admin-token --reset on the stopped server prints a new token; the old one stops working, no banner on the next start', async () => {
    expect(firstToken).toBeTruthy();
    const reset = runCli(['admin-token', '--reset'], { DATA_DIR: dataDir });
    expect(await reset.exited).toBe(0);
    const newToken = reset.stdout().trim();
    expect(newToken).toMatch(/^tq_[\w-]{20,}$/);
    expect(newToken).not.toBe(firstToken);
    expect(reset.stderr()).toContain('the previous one no longer works');
    expect(publicEntries(dataDir)).toEqual([]);

    // The next start on that DATA_DIR (in this process: a third child start adds nothing but time).
    const again = await startPlatform(
      makeConfig({ DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: 0, MQTT_PORT: 0, LOG_LEVEL: 'silent' }),
    );
    try {
      expect(again.generatedAdminToken).toBeNull(); // a token exists: nothing to print
      const old = await gql(again.httpPort, firstToken, '{ apiKeys { id } }');
      expect(old.status).toBe(401);
      expect(old.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect((await gql(again.httpPort, newToken, '{ apiKeys { id } }')).body.errors).toBeUndefined();
    } finally {
      await again.close();
    }
    expect(existsSync(path.join(dataDir, 'thingql.lock'))).toBe(false);
  }, 60_000);
});

describe('thingql simulate against a broker that is not ThingQL', () => {
  it('says so and exits 1 (the broker is taken from MQTT_PORT when --mqtt-url is absent)', async () => {
    const broker = await Aedes.createBroker(); // accepts any login, answers no Alink post: like Mosquitto on 1883
    const server = net.createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, () => r()));
    try {
      const port = portOf(server);
      const run = runCli(['simulate', '--product', 'a1NoSuchPk', '--graphql-url', 'http://127.0.0.1:9/graphql'], {
        MQTT_PORT: String(port),
      });
      expect(await run.exited).toBe(1);
      expect(run.stderr()).toContain(
        `the MQTT broker at mqtt://localhost:${port} accepted a login with a wrong Alink signature: it is not ThingQL`,
      );
      expect(run.stderr()).toContain('MQTT_PORT');
      noStack(run.stderr());
    } finally {
      server.close();
      await new Promise<void>((r) => broker.close(() => r()));
    }
  }, 60_000);
});
