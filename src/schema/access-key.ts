import type { AccessKeyRecord } from '../services/access-keys.ts';
import { builder } from './builder.ts';
import { keyAdminFields, keyScopeFields, keyTimeFields } from './keys.ts';
import { mutationField } from './mutation.ts';
import { recordNode } from './nodes.ts';

/** cloud-api.md §8: AccessKey pairs for Alibaba's server SDKs (OpenAPI signatures, AMQP logins). */
const AccessKeyRef = builder.node(builder.objectRef<AccessKeyRecord>('AccessKey'), {
  description:
    'An AccessKey pair for Alibaba server SDKs. The secret is shown once, by createAccessKey, and stored encrypted.',
  ...recordNode((id, ctx) => ctx.services.accessKeys.get(ctx.principal, id)),
  fields: (t) => ({
    accessKeyId: t.exposeString('accessKeyId'),
    ...keyScopeFields(t),
    ...keyTimeFields(t),
    lastUsedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Updated at most once a minute.',
      resolve: (k) => k.lastUsedAt,
    }),
  }),
});

keyAdminFields({
  ref: AccessKeyRef,
  list: {
    name: 'accessKeys',
    description: 'ADMIN only; never the secrets.',
    resolve: (ctx) => ctx.services.accessKeys.list(ctx.principal),
  },
  create: {
    name: 'createAccessKey',
    description: 'ADMIN only. The secret is shown once.',
    resolve: (input, ctx) => ctx.services.accessKeys.create(ctx.principal, input),
    outputFields: (t) => ({
      accessKey: t.expose('accessKey', { type: AccessKeyRef, nullable: true }),
      accessKeySecret: t.exposeString('accessKeySecret', { nullable: true }),
    }),
  },
});

mutationField('revokeAccessKey', {
  description:
    'ADMIN only. Later OpenAPI calls fail with InvalidAccessKeyId.Inactive; AMQP connections using it are closed.',
  codes: ['ACCESS_KEY_NOT_FOUND'],
  inputFields: (t) => ({ accessKeyId: t.string({ required: true }) }),
  resolve: async (input, ctx) => ({
    accessKey: await ctx.services.accessKeys.revoke(ctx.principal, input.accessKeyId),
  }),
  outputFields: (t) => ({ accessKey: t.expose('accessKey', { type: AccessKeyRef, nullable: true }) }),
});
