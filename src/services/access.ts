import { DomainError, ForbiddenError } from '../domain/errors.ts';

/** Defined with the rest of the error vocabulary (domain/errors.ts); re-exported for the services that import it here. */
export { ForbiddenError };

export type ApiRole = 'ADMIN' | 'OPERATOR' | 'VIEWER';

/** Who is calling: the admin token or an API key (graphql-api.md "Transport and authentication"). */
export interface Principal {
  kind: 'admin' | 'apiKey' | 'accessKey';
  /** The API key's row id (null for the admin token and for AccessKey pairs). */
  keyId: number | null;
  /** The AccessKeyId of an AccessKey pair (cloud-api.md §2). */
  accessKeyId?: string;
  role: ApiRole;
  /** null: every product. */
  productKeys: readonly string[] | null;
}

const RANK: Record<ApiRole, number> = { VIEWER: 0, OPERATOR: 1, ADMIN: 2 };

export function requireRole(p: Principal, role: ApiRole): void {
  if (RANK[p.role] < RANK[role])
    throw new ForbiddenError(`this operation needs the ${role} role; the caller has ${p.role}`);
}

export function canSeeProduct(p: Principal, productKey: string): boolean {
  return p.productKeys === null || p.productKeys.includes(productKey);
}

/**
 * A key limited to products may not act outside them: creating a product or an API key wider than its own scope would
 * hand it products it cannot see (and reveal which product keys are taken).
 */
export function requireUnscoped(p: Principal, what: string): void {
  if (p.productKeys !== null) throw new ForbiddenError(`a key limited to products cannot ${what}`);
}

/** A scoped key must not learn that other products exist: it gets the same answer as for a missing product. */
export function assertProductVisible(p: Principal, productKey: string): void {
  if (!canSeeProduct(p, productKey)) {
    throw new DomainError('PRODUCT_NOT_FOUND', `product ${productKey} does not exist`, ['input', 'productKey']);
  }
}
