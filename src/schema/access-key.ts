import type { AccessKeyRecord } from '../services/access-keys.ts';
import { builder } from './builder.ts';
import { ApiRoleEnum, codesDescription, UserErrorRef, withUserErrors } from './common.ts';

/** cloud-api.md §8: AccessKey pairs for Alibaba's server SDKs (OpenAPI signatures, AMQP logins). */
const AccessKeyRef = builder.node(builder.objectRef<AccessKeyRecord>('AccessKey'), {
  description: 'An AccessKey pair for Alibaba server SDKs. The secret is shown once, by createAccessKey, and stored encrypted.',
  id: { resolve: (k) => k.id },
  loadOne: (id, ctx) => ctx.services.accessKeys.get(ctx.principal, Number(id)),
  fields: (t) => ({
    accessKeyId: t.exposeString('accessKeyId'),
    name: t.exposeString('name'),
    role: t.field({ type: ApiRoleEnum, resolve: (k) => k.role }),
    productKeys: t.stringList({ nullable: true, description: 'null: every product.', resolve: (k) => k.productKeys }),
    createdAt: t.field({ type: 'DateTime', resolve: (k) => k.createdAt }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.revokedAt }),
    lastUsedAt: t.field({ type: 'DateTime', nullable: true, description: 'Updated at most once a minute.', resolve: (k) => k.lastUsedAt }),
  }),
});

builder.queryFields((t) => ({
  accessKeys: t.field({
    type: [AccessKeyRef],
    description: 'ADMIN only; never the secrets.',
    resolve: (_r, _a, ctx) => ctx.services.accessKeys.list(ctx.principal),
  }),
}));

builder.relayMutationField(
  'createAccessKey',
  {
    inputFields: (t) => ({
      name: t.string({ required: true }),
      role: t.field({ type: ApiRoleEnum, required: true }),
      productKeys: t.stringList({ description: 'Limit the key to these products (absent: every product).' }),
    }),
  },
  { resolve: (_r, { input }, ctx) => withUserErrors(() => ctx.services.accessKeys.create(ctx.principal, input)) },
  {
    description: codesDescription('ADMIN only. The secret is shown once.', ['INVALID_NAME', 'INVALID_INPUT', 'PRODUCT_NOT_FOUND']),
    outputFields: (t) => ({
      accessKey: t.field({ type: AccessKeyRef, nullable: true, resolve: (r) => r.accessKey ?? null }),
      accessKeySecret: t.string({ nullable: true, resolve: (r) => r.accessKeySecret ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

builder.relayMutationField(
  'revokeAccessKey',
  { inputFields: (t) => ({ accessKeyId: t.string({ required: true }) }) },
  {
    resolve: (_r, { input }, ctx) =>
      withUserErrors(async () => ({ accessKey: await ctx.services.accessKeys.revoke(ctx.principal, input.accessKeyId) })),
  },
  {
    description: codesDescription(
      'ADMIN only. Later OpenAPI calls fail with InvalidAccessKeyId.Inactive; AMQP connections using it are closed.',
      ['ACCESS_KEY_NOT_FOUND'],
    ),
    outputFields: (t) => ({
      accessKey: t.field({ type: AccessKeyRef, nullable: true, resolve: (r) => r.accessKey ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);
