import type { ApiKeyRecord } from '../services/api-keys.ts';
import { builder } from './builder.ts';
import { keyAdminFields, keyScopeFields, keyTimeFields } from './keys.ts';
import { mutationField } from './mutation.ts';

const ApiKeyRef = builder.objectRef<ApiKeyRecord>('ApiKey').implement({
  description: 'An API key. The token itself is shown once, by createApiKey, and stored only as a hash.',
  fields: (t) => ({
    id: t.id({ resolve: (k) => k.id }),
    ...keyScopeFields(t),
    tokenPrefix: t.exposeString('tokenPrefix', { description: 'The first characters of the token, to recognise it.' }),
    ...keyTimeFields(t),
  }),
});

keyAdminFields({
  ref: ApiKeyRef,
  list: {
    name: 'apiKeys',
    description: 'ADMIN only; never the tokens.',
    resolve: (ctx) => ctx.services.apiKeys.list(ctx.principal),
  },
  create: {
    name: 'createApiKey',
    description: 'ADMIN only. The token is shown once.',
    resolve: (input, ctx) => ctx.services.apiKeys.create(ctx.principal, input),
    outputFields: (t) => ({
      apiKey: t.expose('apiKey', { type: ApiKeyRef, nullable: true }),
      token: t.exposeString('token', { nullable: true }),
    }),
  },
});

mutationField('revokeApiKey', {
  description: 'ADMIN only. Open WebSocket connections using the key are closed with 4401.',
  codes: ['API_KEY_NOT_FOUND'],
  inputFields: (t) => ({ id: t.id({ required: true }) }),
  resolve: async (input, ctx) => {
    const id = Number(input.id);
    return { apiKey: await ctx.services.apiKeys.revoke(ctx.principal, Number.isSafeInteger(id) ? id : -1) };
  },
  outputFields: (t) => ({ apiKey: t.expose('apiKey', { type: ApiKeyRef, nullable: true }) }),
});
