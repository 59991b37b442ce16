import type { ApiRole } from '../services/access.ts';
import type { BuilderTypes } from './builder.ts';
import { ApiRoleEnum } from './common.ts';

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
export const keyInputFields = (t: PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>) => ({
  name: t.string({ required: true }),
  role: t.field({ type: ApiRoleEnum, required: true }),
  productKeys: t.stringList({ description: 'Limit the key to these products (absent: every product).' }),
});
export const CREATE_KEY_CODES = ['INVALID_NAME', 'INVALID_INPUT', 'PRODUCT_NOT_FOUND'];
