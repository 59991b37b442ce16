import { registryChanged } from '../../events/catalog.ts';
import { topicMatches } from '../../domain/alink/topic-filter.ts';
import { DomainError, DomainErrors, type UserErrorShape } from '../../domain/errors.ts';
import { sourceOfTopic } from '../../domain/rules/forwarding.ts';
import { compileRuleSql, type SqlError } from '../../domain/rules/sql.ts';
import type { Executor } from '../../db/client.ts';
import { moveConsumerToHead } from '../../db/repositories/consumers.ts';
import {
  countDeadLetters,
  listPendingDeadLetters,
  markDeadLetterRedriven,
  pageDeadLetters,
  recordDeadLetterFailure,
} from '../../db/repositories/dead-letters.ts';
import {
  deleteRule,
  findRule,
  insertRule,
  listRuleStatements,
  listRules,
  setRuleStatus,
  updateRule,
  type RuleChanges,
} from '../../db/repositories/rules.ts';
import type { DeadLetterRecord, RuleRecord } from '../../db/rule-records.ts';
import { requireRole, type Principal } from '../access.ts';
import type { ServiceDeps } from '../deps.ts';
import { keysetPage, noRows, toConnection, type PageArgs, idKeyOf } from '../paging.ts';
import { checkActionConfiguration, type RuleAction } from './actions.ts';
import { createTargetGuard, type TargetGuard } from './destinations.ts';
import { checkScope, ruleVisible } from './scope.ts';

export type { DeadLetterRecord, RuleRecord };

/** alink-protocol.md §7: at most 10 actions per rule; CreateRule names 1-30 characters. */
export const MAX_ACTIONS = 10;

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

function checkRule(
  input: { name?: string | null; sql?: string | null; actions?: RuleAction[] | null },
  targets: TargetGuard,
): void {
  const errors: UserErrorShape[] = [];
  if (input.name != null && (input.name.trim().length < 1 || [...input.name.trim()].length > 30)) {
    errors.push({ code: 'INVALID_NAME', message: 'rule name must be 1 to 30 characters', field: ['input', 'name'] });
  }
  if (input.sql != null) {
    const c = compileRuleSql(input.sql);
    if (!c.ok) errors.push(sqlUserError(c.error));
  }
  if (input.actions != null) {
    if (input.actions.length > MAX_ACTIONS)
      errors.push({
        code: 'INVALID_ACTION',
        message: `a rule has at most ${MAX_ACTIONS} actions`,
        field: ['input', 'actions'],
      });
    input.actions.forEach((a, i) => {
      for (const m of checkActionConfiguration(a, targets))
        errors.push({
          code: 'INVALID_ACTION',
          message: `${a.type}: ${m}`,
          field: ['input', 'actions', String(i), 'configuration'],
        });
    });
    if (input.actions.length > 0 && input.actions.every((a) => a.errorAction)) {
      errors.push({
        code: 'INVALID_ACTION',
        message: 'a rule needs at least one action that is not an error action',
        field: ['input', 'actions'],
      });
    }
  }
  if (errors.length > 0) throw new DomainErrors(errors);
}

/** Rules (CreateRule, CreateRuleAction, StartRule, StopRule, alink-protocol.md §5.5), dead letters and testRule. */
export function createRuleService(
  deps: ServiceDeps & { redrive: (dl: DeadLetterRecord, rule: RuleRecord) => Promise<void> },
) {
  const { database, log, config } = deps;
  const db = database.db;
  const targets = createTargetGuard({
    allowPrivate: config.RULE_ALLOW_PRIVATE_TARGETS,
    privateRanges: config.RULE_PRIVATE_TARGETS,
  });
  /** Dead letters being re-driven in the background (by id): a second request does not queue them twice. */
  const redriving = new Set<number>();
  const changed = (id: number, what: string) => registryChanged('rule', what, { id });

  /** The rule, when it exists and the caller may see it (null otherwise: a scoped key never learns of other rules). */
  async function load(p: Principal, id: number): Promise<RuleRecord | null> {
    if (!Number.isSafeInteger(id)) return null;
    const r = await findRule(db, id);
    return r && ruleVisible(p, r) ? r : null;
  }

  /** RULE_MAX_PER_PRODUCT: rules reading one product (rules over every product count as one group). */
  async function checkRuleCount(tx: Executor, statement: string, except: number | null): Promise<void> {
    const product = fromProduct(statement);
    const rows = await listRuleStatements(tx);
    const n = rows.filter((r) => r.id !== except && fromProduct(r.sql) === product).length;
    if (n >= config.RULE_MAX_PER_PRODUCT) {
      const what = product ? `product ${product}` : 'every product';
      throw new DomainError(
        'RULE_LIMIT_EXCEEDED',
        `${what} already has ${n} rules; at most ${config.RULE_MAX_PER_PRODUCT} are allowed (RULE_MAX_PER_PRODUCT)`,
        ['input', 'sql'],
      );
    }
  }

  async function mutate(p: Principal, id: number, fn: (tx: Executor) => Promise<RuleRecord | null>, what: string) {
    requireRole(p, 'OPERATOR');
    return log.transaction(async (tx, emit) => {
      if (p.productKeys !== null) {
        const current = Number.isSafeInteger(id) ? await findRule(tx, id) : null;
        if (!current || !ruleVisible(p, current))
          throw new DomainError('RULE_NOT_FOUND', `rule ${id} does not exist`, ['input', 'id']);
      }
      const row = await fn(tx);
      if (!row) throw new DomainError('RULE_NOT_FOUND', `rule ${id} does not exist`, ['input', 'id']);
      emit(changed(id, what));
      return row;
    });
  }

  return {
    get: (p: Principal, id: number) => {
      requireRole(p, 'VIEWER');
      return load(p, id);
    },

    async list(p: Principal): Promise<RuleRecord[]> {
      requireRole(p, 'VIEWER');
      return (await listRules(db)).filter((r) => ruleVisible(p, r));
    },

    async create(
      p: Principal,
      input: { name: string; sql: string; actions: RuleAction[]; description?: string | null },
    ) {
      requireRole(p, 'OPERATOR');
      checkRule(input, targets);
      checkScope(p, input);
      return log.transaction(async (tx, emit) => {
        await checkRuleCount(tx, input.sql, null);
        const rule = await insertRule(tx, {
          name: input.name.trim(),
          sql: input.sql,
          actions: input.actions,
          description: input.description ?? null,
          scope: p.productKeys === null ? null : [...p.productKeys],
        });
        emit(changed(rule.id, 'created'));
        return rule;
      });
    },

    async update(
      p: Principal,
      input: {
        id: number;
        name?: string | null;
        sql?: string | null;
        actions?: RuleAction[] | null;
        description?: string | null;
      },
    ) {
      requireRole(p, 'OPERATOR');
      checkRule(input, targets);
      if (p.productKeys !== null && (input.sql != null || input.actions != null)) {
        const current = await load(p, input.id);
        if (!current) throw new DomainError('RULE_NOT_FOUND', `rule ${input.id} does not exist`, ['input', 'id']);
        checkScope(p, { sql: input.sql ?? current.sql, actions: input.actions ?? current.actions });
      }
      const set: RuleChanges = {};
      if (input.name != null) set.name = input.name.trim();
      if (input.sql != null) set.sql = input.sql;
      if (input.actions != null) set.actions = input.actions;
      if (input.description !== undefined) set.description = input.description;
      // A scoped key that changes what a rule does narrows it to its own products.
      if (p.productKeys !== null && (input.sql != null || input.actions != null)) set.scope = [...p.productKeys];
      return mutate(
        p,
        input.id,
        async (tx) => {
          if (input.sql != null) await checkRuleCount(tx, input.sql, input.id);
          return updateRule(tx, input.id, set);
        },
        'updated',
      );
    },

    async delete(p: Principal, id: number) {
      return mutate(p, id, (tx) => deleteRule(tx, id, consumerName(id)), 'deleted');
    },

    /** Start from now: a rule sees the events committed after it was started (events while stopped are skipped). */
    async start(p: Principal, id: number) {
      return mutate(
        p,
        id,
        async (tx) => {
          const rule = await setRuleStatus(tx, id, 'RUNNING');
          if (rule) await moveConsumerToHead(tx, consumerName(id));
          return rule;
        },
        'started',
      );
    },

    async stop(p: Principal, id: number) {
      return mutate(p, id, (tx) => setRuleStatus(tx, id, 'STOPPED'), 'stopped');
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
        return {
          matched: false,
          output: null,
          userErrors: [{ code: 'RULE_EVALUATION_FAILED', message: (e as Error).message }],
        };
      }
    },

    async deadLetters(p: Principal, ruleId: number, args: PageArgs) {
      requireRole(p, 'VIEWER');
      const page = keysetPage(args);
      if (!(await load(p, ruleId))) return toConnection([] as DeadLetterRecord[], page, (r) => r.id, noRows);
      const rows = await pageDeadLetters(db, ruleId, {
        after: page.afterKey != null ? Number(page.afterKey) : null,
        before: page.beforeKey != null ? Number(page.beforeKey) : null,
        forward: page.direction === 'forward',
        limit: page.limit + 1,
      });
      return toConnection(rows, page, idKeyOf, () => countDeadLetters(db, ruleId));
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
      const rows = (await listPendingDeadLetters(db, ruleId, ids, 1000)).filter((dl) => !redriving.has(dl.id));
      for (const dl of rows) redriving.add(dl.id);
      void (async () => {
        for (const dl of rows) {
          try {
            await deps.redrive(dl, rule);
            await markDeadLetterRedriven(db, dl.id);
          } catch (e) {
            await recordDeadLetterFailure(db, dl.id, (e as Error).message).catch((err: unknown) =>
              deps.logger.warn({ err, deadLetter: dl.id }, 'could not record a failed redrive'),
            );
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
