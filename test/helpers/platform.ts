import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import postgres from 'postgres';
import { makeConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startPlatform, type Platform, type PlatformOptions } from '../../src/server.ts';
import type { RolloutOptions } from '../../src/services/ota/rollout.ts';

export type DbKind = 'pglite' | 'postgres';

/** The databases every database-backed suite runs on: PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function dbKinds(): DbKind[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

export interface TestPlatform {
  platform: Platform;
  kind: DbKind;
  httpUrl: string;
  graphqlUrl: string;
  wsUrl: string;
  adminToken: string;
  /** POST a GraphQL operation; returns the parsed body (and the status). */
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string | null,
  ): Promise<{ status: number; data: T; errors?: any[] }>;
  close(): Promise<void>;
}

/**
 * ` template <name>` when global-setup made a migrated template database: a copy of it is what the migrations would
 * produce, in a fraction of the time (the platform's migrate() then has nothing to do).
 */
export function templateClause(): string {
  const template = inject('postgresTemplate');
  return template ? ` template ${template}` : '';
}

/**
 * A PostgreSQL database of its own, already migrated (a copy of global-setup's template), dropped at close: suites can
 * run in parallel and re-run on a used server.
 */
export async function freshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = process.env.TEST_DATABASE_URL!;
  const name = `thingql_t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}${templateClause()}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export async function startTestPlatform(
  kind: DbKind = 'pglite',
  overrides: Partial<Record<keyof Config, unknown>> = {},
  options: Pick<PlatformOptions, 'amqpAttachTimeoutMs'> & {
    /** The OTA rollout's clock (rounds every 1 s, pushes 1 s after login by default): suites of the rollout shorten it. */
    ota?: RolloutOptions;
  } = {},
): Promise<TestPlatform> {
  const { ota, ...platformOptions } = options;
  const adminToken =
    typeof overrides.ADMIN_TOKEN === 'string' ? overrides.ADMIN_TOKEN : `admin-${randomBytes(12).toString('hex')}`;
  let drop: (() => Promise<void>) | null = null;
  let databaseUrl: string | undefined;
  let template: Blob | undefined;
  if (kind === 'postgres') {
    const fresh = await freshPostgresDatabase();
    databaseUrl = fresh.url;
    drop = fresh.drop;
  } else {
    template = new Blob([readFileSync(inject('pgliteTemplate'))]);
  }
  const config = makeConfig({
    PORT: 0,
    MQTT_PORT: 0,
    HOST: '127.0.0.1',
    ADMIN_TOKEN: adminToken,
    DATABASE_URL: databaseUrl ?? 'memory://',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // The suites' webhook receivers and RabbitMQ listen on 127.0.0.1 (docs/security.md).
    RULE_ALLOW_PRIVATE_TARGETS: true,
    // Suites poll with the admin token much faster than any client should; the budget has its own suite
    // (test/security/graphql-cost.test.ts), which sets it.
    GRAPHQL_RATE_LIMIT: 0,
    ...overrides,
  });
  const platform = await startPlatform(config, {
    logger: createLogger(config.LOG_LEVEL),
    ...platformOptions,
    ...(template ? { pgliteLoadDataDir: template } : {}),
  });
  if (ota) platform.services.runtime.ota.configureRollout(ota);
  return wrapPlatform(platform, kind, adminToken, async () => {
    await platform.close();
    await drop?.();
  });
}

/** The TestPlatform view of a started platform: URLs and a GraphQL-over-HTTP helper with the bearer token. */
export function wrapPlatform(
  platform: Platform,
  kind: DbKind,
  adminToken: string,
  close: () => Promise<void>,
): TestPlatform {
  const httpUrl = `http://127.0.0.1:${platform.httpPort}`;
  const graphqlUrl = `${httpUrl}/graphql`;
  return {
    platform,
    kind,
    httpUrl,
    graphqlUrl,
    wsUrl: graphqlUrl.replace(/^http/, 'ws'),
    adminToken,
    async gql(query, variables, token) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
      };
      const t = token === undefined ? adminToken : token;
      if (t) headers.authorization = `Bearer ${t}`;
      const res = await fetch(graphqlUrl, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      const body = (await res.json()) as { data: any; errors?: any[] };
      return { status: res.status, data: body.data, ...(body.errors ? { errors: body.errors } : {}) };
    },
    close,
  };
}
