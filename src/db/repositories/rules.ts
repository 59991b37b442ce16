import { and, asc, eq, sql } from 'drizzle-orm';
import type { Executor } from '../client.ts';
import type { RuleAction, RuleRecord, RuleStats, RuleStatus } from '../rule-records.ts';
import { consumers, deadLetters, devices, deviceTags, rules } from '../tables.ts';

export function toRuleRecord(r: typeof rules.$inferSelect): RuleRecord {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    sql: r.sql,
    status: r.status as RuleStatus,
    actions: r.actions as RuleAction[],
    stats: { matched: r.matched, delivered: r.delivered, failed: r.failed, deadLettered: r.deadLettered },
    lastError: r.lastError,
    lastErrorAt: r.lastErrorAt,
    scope: r.scopeProductKeys ?? null,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

/** What an update may change of a rule; `scope` replaces its product scope. */
export interface RuleChanges {
  name?: string;
  sql?: string;
  actions?: RuleAction[];
  description?: string | null;
  scope?: string[];
}

export async function findRule(ex: Executor, id: number): Promise<RuleRecord | null> {
  const rows = await ex.select().from(rules).where(eq(rules.id, id));
  return rows[0] ? toRuleRecord(rows[0]) : null;
}

export async function listRules(ex: Executor): Promise<RuleRecord[]> {
  const rows = await ex.select().from(rules).orderBy(asc(rules.id));
  return rows.map(toRuleRecord);
}

export async function listRunningRules(ex: Executor): Promise<RuleRecord[]> {
  const rows = await ex.select().from(rules).where(eq(rules.status, 'RUNNING'));
  return rows.map(toRuleRecord);
}

/** Id and statement of every rule (for counting rules per product). */
export function listRuleStatements(ex: Executor): Promise<{ id: number; sql: string }[]> {
  return ex.select({ id: rules.id, sql: rules.sql }).from(rules);
}

export async function insertRule(
  ex: Executor,
  r: { name: string; sql: string; actions: RuleAction[]; description: string | null; scope: string[] | null },
): Promise<RuleRecord> {
  const [row] = await ex
    .insert(rules)
    .values({ name: r.name, sql: r.sql, actions: r.actions, description: r.description, scopeProductKeys: r.scope })
    .returning();
  return toRuleRecord(row!);
}

/** Apply `changes` (and a new updatedAt); null when the rule does not exist. */
export async function updateRule(ex: Executor, id: number, changes: RuleChanges): Promise<RuleRecord | null> {
  const set: Partial<typeof rules.$inferInsert> = { updatedAt: new Date() };
  if (changes.name !== undefined) set.name = changes.name;
  if (changes.sql !== undefined) set.sql = changes.sql;
  if (changes.actions !== undefined) set.actions = changes.actions;
  if (changes.description !== undefined) set.description = changes.description;
  if (changes.scope !== undefined) set.scopeProductKeys = changes.scope;
  const [row] = await ex.update(rules).set(set).where(eq(rules.id, id)).returning();
  return row ? toRuleRecord(row) : null;
}

export async function setRuleStatus(ex: Executor, id: number, status: RuleStatus): Promise<RuleRecord | null> {
  const [row] = await ex.update(rules).set({ status, updatedAt: new Date() }).where(eq(rules.id, id)).returning();
  return row ? toRuleRecord(row) : null;
}

/** Delete the rule with its consumer position and dead letters; null when it did not exist. */
export async function deleteRule(ex: Executor, id: number, consumerName: string): Promise<RuleRecord | null> {
  const [row] = await ex.delete(rules).where(eq(rules.id, id)).returning();
  if (!row) return null;
  await ex.delete(consumers).where(eq(consumers.name, consumerName));
  await ex.delete(deadLetters).where(eq(deadLetters.ruleId, id));
  return toRuleRecord(row);
}

/** Add one event's outcome to the rule's counters, and its first failure as the last error. */
export async function addRuleStats(
  ex: Executor,
  id: number,
  stats: RuleStats,
  lastError: string | null,
): Promise<void> {
  await ex
    .update(rules)
    .set({
      matched: sql`${rules.matched} + ${stats.matched}`,
      delivered: sql`${rules.delivered} + ${stats.delivered}`,
      failed: sql`${rules.failed} + ${stats.failed}`,
      deadLettered: sql`${rules.deadLettered} + ${stats.deadLettered}`,
      ...(lastError !== null ? { lastError, lastErrorAt: new Date() } : {}),
    })
    .where(eq(rules.id, id));
}

/** The device's tags (thing/deviceinfo/update) as key -> value, read by a rule's attribute(key). */
export async function deviceAttributes(
  ex: Executor,
  productKey: string,
  deviceName: string,
): Promise<Record<string, string>> {
  const rows = await ex
    .select({ k: deviceTags.attrKey, v: deviceTags.attrValue })
    .from(deviceTags)
    .innerJoin(devices, eq(devices.id, deviceTags.deviceId))
    .where(and(eq(devices.productKey, productKey), eq(devices.deviceName, deviceName)));
  return Object.fromEntries(rows.map((r) => [r.k, r.v]));
}
