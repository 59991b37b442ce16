import type { ApiKeyRecord } from '../services/api-keys.ts';
import { builder } from './builder.ts';
import { ApiRoleEnum, codesDescription, UserErrorRef, withUserErrors } from './common.ts';

const ApiKeyRef = builder.objectRef<ApiKeyRecord>('ApiKey').implement({
  description: 'An API key. The token itself is shown once, by createApiKey, and stored only as a hash.',
  fields: (t) => ({
    id: t.id({ resolve: (k) => k.id }),
    name: t.exposeString('name'),
    role: t.field({ type: ApiRoleEnum, resolve: (k) => k.role }),
    productKeys: t.stringList({ nullable: true, description: 'null: every product.', resolve: (k) => k.productKeys }),
    tokenPrefix: t.exposeString('tokenPrefix', { description: 'The first characters of the token, to recognise it.' }),
    createdAt: t.field({ type: 'DateTime', resolve: (k) => k.createdAt }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.revokedAt }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.field({
    type: [ApiKeyRef],
    description: 'ADMIN only; never the tokens.',
    resolve: (_r, _a, ctx) => ctx.services.apiKeys.list(ctx.principal),
  }),
}));

builder.relayMutationField(
  'createApiKey',
  {
    inputFields: (t) => ({
      name: t.string({ required: true }),
      role: t.field({ type: ApiRoleEnum, required: true }),
      productKeys: t.stringList({ description: 'Limit the key to these products (absent: every product).' }),
    }),
  },
  { resolve: (_r, { input }, ctx) => withUserErrors(() => ctx.services.apiKeys.create(ctx.principal, input)) },
  {
    description: codesDescription('ADMIN only. The token is shown once.', ['INVALID_NAME', 'INVALID_INPUT', 'PRODUCT_NOT_FOUND']),
    outputFields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, nullable: true, resolve: (r) => r.apiKey ?? null }),
      token: t.string({ nullable: true, resolve: (r) => r.token ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

builder.relayMutationField(
  'revokeApiKey',
  { inputFields: (t) => ({ id: t.id({ required: true }) }) },
  {
    resolve: (_r, { input }, ctx) =>
      withUserErrors(async () => {
        const id = Number(input.id);
        return { apiKey: await ctx.services.apiKeys.revoke(ctx.principal, Number.isSafeInteger(id) ? id : -1) };
      }),
  },
  {
    description: codesDescription('ADMIN only. Open WebSocket connections using the key are closed with 4401.', ['API_KEY_NOT_FOUND']),
    outputFields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, nullable: true, resolve: (r) => r.apiKey ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);
