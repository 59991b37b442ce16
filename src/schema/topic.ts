import { topicTemplate, type TopicRecord } from '../db/records.ts';
import { builder } from './builder.ts';
import { ProductTopicRef } from './refs.ts';
import { codesDescription, TopicOperationEnum, UserErrorRef, withUserErrors } from './common.ts';

builder.node(ProductTopicRef, {
  id: { resolve: (t) => t.id },
  loadOne: (id, ctx) => ctx.services.topics.get(ctx.principal, Number(id)),
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'shortName' in v && 'operation' in v,
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

builder.relayMutationField(
  'createProductTopic',
  {
    inputFields: (t) => ({
      productKey: t.string({ required: true }),
      topicShortName: t.string({ required: true, description: 'The part after /user/, e.g. "submit" or "cmd/+" (wildcards only for SUB/ALL).' }),
      operation: t.field({ type: TopicOperationEnum, required: true }),
      description: t.string(),
    }),
  },
  { resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ topic: await ctx.services.topics.create(ctx.principal, input) })) },
  {
    description: codesDescription('CreateProductTopic.', ['PRODUCT_NOT_FOUND', 'INVALID_NAME', 'TOPIC_ALREADY_EXISTS', 'TOPIC_LIMIT_EXCEEDED']),
    outputFields: (t) => ({
      topic: t.field({ type: ProductTopicRef, nullable: true, resolve: (r) => r.topic ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

builder.relayMutationField(
  'deleteProductTopic',
  { inputFields: (t) => ({ productKey: t.string({ required: true }), topicShortName: t.string({ required: true }) }) },
  {
    resolve: (_r, { input }, ctx) =>
      withUserErrors(async () => {
        const deleted = await ctx.services.topics.delete(ctx.principal, input.productKey, input.topicShortName);
        return { deletedId: deleted.id };
      }),
  },
  {
    description: codesDescription('DeleteProductTopic: devices stop receiving on it at once.', ['PRODUCT_NOT_FOUND', 'TOPIC_NOT_FOUND']),
    outputFields: (t) => ({
      deletedId: t.field({ type: 'ID', nullable: true, resolve: (r) => (r.deletedId == null ? null : Buffer.from(`ProductTopic:${r.deletedId}`).toString('base64')) }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);
