import { SERVER_SUBSCRIPTION_TYPES } from '../domain/amqp/messages.ts';
import type { ConsumerGroupRecord, SubscribeRelationRecord } from '../services/amqp/groups.ts';
import type { ConnectedClient } from '../services/amqp/subscriptions.ts';
import { builder } from './builder.ts';
import { codesDescription, UserErrorRef, withUserErrors } from './common.ts';

/** cloud-api.md §7.4 and §8: consumer groups and subscribe relations of AMQP server-side subscription. */
const ServerSubscriptionTypeEnum = builder.enumType('ServerSubscriptionType', { values: SERVER_SUBSCRIPTION_TYPES });

const ConsumerClientRef = builder.objectRef<ConnectedClient>('ConsumerClient').implement({
  description: 'An AMQP client of the group connected to the instance that answers.',
  fields: (t) => ({
    clientId: t.exposeString('clientId'),
    accessKeyId: t.exposeString('accessKeyId'),
    remoteAddress: t.exposeString('remoteAddress'),
    connectedAt: t.field({ type: 'DateTime', resolve: (c) => c.connectedAt }),
    inFlight: t.exposeInt('inFlight', { description: 'Messages sent to it and not settled yet.' }),
  }),
});

const ConsumerGroupRef = builder.node(builder.objectRef<ConsumerGroupRecord>('ConsumerGroup'), {
  description: 'The unit of AMQP delivery: every message a group subscribes to is consumed once, by any one of its clients.',
  id: { resolve: (g) => g.id },
  loadOne: (id, ctx) => ctx.services.consumerGroups.getGroupByNodeId(ctx.principal, Number(id)),
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'groupId' in v && 'position' in v,
  fields: (t) => ({
    groupId: t.exposeString('groupId', { description: 'What AMQP clients send as consumerGroupId.' }),
    name: t.exposeString('name'),
    createdAt: t.field({ type: 'DateTime', resolve: (g) => g.createdAt }),
    backlog: t.int({ description: 'Messages after the cursor not yet settled.', resolve: (g, _a, ctx) => ctx.services.consumerGroups.backlog(g) }),
    clients: t.field({ type: [ConsumerClientRef], resolve: (g, _a, ctx) => ctx.services.runtime.amqp.clients(g.groupId) }),
  }),
});

const SubscribeRelationRef = builder.node(builder.objectRef<SubscribeRelationRecord>('SubscribeRelation'), {
  description: "A product's AMQP subscription: the consumer groups that get its messages of the listed types.",
  id: { resolve: (r) => r.id },
  loadOne: async (id, ctx) => (await ctx.services.consumerGroups.listRelations(ctx.principal)).find((r) => r.id === Number(id)) ?? null,
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'consumerGroupIds' in v,
  fields: (t) => ({
    productKey: t.exposeString('productKey'),
    consumerGroupIds: t.exposeStringList('consumerGroupIds'),
    messageTypes: t.field({ type: [ServerSubscriptionTypeEnum], resolve: (r) => r.messageTypes }),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.createdAt }),
  }),
});

builder.queryFields((t) => ({
  consumerGroups: t.field({ type: [ConsumerGroupRef], resolve: (_r, _a, ctx) => ctx.services.consumerGroups.listGroups(ctx.principal) }),
  consumerGroup: t.field({
    type: ConsumerGroupRef,
    nullable: true,
    args: { groupId: t.arg.string({ required: true }) },
    resolve: (_r, a, ctx) => ctx.services.consumerGroups.getGroup(ctx.principal, a.groupId),
  }),
  subscribeRelations: t.field({
    type: [SubscribeRelationRef],
    description: 'Keys limited to products see their products’ relations only.',
    args: { productKey: t.arg.string() },
    resolve: (_r, a, ctx) => ctx.services.consumerGroups.listRelations(ctx.principal, a.productKey),
  }),
}));

builder.relayMutationField(
  'createConsumerGroup',
  { inputFields: (t) => ({ name: t.string({ required: true }) }) },
  { resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ consumerGroup: await ctx.services.consumerGroups.createGroup(ctx.principal, input) })) },
  {
    description: codesDescription('OPERATOR. The group starts at the log head (no replay).', ['INVALID_NAME']),
    outputFields: (t) => ({
      consumerGroup: t.field({ type: ConsumerGroupRef, nullable: true, resolve: (r) => r.consumerGroup ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

builder.relayMutationField(
  'deleteConsumerGroup',
  { inputFields: (t) => ({ groupId: t.string({ required: true }) }) },
  { resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ deletedGroupId: await ctx.services.consumerGroups.deleteGroup(ctx.principal, input.groupId) })) },
  {
    description: codesDescription('OPERATOR. Also removed from relations; its clients are disconnected.', ['CONSUMER_GROUP_NOT_FOUND', 'DEFAULT_GROUP_UNDELETABLE']),
    outputFields: (t) => ({
      deletedGroupId: t.string({ nullable: true, resolve: (r) => r.deletedGroupId ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

builder.relayMutationField(
  'resetConsumerGroupPosition',
  { inputFields: (t) => ({ groupId: t.string({ required: true }) }) },
  { resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ consumerGroup: await ctx.services.consumerGroups.resetPosition(ctx.principal, input.groupId) })) },
  {
    description: codesDescription('OPERATOR. Moves the cursor to the head: the backlog is dropped.', ['CONSUMER_GROUP_NOT_FOUND']),
    outputFields: (t) => ({
      consumerGroup: t.field({ type: ConsumerGroupRef, nullable: true, resolve: (r) => r.consumerGroup ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

const RELATION_CODES = ['PRODUCT_NOT_FOUND', 'CONSUMER_GROUP_NOT_FOUND', 'INVALID_INPUT'];

builder.relayMutationField(
  'createSubscribeRelation',
  {
    inputFields: (t) => ({
      productKey: t.string({ required: true }),
      consumerGroupIds: t.stringList({ required: true, description: 'At least one.' }),
      messageTypes: t.field({ type: [ServerSubscriptionTypeEnum], required: true, description: 'At least one.' }),
    }),
  },
  { resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ subscribeRelation: await ctx.services.consumerGroups.createRelation(ctx.principal, input) })) },
  {
    description: codesDescription('OPERATOR. Takes effect for events committed after it.', [...RELATION_CODES, 'SUBSCRIBE_RELATION_EXISTS']),
    outputFields: (t) => ({
      subscribeRelation: t.field({ type: SubscribeRelationRef, nullable: true, resolve: (r) => r.subscribeRelation ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

builder.relayMutationField(
  'updateSubscribeRelation',
  {
    inputFields: (t) => ({
      productKey: t.string({ required: true }),
      consumerGroupIds: t.stringList({ required: true, description: 'At least one.' }),
      messageTypes: t.field({ type: [ServerSubscriptionTypeEnum], required: true, description: 'At least one.' }),
    }),
  },
  { resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ subscribeRelation: await ctx.services.consumerGroups.updateRelation(ctx.principal, input) })) },
  {
    description: codesDescription('OPERATOR. Replaces groups and types; added ones start at the log head.', [...RELATION_CODES, 'SUBSCRIBE_RELATION_NOT_FOUND']),
    outputFields: (t) => ({
      subscribeRelation: t.field({ type: SubscribeRelationRef, nullable: true, resolve: (r) => r.subscribeRelation ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

builder.relayMutationField(
  'deleteSubscribeRelation',
  { inputFields: (t) => ({ productKey: t.string({ required: true }) }) },
  { resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ deletedProductKey: await ctx.services.consumerGroups.deleteRelation(ctx.principal, input.productKey) })) },
  {
    description: codesDescription('OPERATOR.', ['SUBSCRIBE_RELATION_NOT_FOUND']),
    outputFields: (t) => ({
      deletedProductKey: t.string({ nullable: true, resolve: (r) => r.deletedProductKey ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);
