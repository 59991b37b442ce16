/**
 * A ThingQL instance in a child process of its own (see child.ts): `startPlatform(makeConfig(...))` from src/server.ts
 * with ephemeral ports on loopback and a fresh admin token. The config overrides come as JSON in argv[2].
 *
 * Commands besides `usage`/`gc`/`stop`:
 *  - `sql {text, params?}`: run one statement on the platform's own database connection (PGlite: the only one there
 *    is) and return its rows; used to generate rows and read plans on the embedded database.
 *  - `timeSql {text, params, repeat}`: run a statement `repeat` times, one after the other, and return each latency
 *    in ms measured here (a same-process baseline for the embedded database, where no other client can connect).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import { makeConfig } from '../../src/config.ts';
import { rowsOf } from '../../src/db/client.ts';
import { createLogger } from '../../src/logger.ts';
import { startPlatform } from '../../src/server.ts';
import { serveCommands } from './child.ts';

export interface ThingqlReady {
  httpPort: number;
  mqttPort: number;
  /** null unless AMQP_PORT is in the overrides. */
  amqpPort: number | null;
  adminToken: string;
  instanceId: string;
  database: 'pglite' | 'postgres';
  startMs: number;
}

const overrides = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const adminToken = `bench-${randomBytes(12).toString('hex')}`;
const t0 = performance.now();
const config = makeConfig({
  PORT: 0,
  MQTT_PORT: 0,
  HOST: '127.0.0.1',
  DATABASE_URL: 'memory://',
  LOG_LEVEL: 'silent',
  PRINT_ADMIN_TOKEN: false,
  ...overrides,
  ADMIN_TOKEN: adminToken,
});
const platform = await startPlatform(config, { logger: createLogger(config.LOG_LEVEL) });
const database = platform.database;

async function run(text: string, params: unknown[] = []): Promise<unknown[]> {
  if (database.pglite) return (await database.pglite.query(text, params)).rows;
  if (params.length > 0) throw new Error('sql with parameters: use a postgres.js connection of your own on PostgreSQL');
  return rowsOf(await database.db.execute(sql.raw(text)));
}

serveCommands(
  {
    httpPort: platform.httpPort,
    mqttPort: platform.mqttPort,
    amqpPort: platform.amqpPort,
    adminToken,
    instanceId: platform.instanceId,
    database: database.kind,
    startMs: Math.round(performance.now() - t0),
  } satisfies ThingqlReady,
  {
    sql: (a: { text: string; params?: unknown[] }) => run(a.text, a.params),
    timeSql: async (a: { text: string; params: unknown[][]; repeat?: number }) => {
      const out: number[] = [];
      for (const p of a.params) {
        const s = performance.now();
        await run(a.text, p);
        out.push(performance.now() - s);
      }
      return out;
    },
  },
  () => platform.close(),
);
