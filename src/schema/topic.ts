import { topicTemplate } from '../db/records.ts';
import { builder } from './builder.ts';
import { ProductTopicRef } from './refs.ts';
import { TopicOperationEnum } from './common.ts';
import { mutationField } from './mutation.ts';
import { recordNode } from './nodes.ts';

builder.node(ProductTopicRef, {
  ...recordNode((id, ctx) => ctx.services.topics.get(ctx.principal, id), 'shortName', 'operation'),
  fields: (t) => ({
    productKey: t.exposeString('productKey'),
    topicShortName: t.exposeString('shortName'),
    topicTemplate: t.string({ description: 'e.g. "/a1B2c3/${deviceName}/user/get"', resolve: (r) => topicTemplate(r) }),
    operation: t.field({ type: TopicOperationEnum, resolve: (r) => r.operation }),
    description: t.exposeString('description', { nullable: true }),
  }),
});

builder.queryFields((t) => ({
  topics: t.field({
    type: [ProductTopicRef],
    description: "A product's custom topic categories.",
    args: { productKey: t.arg.string({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.topics.list(ctx.principal, args.productKey),
  }),
}));

mutationField('createProductTopic', {
  description: 'CreateProductTopic.',
  codes: ['PRODUCT_NOT_FOUND', 'INVALID_NAME', 'TOPIC_ALREADY_EXISTS', 'TOPIC_LIMIT_EXCEEDED'],
  inputFields: (t) => ({
    productKey: t.string({ required: true }),
    topicShortName: t.string({
      required: true,
      description: 'The part after /user/, e.g. "submit" or "cmd/+" (wildcards only for SUB/ALL).',
    }),
    operation: t.field({ type: TopicOperationEnum, required: true }),
    description: t.string(),
  }),
  resolve: async (input, ctx) => ({ topic: await ctx.services.topics.create(ctx.principal, input) }),
  outputFields: (t) => ({ topic: t.expose('topic', { type: ProductTopicRef, nullable: true }) }),
});

mutationField('deleteProductTopic', {
  description: 'DeleteProductTopic: devices stop receiving on it at once.',
  codes: ['PRODUCT_NOT_FOUND', 'TOPIC_NOT_FOUND'],
  inputFields: (t) => ({ productKey: t.string({ required: true }), topicShortName: t.string({ required: true }) }),
  resolve: async (input, ctx) => ({
    deletedId: (await ctx.services.topics.delete(ctx.principal, input.productKey, input.topicShortName)).id,
  }),
  outputFields: (t) => ({
    deletedId: t.field({
      type: 'ID',
      nullable: true,
      resolve: (r) => (r.deletedId == null ? null : Buffer.from(`ProductTopic:${r.deletedId}`).toString('base64')),
    }),
  }),
});
