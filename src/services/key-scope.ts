import { DomainError } from '../domain/errors.ts';
import type { Executor } from '../db/client.ts';
import { existingProductKeys } from '../db/repositories/products.ts';
import { canSeeProduct, requireRole, type Principal } from './access.ts';

/**
 * Product scope of API keys and AccessKeys, which follow the same rules: a key limited to products manages only keys
 * limited to (a subset of) the same products; it sees no others.
 */
export const canSeeKey = (p: Principal, productKeys: readonly string[] | null): boolean =>
  p.productKeys === null || (productKeys?.every((k) => p.productKeys!.includes(k)) ?? false);

/**
 * The product scope of a new key. Absent: every product the creator may see (a scoped key cannot make a wider key
 * than itself). Products outside the creator's scope are reported exactly like products that do not exist.
 */
export async function newKeyScope(
  ex: Executor,
  p: Principal,
  requested: readonly string[] | null | undefined,
): Promise<string[] | null> {
  if (requested == null) return p.productKeys === null ? null : [...p.productKeys];
  const productKeys = [...new Set(requested)];
  if (productKeys.length === 0) {
    throw new DomainError('INVALID_INPUT', 'productKeys must list at least one product (omit it for every product)', [
      'input',
      'productKeys',
    ]);
  }
  const found = await existingProductKeys(ex, productKeys);
  const missing = productKeys.filter((k) => !found.includes(k) || !canSeeProduct(p, k));
  if (missing.length > 0)
    throw new DomainError('PRODUCT_NOT_FOUND', `unknown products: ${missing.join(', ')}`, ['input', 'productKeys']);
  return productKeys;
}

/** The ADMIN reads of a kind of key, limited to the keys the caller may see. */
export function keyReads<Row extends { productKeys: string[] | null }, R>(
  ex: Executor,
  listRows: (ex: Executor) => Promise<Row[]>,
  findRow: (ex: Executor, id: number) => Promise<Row | null>,
  toRecord: (r: Row) => R,
) {
  const list = () => listRows(ex);
  const find = (id: number) => findRow(ex, id);
  return {
    async list(p: Principal): Promise<R[]> {
      requireRole(p, 'ADMIN');
      return (await list()).filter((r) => canSeeKey(p, r.productKeys)).map(toRecord);
    },
    async get(p: Principal, id: number): Promise<R | null> {
      requireRole(p, 'ADMIN');
      const r = await find(id);
      return r && canSeeKey(p, r.productKeys) ? toRecord(r) : null;
    },
  };
}

/**
 * Revoke a key the caller may see, in the caller's transaction: `notFound` for a key that does not exist, is out of
 * scope, or disappears before the update.
 */
export async function revokeVisibleKey<Id, Row extends { productKeys: string[] | null }>(
  p: Principal,
  id: Id,
  find: (id: Id) => Promise<Row | null>,
  revoke: (id: Id) => Promise<Row | null>,
  notFound: (id: Id) => DomainError,
): Promise<Row> {
  const existing = await find(id);
  if (!existing || !canSeeKey(p, existing.productKeys)) throw notFound(id);
  const updated = await revoke(id);
  if (!updated) throw notFound(id);
  return updated;
}

/** The checked name and product scope of a key an ADMIN creates (API keys and AccessKeys alike). */
export async function newKeyFields(
  ex: Executor,
  p: Principal,
  input: { name: string; productKeys?: readonly string[] | null },
): Promise<{ name: string; productKeys: string[] | null }> {
  requireRole(p, 'ADMIN');
  const name = input.name.trim();
  if (name.length < 1 || name.length > 64)
    throw new DomainError('INVALID_NAME', 'name must be 1 to 64 characters', ['input', 'name']);
  return { name, productKeys: await newKeyScope(ex, p, input.productKeys) };
}
