/**
 * Shared steps for the rules-engine suites: a local webhook endpoint that can be taken down (connection refused) and
 * brought back on the same port, the rule mutations as one-liners, and a platform on a database that outlives it
 * (for restarts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { inject } from 'vitest';
import { makeConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startPlatform } from '../../src/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { freshPostgresDatabase, wrapPlatform, type DbKind, type TestPlatform } from '../helpers/platform.ts';

type Gql = Pick<TestPlatform, 'gql'>;

export { hookServer, type Hook, type HookRequest, type Responder } from '../helpers/hook-server.ts';

/** @deprecated Use `waitFor` (test/helpers/wait.ts); kept for suites that still import it (rules-restart). */
export function until<T>(
  what: string,
  read: () => T | Promise<T>,
  pred: (v: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  return waitFor(read, { until: pred, message: what, timeout: timeoutMs });
}

export interface ActionInput {
  type: 'REPUBLISH' | 'WEBHOOK' | 'AMQP';
  configuration: Record<string, unknown>;
  errorAction?: boolean;
}

/** createRule + startRule; returns the rule id. Throws on userErrors (no caller expects them). */
export async function startedRule(t: Gql, name: string, sql: string, actions: ActionInput[]): Promise<string> {
  const r = await t.gql(
    `mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } userErrors { code message field } } }`,
    { i: { name, sql, actions } },
  );
  if (r.errors || r.data.createRule.userErrors.length)
    throw new Error(`createRule: ${JSON.stringify(r.errors ?? r.data.createRule.userErrors)}`);
  const id = r.data.createRule.rule.id as string;
  const s = await t.gql(
    `mutation($i: StartRuleInput!) { startRule(input: $i) { rule { status } userErrors { code message } } }`,
    { i: { id } },
  );
  if (s.errors || s.data.startRule.rule?.status !== 'RUNNING') throw new Error(`startRule: ${JSON.stringify(s)}`);
  return id;
}

export async function ruleState(
  t: Gql,
  id: string,
): Promise<{
  status: string;
  stats: { matched: number; delivered: number; failed: number; deadLettered: number };
  lastError: string | null;
}> {
  const r = await t.gql(
    `query($id: ID!) { rule(id: $id) { status stats { matched delivered failed deadLettered } lastError } }`,
    { id },
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.rule;
}

export interface DeadLetter {
  id: string;
  actionIndex: number;
  deliveryKey: string;
  topic: string;
  output: any;
  error: string;
  attempts: number;
  redrivenAt: string | null;
}

export async function deadLetters(t: Gql, ruleId: string): Promise<DeadLetter[]> {
  const r = await t.gql(
    `query($id: ID!) { deadLetters(ruleId: $id, first: 500) { edges { node { id actionIndex deliveryKey topic output error attempts redrivenAt } } } }`,
    { id: ruleId },
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.deadLetters.edges.map((e: any) => e.node);
}

export async function redrive(
  t: Gql,
  ruleId: string,
): Promise<{ redriven: number; failed: number; userErrors: { code: string; message: string }[] }> {
  const r = await t.gql(
    `mutation($i: RedriveDeadLettersInput!) { redriveDeadLetters(input: $i) { redriven failed userErrors { code message } } }`,
    { i: { ruleId } },
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.redriveDeadLetters;
}

export async function createTopic(
  t: Gql,
  productKey: string,
  topicShortName: string,
  operation: 'PUB' | 'SUB' | 'ALL',
): Promise<void> {
  const r = await t.gql(
    `mutation($i: CreateProductTopicInput!) { createProductTopic(input: $i) { userErrors { code message } } }`,
    { i: { productKey, topicShortName, operation } },
  );
  if (r.errors || r.data.createProductTopic.userErrors.length) throw new Error(JSON.stringify(r));
}

/**
 * A database that outlives one platform, so a test can stop ThingQL and start it again on the same data: an embedded
 * PGlite in a temporary DATA_DIR (seeded from the migrated test template instead of a 5-12 s initdb), or a fresh
 * database on the TEST_DATABASE_URL server.
 */
export async function persistentDatabase(
  kind: DbKind,
): Promise<{ settings: Partial<Record<keyof Config, unknown>>; drop: () => Promise<void> }> {
  if (kind === 'postgres') {
    const fresh = await freshPostgresDatabase();
    return { settings: { DATABASE_URL: fresh.url }, drop: fresh.drop };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'thingql-restart-'));
  // createDatabase opens `${DATA_DIR}/pglite`.
  const seed = await PGlite.create(path.join(dir, 'pglite'), {
    loadDataDir: new Blob([readFileSync(inject('pgliteTemplate'))]),
  });
  await seed.close();
  return { settings: { DATA_DIR: dir }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** Start ThingQL on `settings` (from persistentDatabase); close() leaves the database as it is. */
export async function startOn(
  settings: Partial<Record<keyof Config, unknown>>,
  adminToken: string,
  overrides: Partial<Record<keyof Config, unknown>> = {},
): Promise<TestPlatform> {
  const config = makeConfig({
    PORT: 0,
    MQTT_PORT: 0,
    HOST: '127.0.0.1',
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    RULE_ALLOW_PRIVATE_TARGETS: true,
    ...settings,
    ...overrides,
  });
  const platform = await startPlatform(config, { logger: createLogger(config.LOG_LEVEL) });
  return wrapPlatform(platform, config.DATABASE_URL ? 'postgres' : 'pglite', adminToken, () => platform.close());
}

/** The numeric rule id inside a global `Rule` id (delivery keys are `${ruleId}:${eventPosition}:${actionIndex}`). */
export function ruleNumber(id: string): number {
  const m = /^Rule:(\d+)$/.exec(Buffer.from(id, 'base64').toString('utf8'));
  if (!m) throw new Error(`not a Rule id: ${id}`);
  return Number(m[1]);
}
