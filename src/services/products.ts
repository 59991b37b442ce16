import { registryChanged } from '../events/catalog.ts';
import { and, asc, count, desc, eq, gt, inArray, lt } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import { DomainError, DomainErrors } from '../domain/errors.ts';
import { validateTslDocument } from '../domain/tsl/document.ts';
import { devices, products, productTopics } from '../db/tables.ts';
import type { Executor } from '../db/client.ts';
import { assertProductVisible, canSeeProduct, requireRole, requireUnscoped, type Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { idKey, keysetPage, toConnection, type PageArgs } from './paging.ts';
import { findProduct, toProductRecord } from '../db/repositories/products.ts';
import type { DataFormat, NodeType, ProductRecord, ValidationMode } from '../db/records.ts';
import { newProductKey, newProductSecret } from './secrets.ts';
import { DEFAULT_TOPICS } from './topic-categories.ts';

export interface CreateProductInput {
  productKey?: string | null;
  name: string;
  description?: string | null;
  nodeType?: NodeType | null;
  dataFormat?: DataFormat | null;
  validationMode?: ValidationMode | null;
  tsl?: unknown;
  dynamicRegistration?: boolean | null;
}

export interface UpdateProductInput {
  productKey: string;
  name?: string | null;
  description?: string | null;
  validationMode?: ValidationMode | null;
  dynamicRegistration?: boolean | null;
}

const PRODUCT_KEY_RE = /^[A-Za-z0-9]{4,32}$/;

/** CreateProduct: ProductName 4-30 characters (alink-protocol.md §5.4). */
function checkName(name: string): string {
  const n = name.trim();
  if ([...n].length < 4 || [...n].length > 30) {
    throw new DomainError('INVALID_NAME', 'product name must be 4 to 30 characters', ['input', 'name']);
  }
  return n;
}

function checkDescription(d: string | null | undefined): string | null {
  if (d == null) return null;
  if ([...d].length > 100) throw new DomainError('INVALID_NAME', 'description must be at most 100 characters', ['input', 'description']);
  return d;
}

/** Validate a TSL document (alink-protocol.md §4) and bind it to the product; every issue becomes one userError. */
export function normaliseTsl(input: unknown, productKey: string, field: string[]): Record<string, unknown> {
  const result = validateTslDocument(input ?? {});
  if (!result.ok) {
    throw new DomainErrors(
      result.error.map((i) => ({ code: 'INVALID_TSL', message: `${i.path.join('.') || 'tsl'}: ${i.message}`, field: [...field, ...i.path] })),
    );
  }
  const doc = result.value as unknown as Record<string, unknown>;
  return { ...doc, profile: { ...((doc.profile as Record<string, unknown> | undefined) ?? {}), productKey } };
}

export async function requireProduct(ex: Executor, p: Principal, productKey: string): Promise<ProductRecord> {
  assertProductVisible(p, productKey);
  const product = await findProduct(ex, productKey);
  if (!product) throw new DomainError('PRODUCT_NOT_FOUND', `product ${productKey} does not exist`, ['input', 'productKey']);
  return product;
}

export function createProductService(deps: ServiceDeps) {
  const { database, log, secrets } = deps;
  const db = database.db;

  const changed = (productKey: string, what: string) => registryChanged('product', what, { productKey }, { productKey });

  return {
    async create(p: Principal, input: CreateProductInput): Promise<ProductRecord> {
      requireRole(p, 'ADMIN');
      requireUnscoped(p, 'create products');
      const productKey = input.productKey ?? newProductKey();
      if (!PRODUCT_KEY_RE.test(productKey)) {
        throw new DomainError('INVALID_NAME', 'productKey must be 4 to 32 letters or digits', ['input', 'productKey']);
      }
      const name = checkName(input.name);
      const description = checkDescription(input.description);
      const tsl = normaliseTsl(input.tsl, productKey, ['input', 'tsl']);
      return log.transaction(async (tx, emit) => {
        const rows = await tx
          .insert(products)
          .values({
            productKey,
            name,
            description,
            nodeType: input.nodeType ?? 'DEVICE',
            dataFormat: input.dataFormat ?? 'ALINK_JSON',
            validationMode: input.validationMode ?? 'WEAK',
            tsl,
            productSecretEnc: secrets.encrypt(newProductSecret()),
            dynamicRegistration: input.dynamicRegistration ?? false,
          })
          .onConflictDoNothing({ target: products.productKey })
          .returning();
        if (!rows[0]) throw new DomainError('PRODUCT_ALREADY_EXISTS', `product ${productKey} already exists`, ['input', 'productKey']);
        await tx.insert(productTopics).values(DEFAULT_TOPICS.map((t) => ({ productKey, shortName: t.shortName, operation: t.operation, description: t.description })));
        emit(changed(productKey, 'created'));
        return toProductRecord(rows[0]);
      });
    },

    async update(p: Principal, input: UpdateProductInput): Promise<ProductRecord> {
      requireRole(p, 'ADMIN');
      assertProductVisible(p, input.productKey);
      const set: Partial<typeof products.$inferInsert> = { updatedAt: new Date() };
      if (input.name != null) set.name = checkName(input.name);
      if (input.description !== undefined) set.description = checkDescription(input.description);
      if (input.validationMode != null) set.validationMode = input.validationMode;
      if (input.dynamicRegistration != null) set.dynamicRegistration = input.dynamicRegistration;
      return log.transaction(async (tx, emit) => {
        const rows = await tx.update(products).set(set).where(eq(products.productKey, input.productKey)).returning();
        if (!rows[0]) throw new DomainError('PRODUCT_NOT_FOUND', `product ${input.productKey} does not exist`, ['input', 'productKey']);
        emit(changed(input.productKey, 'updated'));
        return toProductRecord(rows[0]);
      });
    },

    async setThingModel(p: Principal, productKey: string, tslInput: unknown): Promise<ProductRecord> {
      requireRole(p, 'ADMIN');
      assertProductVisible(p, productKey);
      const tsl = normaliseTsl(tslInput, productKey, ['input', 'tsl']);
      return log.transaction(async (tx, emit) => {
        const rows = await tx.update(products).set({ tsl, updatedAt: new Date() }).where(eq(products.productKey, productKey)).returning();
        if (!rows[0]) throw new DomainError('PRODUCT_NOT_FOUND', `product ${productKey} does not exist`, ['input', 'productKey']);
        emit(changed(productKey, 'thingModel'));
        return toProductRecord(rows[0]);
      });
    },

    async delete(p: Principal, productKey: string): Promise<string> {
      requireRole(p, 'ADMIN');
      assertProductVisible(p, productKey);
      return log.transaction(async (tx, emit) => {
        // Lock the product row so a concurrent registerDevice cannot slip in between the count and the delete.
        const locked = await tx.select({ id: products.id }).from(products).where(eq(products.productKey, productKey)).for('update');
        if (!locked[0]) throw new DomainError('PRODUCT_NOT_FOUND', `product ${productKey} does not exist`, ['input', 'productKey']);
        const [n] = await tx.select({ n: count() }).from(devices).where(eq(devices.productKey, productKey));
        if ((n?.n ?? 0) > 0) {
          throw new DomainError('PRODUCT_HAS_DEVICES', `product ${productKey} still has ${n!.n} devices; delete them first`, ['input', 'productKey']);
        }
        await tx.delete(products).where(eq(products.productKey, productKey));
        emit(changed(productKey, 'deleted'));
        return productKey;
      });
    },

    async get(p: Principal, productKey: string): Promise<ProductRecord | null> {
      if (!canSeeProduct(p, productKey)) return null;
      return findProduct(db, productKey);
    },

    /** Several products in one read (GraphQL's per-request loader batches Device.product). */
    async getMany(p: Principal, productKeys: readonly string[]): Promise<Map<string, ProductRecord>> {
      const visible = [...new Set(productKeys)].filter((k) => canSeeProduct(p, k));
      if (visible.length === 0) return new Map();
      const rows = await db.select().from(products).where(inArray(products.productKey, visible));
      return new Map(rows.map((r) => [r.productKey, toProductRecord(r)]));
    },

    async getById(p: Principal, id: number): Promise<ProductRecord | null> {
      if (!Number.isSafeInteger(id)) return null;
      const rows = await db.select().from(products).where(eq(products.id, id)).limit(1);
      return rows[0] && canSeeProduct(p, rows[0].productKey) ? toProductRecord(rows[0]) : null;
    },


    async list(p: Principal, args: PageArgs) {
      const page = keysetPage(args);
      const conds = [];
      if (p.productKeys !== null) conds.push(inArray(products.productKey, [...p.productKeys, '']));
      const filters = and(...conds);
      const afterId = idKey(page.afterKey, 'after');
      const beforeId = idKey(page.beforeKey, 'before');
      if (afterId != null) conds.push(gt(products.id, afterId));
      if (beforeId != null) conds.push(lt(products.id, beforeId));
      const rows = await db
        .select()
        .from(products)
        .where(and(...conds))
        .orderBy(page.direction === 'forward' ? asc(products.id) : desc(products.id))
        .limit(page.limit + 1);
      return toConnection(rows.map(toProductRecord), page, (r) => r.id, () => db.$count(products, filters));
    },

    /** Used by dynamic registration (broker) only; never exposed through the API. */
    async productSecret(productKey: string): Promise<string | null> {
      const rows = await db.select({ s: products.productSecretEnc }).from(products).where(eq(products.productKey, productKey));
      return rows[0] ? secrets.decrypt(rows[0].s) : null;
    },

    async deviceCount(productKey: string, state: string | null): Promise<number> {
      const conds = [eq(devices.productKey, productKey)];
      if (state === 'DISABLED') conds.push(eq(devices.enabled, false));
      else if (state === 'ONLINE') conds.push(sql`${devices.enabled} and ${devices.online}`);
      else if (state === 'OFFLINE') conds.push(sql`${devices.enabled} and not ${devices.online} and ${devices.activatedAt} is not null`);
      else if (state === 'UNACTIVE') conds.push(sql`${devices.enabled} and not ${devices.online} and ${devices.activatedAt} is null`);
      const [r] = await db.select({ n: count() }).from(devices).where(and(...conds));
      return Number(r?.n ?? 0);
    },
  };
}

export type ProductService = ReturnType<typeof createProductService>;
