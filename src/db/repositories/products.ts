import { eq } from 'drizzle-orm';
import type { Executor } from '../client.ts';
import type { DataFormat, NodeType, ProductRecord, ValidationMode } from '../records.ts';
import { products } from '../tables.ts';

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
