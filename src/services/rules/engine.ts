import { topicMatches } from '../../domain/alink/topic-filter.ts';
import { messagePayload } from '../../events/catalog.ts';
import {
  FORWARDED_TYPES,
  sourceOfTopic,
  toForwardingMessage,
  type ForwardingMessage,
} from '../../domain/rules/forwarding.ts';
import { compileRuleSql, type CompiledRule } from '../../domain/rules/sql.ts';
import { insertDeadLetter } from '../../db/repositories/dead-letters.ts';
import { addRuleStats, deviceAttributes, listRunningRules } from '../../db/repositories/rules.ts';
import { EventStream } from '../../events/stream.ts';
import type { Logger } from '../../logger.ts';
import type { Metrics } from '../../metrics.ts';
import type { ServiceDeps } from '../deps.ts';
import { DeliveryError, type ActionRunner, type RuleAction } from './actions.ts';
import type { ConsumerStore } from './consumer.ts';
import type { DeadLetterRecord, RuleRecord } from '../../db/rule-records.ts';
import { consumerName } from './rules.ts';

const TICK_MS = 5_000;

interface Running {
  rule: RuleRecord;
  stop: () => void;
  done: Promise<void>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** The stream filter of a rule: status topics only see status events; a concrete product key narrows the replay. */
function streamTypes(filter: string): { types: readonly string[]; productKey: string | null } {
  const levels = filter.split('/');
  if (filter.startsWith('/as/mqtt/status/'))
    return { types: ['device.status'], productKey: levels[4] && !['+', '#'].includes(levels[4]) ? levels[4] : null };
  return { types: FORWARDED_TYPES, productKey: levels[1] && !['+', '#'].includes(levels[1]) ? levels[1] : null };
}

/**
 * Runs RUNNING rules: each is an event-log consumer (rules/consumer.ts) held by one instance. For each event, in
 * order: forwarding shape, topic filter, WHERE, SELECT, then every action with retries (exponential backoff up to
 * RULE_RETRY_MAX_MS; the rule waits, so order is kept and nothing is skipped), dead letter and error actions for what
 * still fails. The position is committed after the event's deliveries: at-least-once, each delivery carrying its
 * idempotency key.
 */
export function createRuleEngine(
  deps: ServiceDeps & { consumers: ConsumerStore; actions: ActionRunner; metrics: Metrics },
) {
  const { database, hub, log, config, consumers, actions, metrics } = deps;
  const logger: Logger = deps.logger.child({ module: 'rules' });
  const db = database.db;

  /**
   * attribute(key) reads the device's tags (thing/deviceinfo/update): loaded once per device and kept until a tag
   * change or a lifecycle event of that device comes through the log.
   */
  const tagCache = new Map<string, Promise<Record<string, string>>>();
  hub.on(['thing.deviceinfo.update', 'thing.deviceinfo.delete', 'device.lifecycle'], (e) => {
    if (e.productKey && e.deviceName) tagCache.delete(`${e.productKey}\u0000${e.deviceName}`);
  });
  function attributesOf(productKey: string | null, deviceName: string | null): Promise<Record<string, string>> {
    if (!productKey || !deviceName) return Promise.resolve({});
    const k = `${productKey}\u0000${deviceName}`;
    let p = tagCache.get(k);
    if (!p) {
      p = deviceAttributes(db, productKey, deviceName);
      p.catch(() => tagCache.delete(k));
      if (tagCache.size > 10_000) tagCache.delete(tagCache.keys().next().value!);
      tagCache.set(k, p);
    }
    return p;
  }
  const running = new Map<number, Running>();
  const aborter = new AbortController();
  let timer: NodeJS.Timeout | null = null;

  async function deliverWithRetry(
    rule: RuleRecord,
    action: RuleAction,
    output: Record<string, unknown>,
    msg: ForwardingMessage,
    key: string,
    signal: AbortSignal,
  ): Promise<{ attempts: number; error: string | null }> {
    let delay = config.RULE_RETRY_BASE_MS;
    const deadline = Date.now() + config.RULE_RETRY_MAX_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        await actions.deliver({ action, output, message: msg, deliveryKey: key, signal, scope: rule.scope });
        return { attempts: attempt, error: null };
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        const retryable = !(e instanceof DeliveryError) || e.retryable;
        if (!retryable || Date.now() + delay > deadline || signal.aborted) return { attempts: attempt, error };
        await sleep(delay, signal);
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  async function handle(
    rule: RuleRecord,
    compiled: CompiledRule,
    position: number,
    msg: ForwardingMessage,
    signal: AbortSignal,
  ): Promise<void> {
    const ctx = {
      ...msg,
      ...(compiled.usesAttributes ? { attributes: await attributesOf(msg.productKey, msg.deviceName) } : {}),
    };
    let output: Record<string, unknown>;
    try {
      if (!compiled.where(ctx)) return;
      output = compiled.select(ctx);
    } catch (e) {
      logger.warn({ err: e, ruleId: rule.id }, 'rule evaluation failed');
      return;
    }
    const stats = { matched: 1, delivered: 0, failed: 0, deadLettered: 0 };
    metrics.ruleEvents.inc({ rule: String(rule.id), outcome: 'matched' });
    const failures: { index: number; action: RuleAction; error: string; attempts: number; key: string }[] = [];
    for (const [index, action] of rule.actions.entries()) {
      if (action.errorAction) continue;
      const key = `${rule.id}:${position}:${index}`;
      const r = await deliverWithRetry(rule, action, output, msg, key, signal);
      // Stopped mid-delivery: leave the event unhandled, so it is delivered again when the rule runs next.
      if (signal.aborted) throw new Error('rule stopped');
      if (r.error === null) stats.delivered++;
      else failures.push({ index, action, error: r.error, attempts: r.attempts, key });
    }
    for (const f of failures) {
      stats.failed++;
      stats.deadLettered++;
      await insertDeadLetter(db, {
        ruleId: rule.id,
        actionIndex: f.index,
        deliveryKey: f.key,
        eventPosition: position,
        topic: msg.topic,
        output,
        error: f.error,
        attempts: f.attempts,
      });
      for (const [ei, ea] of rule.actions.entries()) {
        if (!ea.errorAction) continue;
        const errOut = {
          ruleId: rule.id,
          ruleName: rule.name,
          action: f.action.type,
          actionIndex: f.index,
          error: f.error,
          deliveryKey: f.key,
          topic: msg.topic,
          output,
        };
        const r = await deliverWithRetry(rule, ea, errOut, msg, `${f.key}:error:${ei}`, signal);
        if (r.error) logger.warn({ ruleId: rule.id, error: r.error }, 'error action failed too');
      }
    }
    for (const k of ['delivered', 'failed', 'deadLettered'] as const)
      if (stats[k]) metrics.ruleEvents.inc({ rule: String(rule.id), outcome: k }, stats[k]);
    await addRuleStats(db, rule.id, stats, failures[0]?.error ?? null);
  }

  async function run(rule: RuleRecord, signal: AbortSignal): Promise<void> {
    const compiled = compileRuleSql(rule.sql);
    if (!compiled.ok)
      return void logger.error(
        { ruleId: rule.id, error: compiled.error },
        'stored rule does not compile; not running it',
      );
    const name = consumerName(rule.id);
    const { types, productKey } = streamTypes(compiled.value.topicFilter);
    while (!signal.aborted) {
      const after = await consumers.acquire(name, hub.position);
      if (after == null) return; // another instance holds it
      // Stopped while the lease was being taken: an abort listener added now would never fire, and the stream
      // would wait for its next event for good (stop() waits for this runner).
      if (signal.aborted) break;
      const stream = new EventStream(hub, log, { filter: { types, productKey }, after, bufferLimit: 10_000 });
      signal.addEventListener('abort', () => void stream.return(), { once: true });
      let position = after;
      let lastCommit = Date.now();
      try {
        for await (const item of stream) {
          if (signal.aborted) break;
          const msg = toForwardingMessage(item.event, messagePayload);
          const hit = msg !== null && topicMatches(compiled.value.topicFilter, msg.topic);
          if (hit) await handle(rule, compiled.value, item.event.position, msg, signal);
          position = item.event.position;
          if (hit || Date.now() - lastCommit > 1000) {
            if (!(await consumers.commit(name, position)))
              return void logger.warn({ ruleId: rule.id }, 'rule lease lost; another instance runs it');
            lastCommit = Date.now();
          }
        }
        await consumers.commit(name, position);
      } catch (e) {
        // A slow rule falls behind the live buffer (SUBSCRIBER_TOO_SLOW) or the database blipped: resume from the log.
        logger.warn({ err: e, ruleId: rule.id }, 'rule consumer interrupted; resuming from its position');
        await consumers.commit(name, position).catch(() => undefined);
        await sleep(200, signal);
      }
    }
  }

  function startLocal(rule: RuleRecord): void {
    const ac = new AbortController();
    aborter.signal.addEventListener('abort', () => ac.abort(), { once: true });
    const done = run(rule, ac.signal)
      .catch((e: unknown) => logger.error({ err: e, ruleId: rule.id }, 'rule runner failed'))
      .finally(async () => {
        // Awaited, and before the runner leaves `running`: stop() must not let the database close before the lease is
        // handed back (a restarted platform would wait LEASE_MS for it), and a runner started by the next reconcile
        // must not have its fresh lease released by this one.
        await consumers.release(consumerName(rule.id)).catch(() => undefined);
        if (running.get(rule.id)?.done === done) running.delete(rule.id);
      });
    running.set(rule.id, { rule, stop: () => ac.abort(), done });
  }

  async function reconcile(): Promise<void> {
    const wanted = new Map((await listRunningRules(db)).map((r) => [r.id, r]));
    for (const [id, r] of running) {
      const w = wanted.get(id);
      // Stopped, deleted or changed: stop the local runner (a changed rule restarts below with its new definition).
      if (!w || w.updatedAt.getTime() !== r.rule.updatedAt.getTime()) r.stop();
    }
    for (const [id, rule] of wanted) {
      if (running.has(id) || aborter.signal.aborted) continue;
      startLocal(rule);
    }
  }

  let reconciling: Promise<void> | null = null;
  const kick = () => {
    reconciling ??= reconcile()
      .catch((e: unknown) => logger.warn({ err: e }, 'rules reconcile failed'))
      .finally(() => (reconciling = null));
  };

  return {
    start(): void {
      hub.on('registry.changed', (e) => {
        if (e.data.entity === 'rule') setTimeout(kick, 0);
      });
      kick();
      timer = setInterval(kick, TICK_MS);
      timer.unref();
    },
    /** Deliver one dead letter again (GraphQL redriveDeadLetters). */
    async redrive(dl: DeadLetterRecord, rule: RuleRecord): Promise<void> {
      const action = rule.actions[dl.actionIndex];
      if (!action) throw new Error('the rule no longer has that action');
      await actions.deliver({
        action,
        output: dl.output as Record<string, unknown>,
        message: { topic: dl.topic, ...sourceOfTopic(dl.topic) },
        deliveryKey: dl.deliveryKey,
        scope: rule.scope,
      });
    },
    get runningCount(): number {
      return running.size;
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      aborter.abort();
      await Promise.all([...running.values()].map((r) => r.done));
      await reconciling;
    },
  };
}

export type RuleEngine = ReturnType<typeof createRuleEngine>;
