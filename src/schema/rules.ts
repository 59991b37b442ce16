import type { DeadLetterRecord, RuleRecord } from '../services/rules/rules.ts';
import type { RuleAction } from '../services/rules/actions.ts';
import { redactAction } from '../services/rules/redaction.ts';
import type { TopicRoute } from '../services/rules/topic-routes.ts';
import { builder } from './builder.ts';
import { UserErrorRef } from './common.ts';
import { mutationField, type PayloadFieldBuilder } from './mutation.ts';
import { recordNode } from './nodes.ts';

const RuleStatusEnum = builder.enumType('RuleStatus', { values: ['RUNNING', 'STOPPED'] as const });
const RuleActionTypeEnum = builder.enumType('RuleActionType', { values: ['REPUBLISH', 'WEBHOOK', 'AMQP'] as const });

const RuleActionInput = builder.inputType('RuleActionInput', {
  description:
    'REPUBLISH {"topic": "/${productKey}/${deviceName}/user/get", "qos"?}; WEBHOOK {"url", "method"?, "headers"?, "bodyTemplate"?, "timeoutMs"?} (each request carries an Idempotency-Key header); AMQP {"url": "amqp://...", "exchange"?: "", "routingKey", "persistent"?} (the key is the messageId). errorAction: receives what other actions failed to deliver ({ruleId, ruleName, action, actionIndex, error, deliveryKey, topic, output}).',
  fields: (t) => ({
    type: t.field({ type: RuleActionTypeEnum, required: true }),
    configuration: t.field({ type: 'JSON', required: true }),
    errorAction: t.boolean({ defaultValue: false }),
  }),
});

const RuleActionRef = builder.objectRef<RuleAction>('RuleAction').implement({
  fields: (t) => ({
    type: t.field({ type: RuleActionTypeEnum, resolve: (a) => a.type }),
    configuration: t.field({
      type: 'JSON',
      description:
        'Below the ADMIN role, credentials are masked as "***": URL user info and query values, webhook header values (except Content-Type, Accept, Accept-Language, User-Agent).',
      resolve: (a, _args, ctx) => (ctx.principal.role === 'ADMIN' ? a.configuration : redactAction(a).configuration),
    }),
    errorAction: t.boolean({ resolve: (a) => a.errorAction }),
  }),
});

const RuleStatsRef = builder.objectRef<RuleRecord['stats']>('RuleStats').implement({
  fields: (t) => ({
    matched: t.int({ resolve: (s) => s.matched }),
    delivered: t.int({ resolve: (s) => s.delivered }),
    failed: t.int({ resolve: (s) => s.failed }),
    deadLettered: t.int({ resolve: (s) => s.deadLettered }),
  }),
});

export const RuleRef = builder.node(builder.objectRef<RuleRecord>('Rule'), {
  ...recordNode((id, ctx) => ctx.services.rules.get(ctx.principal, id), 'sql', 'actions'),
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    sql: t.exposeString('sql'),
    status: t.field({ type: RuleStatusEnum, resolve: (r) => r.status }),
    actions: t.field({ type: [RuleActionRef], resolve: (r) => r.actions }),
    stats: t.field({ type: RuleStatsRef, resolve: (r) => r.stats }),
    lastError: t.exposeString('lastError', {
      nullable: true,
      description: 'The last delivery failure (after retries).',
    }),
    lastErrorAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.lastErrorAt }),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.createdAt }),
  }),
});

const DeadLetterRef = builder.objectRef<DeadLetterRecord>('DeadLetter').implement({
  fields: (t) => ({
    id: t.id({ resolve: (d) => d.id }),
    ruleId: t.id({ resolve: (d) => d.ruleId }),
    actionIndex: t.exposeInt('actionIndex'),
    deliveryKey: t.exposeString('deliveryKey', {
      description: 'Idempotency key the delivery carried (Idempotency-Key header, AMQP messageId).',
    }),
    topic: t.exposeString('topic'),
    output: t.field({ type: 'JSON', resolve: (d) => d.output as never }),
    error: t.exposeString('error'),
    attempts: t.exposeInt('attempts'),
    createdAt: t.field({ type: 'DateTime', resolve: (d) => d.createdAt }),
    redrivenAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.redrivenAt }),
  }),
});

const RuleTestResultRef = builder
  .objectRef<{ matched: boolean; output: unknown; userErrors: { code: string; message: string; field?: string[] }[] }>(
    'RuleTestResult',
  )
  .implement({
    fields: (t) => ({
      matched: t.exposeBoolean('matched'),
      output: t.field({ type: 'JSON', nullable: true, resolve: (r) => r.output as never }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  });

const TopicRouteRef = builder.objectRef<TopicRoute>('TopicRoute').implement({
  fields: (t) => ({
    srcTopic: t.exposeString('srcTopic'),
    dstTopics: t.exposeStringList('dstTopics'),
  }),
});

const ruleId = (id: string | number) => (/^\d+$/.test(String(id)) ? Number(id) : decodeRuleId(String(id)));
function decodeRuleId(id: string): number {
  const raw = Buffer.from(id, 'base64').toString('utf8');
  const m = /^Rule:(\d+)$/.exec(raw);
  return m ? Number(m[1]) : -1;
}

builder.queryFields((t) => ({
  rules: t.field({ type: [RuleRef], resolve: (_r, _a, ctx) => ctx.services.rules.list(ctx.principal) }),
  rule: t.field({
    type: RuleRef,
    nullable: true,
    args: { id: t.arg.id({ required: true, description: 'The rule id (numeric or global).' }) },
    resolve: (_r, a, ctx) => ctx.services.rules.get(ctx.principal, ruleId(a.id)),
  }),
  testRule: t.field({
    type: RuleTestResultRef,
    description:
      'What a rule would emit for one message on `topic` (forwarding topic and shape, alink-protocol.md §6).',
    args: {
      sql: t.arg.string({ required: true }),
      topic: t.arg.string({ required: true }),
      payload: t.arg({ type: 'JSON', required: true }),
    },
    resolve: (_r, a, ctx) => ctx.services.rules.test(ctx.principal, { sql: a.sql, topic: a.topic, payload: a.payload }),
  }),
  deadLetters: t.connection({
    type: DeadLetterRef,
    args: { ruleId: t.arg.id({ required: true }) },
    resolve: (_r, a, ctx) => ctx.services.rules.deadLetters(ctx.principal, ruleId(a.ruleId), a),
  }),
  topicRoutes: t.field({
    type: [TopicRouteRef],
    args: { srcTopic: t.arg.string() },
    resolve: (_r, a, ctx) => ctx.services.topicRoutes.list(ctx.principal, a.srcTopic ?? null),
  }),
}));

// PRODUCT_NOT_FOUND / TOPIC_NOT_ALLOWED: a key limited to products names another product, or none, in FROM or a REPUBLISH target.
// RULE_LIMIT_EXCEEDED: the product already has RULE_MAX_PER_PRODUCT rules.
const RULE_CODES = [
  'INVALID_SQL',
  'INVALID_ACTION',
  'INVALID_NAME',
  'PRODUCT_NOT_FOUND',
  'TOPIC_NOT_ALLOWED',
  'RULE_LIMIT_EXCEEDED',
];

const rulePayload = (t: PayloadFieldBuilder<{ rule: RuleRecord }>) => ({
  rule: t.expose('rule', { type: RuleRef, nullable: true }),
});
const routePayload = (t: PayloadFieldBuilder<{ route: TopicRoute }>) => ({
  route: t.expose('route', { type: TopicRouteRef, nullable: true }),
});
const actionsOf = (
  actions: readonly { type: RuleAction['type']; configuration?: unknown; errorAction?: boolean | null }[],
) =>
  actions.map((a) => ({
    type: a.type,
    configuration: a.configuration as Record<string, unknown>,
    errorAction: a.errorAction ?? false,
  }));

mutationField('createRule', {
  description: 'CreateRule + CreateRuleAction: the rule is created STOPPED.',
  codes: RULE_CODES,
  inputFields: (t) => ({
    name: t.string({ required: true }),
    sql: t.string({ required: true, description: 'SELECT ... FROM "<topic filter>" [WHERE ...]' }),
    actions: t.field({ type: [RuleActionInput], required: true }),
    description: t.string(),
  }),
  resolve: async (input, ctx) => ({
    rule: await ctx.services.rules.create(ctx.principal, { ...input, actions: actionsOf(input.actions) }),
  }),
  outputFields: rulePayload,
});

mutationField('updateRule', {
  description: 'Changes apply to a running rule at once.',
  codes: ['RULE_NOT_FOUND', ...RULE_CODES],
  inputFields: (t) => ({
    id: t.id({ required: true }),
    name: t.string(),
    sql: t.string(),
    actions: t.field({ type: [RuleActionInput] }),
    description: t.string(),
  }),
  resolve: async (input, ctx) => ({
    rule: await ctx.services.rules.update(ctx.principal, {
      id: ruleId(input.id),
      name: input.name,
      sql: input.sql,
      description: input.description,
      actions: input.actions ? actionsOf(input.actions) : null,
    }),
  }),
  outputFields: rulePayload,
});

for (const [name, op] of [
  ['deleteRule', 'delete'],
  ['startRule', 'start'],
  ['stopRule', 'stop'],
] as const) {
  mutationField(name, {
    description: op === 'start' ? 'StartRule: the rule sees events committed from now on.' : `${name}.`,
    codes: ['RULE_NOT_FOUND'],
    inputFields: (t) => ({ id: t.id({ required: true }) }),
    resolve: async (input, ctx) => ({ rule: await ctx.services.rules[op](ctx.principal, ruleId(input.id)) }),
    outputFields: rulePayload,
  });
}

mutationField('redriveDeadLetters', {
  description:
    'Deliver dead letters again, in the background: returns at once with `redriven` = how many were queued (`failed` stays 0). A delivered dead letter gets `redrivenAt`; one that fails again stays, with one more attempt and its new error.',
  codes: ['RULE_NOT_FOUND'],
  inputFields: (t) => ({
    ruleId: t.id({ required: true }),
    ids: t.idList({ description: 'Absent: every pending dead letter of the rule.' }),
  }),
  // The dead letters that fail again are REDRIVE_FAILED userErrors beside the counts.
  resultErrors: true,
  resolve: (input, ctx) =>
    ctx.services.rules.redrive(ctx.principal, ruleId(input.ruleId), input.ids ? input.ids.map((i) => Number(i)) : null),
  outputFields: (t) => ({
    redriven: t.int({ resolve: (r) => r.redriven ?? 0 }),
    failed: t.int({ resolve: (r) => r.failed ?? 0 }),
  }),
});

mutationField('createTopicRoute', {
  description: 'CreateTopicRouteTable: source PUB, destinations SUB, at most 100.',
  codes: ['TOPIC_NOT_ALLOWED', 'DEVICE_NOT_FOUND', 'PRODUCT_NOT_FOUND', 'INVALID_INPUT'],
  inputFields: (t) => ({ srcTopic: t.string({ required: true }), dstTopics: t.stringList({ required: true }) }),
  resolve: async (input, ctx) => ({ route: await ctx.services.topicRoutes.create(ctx.principal, input) }),
  outputFields: routePayload,
});

mutationField('deleteTopicRoute', {
  description: 'DeleteTopicRouteTable.',
  codes: ['ROUTE_NOT_FOUND'],
  inputFields: (t) => ({
    srcTopic: t.string({ required: true }),
    dstTopics: t.stringList({ description: 'Absent: the whole route.' }),
  }),
  resolve: async (input, ctx) => ({ route: await ctx.services.topicRoutes.delete(ctx.principal, input) }),
  outputFields: routePayload,
});
