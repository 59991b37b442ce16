import { SERVER_SUBSCRIPTION_TYPES } from '../domain/amqp/messages.ts';
import type { ConsumerGroupRecord, SubscribeRelationRecord } from '../services/amqp/groups.ts';
import type { ConnectedClient } from '../services/amqp/subscriptions.ts';
import { builder } from './builder.ts';
import { deleteByKeyMutation, mutationField, type PayloadFieldBuilder } from './mutation.ts';
import { recordNode } from './nodes.ts';

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
  description:
    'The unit of AMQP delivery: every message a group subscribes to is consumed once, by any one of its clients.',
  ...recordNode((id, ctx) => ctx.services.consumerGroups.getGroupByNodeId(ctx.principal, id), 'groupId', 'position'),
  fields: (t) => ({
    groupId: t.exposeString('groupId', { description: 'What AMQP clients send as consumerGroupId.' }),
    name: t.exposeString('name'),
    createdAt: t.field({ type: 'DateTime', resolve: (g) => g.createdAt }),
    backlog: t.int({
      description: 'Messages after the cursor not yet settled.',
      resolve: (g, _a, ctx) => ctx.services.consumerGroups.backlog(g),
    }),
    clients: t.field({
      type: [ConsumerClientRef],
      resolve: (g, _a, ctx) => ctx.services.runtime.amqp.clients(g.groupId),
    }),
  }),
});

const SubscribeRelationRef = builder.node(builder.objectRef<SubscribeRelationRecord>('SubscribeRelation'), {
  description: "A product's AMQP subscription: the consumer groups that get its messages of the listed types.",
  ...recordNode(
    async (id, ctx) =>
      (await ctx.services.consumerGroups.listRelations(ctx.principal)).find((r) => r.id === id) ?? null,
    'consumerGroupIds',
  ),
  fields: (t) => ({
    productKey: t.exposeString('productKey'),
    consumerGroupIds: t.exposeStringList('consumerGroupIds'),
    messageTypes: t.field({ type: [ServerSubscriptionTypeEnum], resolve: (r) => r.messageTypes }),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.createdAt }),
  }),
});

builder.queryFields((t) => ({
  consumerGroups: t.field({
    type: [ConsumerGroupRef],
    resolve: (_r, _a, ctx) => ctx.services.consumerGroups.listGroups(ctx.principal),
  }),
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

const groupPayload = (t: PayloadFieldBuilder<{ consumerGroup: ConsumerGroupRecord }>) => ({
  consumerGroup: t.expose('consumerGroup', { type: ConsumerGroupRef, nullable: true }),
});

mutationField('createConsumerGroup', {
  description: 'OPERATOR. The group starts at the log head (no replay).',
  codes: ['INVALID_NAME'],
  inputFields: (t) => ({ name: t.string({ required: true }) }),
  resolve: async (input, ctx) => ({
    consumerGroup: await ctx.services.consumerGroups.createGroup(ctx.principal, input),
  }),
  outputFields: groupPayload,
});

deleteByKeyMutation('deleteConsumerGroup', {
  description: 'OPERATOR. Also removed from relations; its clients are disconnected.',
  codes: ['CONSUMER_GROUP_NOT_FOUND', 'DEFAULT_GROUP_UNDELETABLE'],
  key: 'groupId',
  deleted: 'deletedGroupId',
  resolve: (groupId, ctx) => ctx.services.consumerGroups.deleteGroup(ctx.principal, groupId),
});

mutationField('resetConsumerGroupPosition', {
  description: 'OPERATOR. Moves the cursor to the head: the backlog is dropped.',
  codes: ['CONSUMER_GROUP_NOT_FOUND'],
  inputFields: (t) => ({ groupId: t.string({ required: true }) }),
  resolve: async (input, ctx) => ({
    consumerGroup: await ctx.services.consumerGroups.resetPosition(ctx.principal, input.groupId),
  }),
  outputFields: groupPayload,
});

const RELATION_CODES = ['PRODUCT_NOT_FOUND', 'CONSUMER_GROUP_NOT_FOUND', 'INVALID_INPUT'];

for (const [name, op, what, code] of [
  [
    'createSubscribeRelation',
    'createRelation',
    'OPERATOR. Takes effect for events committed after it.',
    'SUBSCRIBE_RELATION_EXISTS',
  ],
  [
    'updateSubscribeRelation',
    'updateRelation',
    'OPERATOR. Replaces groups and types; added ones start at the log head.',
    'SUBSCRIBE_RELATION_NOT_FOUND',
  ],
] as const) {
  mutationField(name, {
    description: what,
    codes: [...RELATION_CODES, code],
    inputFields: (t) => ({
      productKey: t.string({ required: true }),
      consumerGroupIds: t.stringList({ required: true, description: 'At least one.' }),
      messageTypes: t.field({ type: [ServerSubscriptionTypeEnum], required: true, description: 'At least one.' }),
    }),
    resolve: async (input, ctx) => ({ subscribeRelation: await ctx.services.consumerGroups[op](ctx.principal, input) }),
    outputFields: (t) => ({
      subscribeRelation: t.expose('subscribeRelation', { type: SubscribeRelationRef, nullable: true }),
    }),
  });
}

deleteByKeyMutation('deleteSubscribeRelation', {
  description: 'OPERATOR.',
  codes: ['SUBSCRIBE_RELATION_NOT_FOUND'],
  key: 'productKey',
  deleted: 'deletedProductKey',
  resolve: (productKey, ctx) => ctx.services.consumerGroups.deleteRelation(ctx.principal, productKey),
});
