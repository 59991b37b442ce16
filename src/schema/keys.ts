import type { ApiRole } from '../services/access.ts';
import { builder, type BuilderTypes } from './builder.ts';
import { ApiRoleEnum } from './common.ts';
import type { GraphQLContext } from './context.ts';
import { mutationField, type Payload } from './mutation.ts';

/** What API keys (GraphQL tokens) and AccessKeys (Alibaba SDK pairs) share: a name, a role and a product scope. */
interface KeyShape {
  name: string;
  role: ApiRole;
  productKeys: string[] | null;
  createdAt: Date;
  revokedAt: Date | null;
}

type KeyFieldBuilder<K extends KeyShape> = PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, K>;

export const keyScopeFields = <K extends KeyShape>(t: KeyFieldBuilder<K>) => ({
  name: t.string({ resolve: (k) => k.name }),
  role: t.field({ type: ApiRoleEnum, resolve: (k) => k.role }),
  productKeys: t.stringList({ nullable: true, description: 'null: every product.', resolve: (k) => k.productKeys }),
});

export const keyTimeFields = <K extends KeyShape>(t: KeyFieldBuilder<K>) => ({
  createdAt: t.field({ type: 'DateTime', resolve: (k) => k.createdAt }),
  revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.revokedAt }),
});

/** The input of createApiKey and createAccessKey, and their userErrors codes. */
const keyInputFields = (t: PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>) => ({
  name: t.string({ required: true }),
  role: t.field({ type: ApiRoleEnum, required: true }),
  productKeys: t.stringList({ description: 'Limit the key to these products (absent: every product).' }),
});
const CREATE_KEY_CODES = ['INVALID_NAME', 'INVALID_INPUT', 'PRODUCT_NOT_FOUND'];

/** The ADMIN list of a kind of key (never their secrets) and the mutation creating one, whose secret shows once. */
export function keyAdminFields<R extends KeyShape, T extends object>(o: {
  ref: PothosSchemaTypes.ObjectRef<BuilderTypes, R>;
  list: { name: string; description: string; resolve: (ctx: GraphQLContext) => Promise<R[]> };
  create: {
    name: string;
    description: string;
    resolve: (input: { name: string; role: ApiRole; productKeys?: string[] | null }, ctx: GraphQLContext) => Promise<T>;
    outputFields: (t: PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, Payload<T>>) => object;
  };
}): void {
  builder.queryField(o.list.name, (t) =>
    t.field({ type: [o.ref], description: o.list.description, resolve: (_r, _a, ctx) => o.list.resolve(ctx) }),
  );
  mutationField(o.create.name, {
    description: o.create.description,
    codes: CREATE_KEY_CODES,
    inputFields: keyInputFields,
    resolve: o.create.resolve,
    outputFields: o.create.outputFields as never,
  });
}
