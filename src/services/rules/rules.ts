import { registryChanged } from '../../events/catalog.ts';
import { and, asc, desc, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm';
import { topicMatches } from '../../domain/alink/topic-filter.ts';
import { DomainError, DomainErrors, type UserErrorShape } from '../../domain/errors.ts';
import { sourceOfTopic } from '../../domain/rules/forwarding.ts';
import { compileRuleSql, type SqlError } from '../../domain/rules/sql.ts';
import { consumers, deadLetters, rules } from '../../db/tables.ts';
import { requireRole, type Principal } from '../access.ts';
import type { ServiceDeps } from '../deps.ts';
import { keysetPage, noRows, toConnection, type PageArgs } from '../paging.ts';
import { checkActionConfiguration, type RuleAction } from './actions.ts';
import { createTargetGuard, type TargetGuard } from './destinations.ts';
import { checkScope, ruleVisible } from './scope.ts';

export interface RuleRecord {
  id: number;
  name: string;
  description: string | null;
  sql: string;
  status: 'RUNNING' | 'STOPPED';
  actions: RuleAction[];
  stats: { matched: number; delivered: number; failed: number; deadLettered: number };
  lastError: string | null;
  lastErrorAt: Date | null;
  /** Products its REPUBLISH actions may reach (the creating key's scope); null = every product. */
  scope: readonly string[] | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DeadLetterRecord {
  id: number;
  ruleId: number;
  actionIndex: number;
  deliveryKey: string;
  topic: string;
  output: unknown;
  error: string;
  attempts: number;
  createdAt: Date;
  redrivenAt: Date | null;
}

/** alink-protocol.md §7: at most 10 actions per rule; CreateRule names 1-30 characters. */
export const MAX_ACTIONS = 10;

export const toRecord = (r: typeof rules.$inferSelect): RuleRecord => ({
  id: r.id,
  name: r.name,
  description: r.description,
  sql: r.sql,
  status: r.status as RuleRecord['status'],
  actions: r.actions as RuleAction[],
  stats: { matched: r.matched, delivered: r.delivered, failed: r.failed, deadLettered: r.deadLettered },
  lastError: r.lastError,
  lastErrorAt: r.lastErrorAt,
  scope: r.scopeProductKeys ?? null,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

export const sqlUserError = (e: SqlError): UserErrorShape => ({
  code: 'INVALID_SQL',
  message: e.line != null ? `${e.message} (at line ${e.line}, column ${e.column}; offset ${e.offset})` : e.message,
  field: ['input', 'sql'],
});

export const consumerName = (ruleId: number) => `rule:${ruleId}`;

/** The product a statement reads (`FROM "/pk/..."`), '' for every product; a cheap read for counting. */
function fromProduct(statement: string): string {
  const filter = /\bfrom\s+"([^"]*)"/i.exec(statement)?.[1] ?? '';
  const { productKey } = sourceOfTopic(filter);
  return productKey && productKey !== '+' && productKey !== '#' ? productKey : '';
}

function checkRule(input: { name?: string | null; sql?: string | null; actions?: RuleAction[] | null }, targets: TargetGuard): void {
  const errors: UserErrorShape[] = [];
  if (input.name != null && (input.name.trim().length < 1 || [...input.name.trim()].length > 30)) {
    errors.push({ code: 'INVALID_NAME', message: 'rule name must be 1 to 30 characters', field: ['input', 'name'] });
  }
  if (input.sql != null) {
    const c = compileRuleSql(input.sql);
    if (!c.ok) errors.push(sqlUserError(c.error));
  }
  if (input.actions != null) {
    if (input.actions.length > MAX_ACTIONS) errors.push({ code: 'INVALID_ACTION', message: `a rule has at most ${MAX_ACTIONS} actions`, field: ['input', 'actions'] });
    input.actions.forEach((a, i) => {
      for (const m of checkActionConfiguration(a, targets)) errors.push({ code: 'INVALID_ACTION', message: `${a.type}: ${m}`, field: ['input', 'actions', String(i), 'configuration'] });
    });
    if (input.actions.length > 0 && input.actions.every((a) => a.errorAction)) {
      errors.push({ code: 'INVALID_ACTION', message: 'a rule needs at least one action that is not an error action', field: ['input', 'actions'] });
    }
  }
  if (errors.length > 0) throw new DomainErrors(errors);
}

/** Rules (CreateRule, CreateRuleAction, StartRule, StopRule, alink-protocol.md §5.5), dead letters and testRule. */
export function createRuleService(deps: ServiceDeps & { redrive: (dl: DeadLetterRecord, rule: RuleRecord) => Promise<void> }) {
  const { database, log, config } = deps;
  const db = database.db;
  const targets = createTargetGuard({ allowPrivate: config.RULE_ALLOW_PRIVATE_TARGETS, privateRanges: config.RULE_PRIVATE_TARGETS });
  /** Dead letters being re-driven in the background (by id): a second request does not queue them twice. */
  const redriving = new Set<number>();
  const changed = (id: number, what: string) => registryChanged('rule', what, { id });

  /** The rule, when it exists and the caller may see it (null otherwise: a scoped key never learns of other rules). */
  async function load(p: Principal, id: number): Promise<RuleRecord | null> {
    if (!Number.isSafeInteger(id)) return null;
    const rows = await db.select().from(rules).where(eq(rules.id, id));
    const r = rows[0] ? toRecord(rows[0]) : null;
    return r && ruleVisible(p, r) ? r : null;
  }

  /** RULE_MAX_PER_PRODUCT: rules reading one product (rules over every product count as one group). */
  async function checkRuleCount(tx: Pick<typeof db, 'select'>, statement: string, except: number | null): Promise<void> {
    const product = fromProduct(statement);
    const rows = await tx.select({ id: rules.id, sql: rules.sql }).from(rules);
    const n = rows.filter((r) => r.id !== except && fromProduct(r.sql) === product).length;
    if (n >= config.RULE_MAX_PER_PRODUCT) {
      const what = product ? `product ${product}` : 'every product';
      throw new DomainError('RULE_LIMIT_EXCEEDED', `${what} already has ${n} rules; at most ${config.RULE_MAX_PER_PRODUCT} are allowed (RULE_MAX_PER_PRODUCT)`, ['input', 'sql']);
    }
  }

  async function mutate(p: Principal, id: number, fn: (tx: Parameters<Parameters<typeof log.transaction>[0]>[0]) => Promise<typeof rules.$inferSelect | undefined>, what: string) {
    requireRole(p, 'OPERATOR');
    return log.transaction(async (tx, emit) => {
      if (p.productKeys !== null) {
        const [current] = Number.isSafeInteger(id) ? await tx.select().from(rules).where(eq(rules.id, id)) : [];
        if (!current || !ruleVisible(p, toRecord(current))) throw new DomainError('RULE_NOT_FOUND', `rule ${id} does not exist`, ['input', 'id']);
      }
      const row = await fn(tx);
      if (!row) throw new DomainError('RULE_NOT_FOUND', `rule ${id} does not exist`, ['input', 'id']);
      emit(changed(id, what));
      return toRecord(row);
    });
  }

  return {
    get: (p: Principal, id: number) => {
      requireRole(p, 'VIEWER');
      return load(p, id);
    },

    async list(p: Principal): Promise<RuleRecord[]> {
      requireRole(p, 'VIEWER');
      const rows = await db.select().from(rules).orderBy(asc(rules.id));
      return rows.map(toRecord).filter((r) => ruleVisible(p, r));
    },

    async create(p: Principal, input: { name: string; sql: string; actions: RuleAction[]; description?: string | null }) {
      requireRole(p, 'OPERATOR');
      checkRule(input, targets);
      checkScope(p, input);
      return log.transaction(async (tx, emit) => {
        await checkRuleCount(tx, input.sql, null);
        const [row] = await tx
          .insert(rules)
          .values({ name: input.name.trim(), sql: input.sql, actions: input.actions, description: input.description ?? null, scopeProductKeys: p.productKeys === null ? null : [...p.productKeys] })
          .returning();
        emit(changed(row!.id, 'created'));
        return toRecord(row!);
      });
    },

    async update(p: Principal, input: { id: number; name?: string | null; sql?: string | null; actions?: RuleAction[] | null; description?: string | null }) {
      requireRole(p, 'OPERATOR');
      checkRule(input, targets);
      if (p.productKeys !== null && (input.sql != null || input.actions != null)) {
        const current = await load(p, input.id);
        if (!current) throw new DomainError('RULE_NOT_FOUND', `rule ${input.id} does not exist`, ['input', 'id']);
        checkScope(p, { sql: input.sql ?? current.sql, actions: input.actions ?? current.actions });
      }
      const set: Partial<typeof rules.$inferInsert> = { updatedAt: new Date() };
      if (input.name != null) set.name = input.name.trim();
      if (input.sql != null) set.sql = input.sql;
      if (input.actions != null) set.actions = input.actions;
      if (input.description !== undefined) set.description = input.description;
      // A scoped key that changes what a rule does narrows it to its own products.
      if (p.productKeys !== null && (input.sql != null || input.actions != null)) set.scopeProductKeys = [...p.productKeys];
      return mutate(
        p,
        input.id,
        async (tx) => {
          if (input.sql != null) await checkRuleCount(tx, input.sql, input.id);
          return (await tx.update(rules).set(set).where(eq(rules.id, input.id)).returning())[0];
        },
        'updated',
      );
    },

    async delete(p: Principal, id: number) {
      return mutate(
        p,
        id,
        async (tx) => {
          const [row] = await tx.delete(rules).where(eq(rules.id, id)).returning();
          if (row) {
            await tx.delete(consumers).where(eq(consumers.name, consumerName(id)));
            await tx.delete(deadLetters).where(eq(deadLetters.ruleId, id));
          }
          return row;
        },
        'deleted',
      );
    },

    /** Start from now: a rule sees the events committed after it was started (events while stopped are skipped). */
    async start(p: Principal, id: number) {
      return mutate(
        p,
        id,
        async (tx) => {
          const [row] = await tx.update(rules).set({ status: 'RUNNING', updatedAt: new Date() }).where(eq(rules.id, id)).returning();
          if (!row) return undefined;
          const head = sql`(select coalesce(max(position), 0) from events)`;
          await tx
            .insert(consumers)
            .values({ name: consumerName(id), position: head as unknown as number })
            .onConflictDoUpdate({ target: consumers.name, set: { position: head as unknown as number, updatedAt: new Date() } });
          return row;
        },
        'started',
      );
    },

    async stop(p: Principal, id: number) {
      return mutate(p, id, async (tx) => (await tx.update(rules).set({ status: 'STOPPED', updatedAt: new Date() }).where(eq(rules.id, id)).returning())[0], 'stopped');
    },

    /** What a rule would emit for one message, before it is started (graphql-api.md testRule). */
    test(p: Principal, input: { sql: string; topic: string; payload: unknown }) {
      requireRole(p, 'VIEWER');
      const c = compileRuleSql(input.sql);
      if (!c.ok) return { matched: false, output: null, userErrors: [sqlUserError(c.error)] };
      const raw = Buffer.from(typeof input.payload === 'string' ? input.payload : JSON.stringify(input.payload));
      const ctx = {
        topic: input.topic,
        json: input.payload,
        raw,
        ...sourceOfTopic(input.topic),
        messageId: '0',
        timestamp: Date.now(),
      };
      if (!topicMatches(c.value.topicFilter, input.topic)) return { matched: false, output: null, userErrors: [] };
      try {
        if (!c.value.where(ctx)) return { matched: false, output: null, userErrors: [] };
        return { matched: true, output: c.value.select(ctx), userErrors: [] };
      } catch (e) {
        return { matched: false, output: null, userErrors: [{ code: 'RULE_EVALUATION_FAILED', message: (e as Error).message }] };
      }
    },

    async deadLetters(p: Principal, ruleId: number, args: PageArgs) {
      requireRole(p, 'VIEWER');
      const page = keysetPage(args);
      if (!(await load(p, ruleId))) return toConnection([] as DeadLetterRecord[], page, (r) => r.id, noRows);
      const rows = await db
        .select()
        .from(deadLetters)
        .where(
          and(
            eq(deadLetters.ruleId, ruleId),
            page.afterKey != null ? gt(deadLetters.id, Number(page.afterKey)) : undefined,
            page.beforeKey != null ? lt(deadLetters.id, Number(page.beforeKey)) : undefined,
          ),
        )
        .orderBy(page.direction === 'forward' ? asc(deadLetters.id) : desc(deadLetters.id))
        .limit(page.limit + 1);
      return toConnection(rows as DeadLetterRecord[], page, (r) => r.id, () => db.$count(deadLetters, eq(deadLetters.ruleId, ruleId)));
    },

    /**
     * Deliver dead letters again (all of the rule's pending ones, or those listed). Returns at once with how many were
     * queued; delivery runs in the background, one after the other: a success sets redrivenAt, a failure adds an
     * attempt and the new error to the dead letter, which stays.
     */
    async redrive(p: Principal, ruleId: number, ids: readonly number[] | null) {
      requireRole(p, 'OPERATOR');
      const rule = await load(p, ruleId);
      if (!rule) throw new DomainError('RULE_NOT_FOUND', `rule ${ruleId} does not exist`, ['input', 'ruleId']);
      const rows = ((await db
        .select()
        .from(deadLetters)
        .where(and(eq(deadLetters.ruleId, ruleId), isNull(deadLetters.redrivenAt), ids ? inArray(deadLetters.id, [...ids, -1]) : undefined))
        .orderBy(asc(deadLetters.id))
        .limit(1000)) as DeadLetterRecord[]).filter((dl) => !redriving.has(dl.id));
      for (const dl of rows) redriving.add(dl.id);
      void (async () => {
        for (const dl of rows) {
          try {
            await deps.redrive(dl, rule);
            await db.update(deadLetters).set({ redrivenAt: new Date() }).where(eq(deadLetters.id, dl.id));
          } catch (e) {
            await db
              .update(deadLetters)
              .set({ attempts: sql`${deadLetters.attempts} + 1`, error: (e as Error).message })
              .where(eq(deadLetters.id, dl.id))
              .catch((err: unknown) => deps.logger.warn({ err, deadLetter: dl.id }, 'could not record a failed redrive'));
          } finally {
            redriving.delete(dl.id);
          }
        }
      })();
      return { redriven: rows.length, failed: 0, userErrors: [] as UserErrorShape[] };
    },
  };
}

export type RuleService = ReturnType<typeof createRuleService>;
