import { and, asc, count, eq, inArray, type SQL } from 'drizzle-orm';
import type { Executor } from '../client.ts';
import type { DataFormat, NodeType, ProductRecord, ValidationMode } from '../records.ts';
import { products } from '../tables.ts';
import { idPageConds, idPageOrder, type IdPage } from './paging.ts';

export type NewProduct = typeof products.$inferInsert;
export type ProductChanges = Partial<
  Pick<NewProduct, 'name' | 'description' | 'validationMode' | 'dynamicRegistration' | 'tsl' | 'updatedAt'>
>;

export function toProductRecord(r: typeof products.$inferSelect): ProductRecord {
  return {
    id: r.id,
    productKey: r.productKey,
    name: r.name,
    description: r.description,
    nodeType: r.nodeType as NodeType,
    dataFormat: r.dataFormat as DataFormat,
    validationMode: r.validationMode as ValidationMode,
    tsl: r.tsl as Record<string, unknown>,
    dynamicRegistration: r.dynamicRegistration,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

export async function findProduct(ex: Executor, productKey: string): Promise<ProductRecord | null> {
  const rows = await ex.select().from(products).where(eq(products.productKey, productKey)).limit(1);
  return rows[0] ? toProductRecord(rows[0]) : null;
}

export async function findProductById(ex: Executor, id: number): Promise<ProductRecord | null> {
  const rows = await ex.select().from(products).where(eq(products.id, id)).limit(1);
  return rows[0] ? toProductRecord(rows[0]) : null;
}

export async function findProductsByKeys(ex: Executor, productKeys: readonly string[]): Promise<ProductRecord[]> {
  const rows = await ex
    .select()
    .from(products)
    .where(inArray(products.productKey, [...productKeys]));
  return rows.map(toProductRecord);
}

/** Which of these product keys exist. */
export async function existingProductKeys(ex: Executor, productKeys: readonly string[]): Promise<string[]> {
  const rows = await ex
    .select({ k: products.productKey })
    .from(products)
    .where(inArray(products.productKey, [...productKeys]));
  return rows.map((r) => r.k);
}

/** What dynamic registration needs of a product: whether it is on, and the encrypted product secret. */
export async function findProductRegistration(
  ex: Executor,
  productKey: string,
): Promise<{ dynamicRegistration: boolean; secretEnc: string } | null> {
  const rows = await ex
    .select({ dynamicRegistration: products.dynamicRegistration, secretEnc: products.productSecretEnc })
    .from(products)
    .where(eq(products.productKey, productKey))
    .limit(1);
  return rows[0] ?? null;
}

/** Null when the product key is taken. */
export async function insertProduct(ex: Executor, values: NewProduct): Promise<ProductRecord | null> {
  const rows = await ex
    .insert(products)
    .values(values)
    .onConflictDoNothing({ target: products.productKey })
    .returning();
  return rows[0] ? toProductRecord(rows[0]) : null;
}

/** Null when there is no such product. */
export async function updateProduct(
  ex: Executor,
  productKey: string,
  set: ProductChanges,
): Promise<ProductRecord | null> {
  const rows = await ex.update(products).set(set).where(eq(products.productKey, productKey)).returning();
  return rows[0] ? toProductRecord(rows[0]) : null;
}

/** Locks the product row for the rest of the transaction; false when there is no such product. */
export async function lockProduct(ex: Executor, productKey: string): Promise<boolean> {
  const rows = await ex
    .select({ id: products.id })
    .from(products)
    .where(eq(products.productKey, productKey))
    .for('update');
  return rows.length > 0;
}

export async function deleteProduct(ex: Executor, productKey: string): Promise<void> {
  await ex.delete(products).where(eq(products.productKey, productKey));
}

/** Products within a scope (null: every product). */
const scopeCond = (productKeys: readonly string[] | null): SQL | undefined =>
  productKeys === null ? undefined : inArray(products.productKey, [...productKeys, '']);

export async function listProductsPage(
  ex: Executor,
  productKeys: readonly string[] | null,
  page: IdPage,
): Promise<ProductRecord[]> {
  const rows = await ex
    .select()
    .from(products)
    .where(and(scopeCond(productKeys), ...idPageConds(products.id, page)))
    .orderBy(idPageOrder(products.id, page))
    .limit(page.limit);
  return rows.map(toProductRecord);
}

export const countProducts = (ex: Executor, productKeys: readonly string[] | null): Promise<number> =>
  ex.$count(products, scopeCond(productKeys));

/** Offset paging (the OpenAPI's `CurrentPage`): one page and the total, in id order. */
export async function listProductsByOffset(
  ex: Executor,
  productKeys: readonly string[] | null,
  pageSize: number,
  page: number,
): Promise<{ total: number; rows: ProductRecord[] }> {
  const where = scopeCond(productKeys);
  const [t] = await ex.select({ n: count() }).from(products).where(where);
  const rows = await ex
    .select()
    .from(products)
    .where(where)
    .orderBy(asc(products.id))
    .limit(pageSize)
    .offset((page - 1) * pageSize);
  return { total: Number(t?.n ?? 0), rows: rows.map(toProductRecord) };
}
