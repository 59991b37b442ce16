import { registryChanged } from '../events/catalog.ts';
import { DomainError, DomainErrors } from '../domain/errors.ts';
import { validateTslDocument } from '../domain/tsl/document.ts';
import { assertProductVisible, canSeeProduct, requireRole, requireUnscoped, type Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { idKey, keysetPage, toConnection, type PageArgs, idKeyOf } from './paging.ts';
import {
  countProducts,
  deleteProduct,
  findProduct,
  findProductById,
  findProductRegistration,
  findProductsByKeys,
  insertProduct,
  listProductsPage,
  lockProduct,
  updateProduct,
  type ProductChanges,
} from '../db/repositories/products.ts';
import { countDevices } from '../db/repositories/devices.ts';
import { insertTopics } from '../db/repositories/topics.ts';
import type { DataFormat, DeviceState, NodeType, ProductRecord, ValidationMode } from '../db/records.ts';
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

const DEVICE_STATES: ReadonlySet<string> = new Set<DeviceState>(['DISABLED', 'ONLINE', 'OFFLINE', 'UNACTIVE']);

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
  if ([...d].length > 100)
    throw new DomainError('INVALID_NAME', 'description must be at most 100 characters', ['input', 'description']);
  return d;
}

/** Validate a TSL document (alink-protocol.md §4) and bind it to the product; every issue becomes one userError. */
export function normaliseTsl(input: unknown, productKey: string, field: string[]): Record<string, unknown> {
  const result = validateTslDocument(input ?? {});
  if (!result.ok) {
    throw new DomainErrors(
      result.error.map((i) => ({
        code: 'INVALID_TSL',
        message: `${i.path.join('.') || 'tsl'}: ${i.message}`,
        field: [...field, ...i.path],
      })),
    );
  }
  const doc = result.value as unknown as Record<string, unknown>;
  return { ...doc, profile: { ...((doc.profile as Record<string, unknown> | undefined) ?? {}), productKey } };
}

export function createProductService(deps: ServiceDeps) {
  const { database, log, secrets } = deps;
  const db = database.db;

  const changed = (productKey: string, what: string) =>
    registryChanged('product', what, { productKey }, { productKey });

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
        const product = await insertProduct(tx, {
          productKey,
          name,
          description,
          nodeType: input.nodeType ?? 'DEVICE',
          dataFormat: input.dataFormat ?? 'ALINK_JSON',
          validationMode: input.validationMode ?? 'WEAK',
          tsl,
          productSecretEnc: secrets.encrypt(newProductSecret()),
          dynamicRegistration: input.dynamicRegistration ?? false,
        });
        if (!product)
          throw new DomainError('PRODUCT_ALREADY_EXISTS', `product ${productKey} already exists`, [
            'input',
            'productKey',
          ]);
        await insertTopics(
          tx,
          DEFAULT_TOPICS.map((t) => ({
            productKey,
            shortName: t.shortName,
            operation: t.operation,
            description: t.description,
          })),
        );
        emit(changed(productKey, 'created'));
        return product;
      });
    },

    async update(p: Principal, input: UpdateProductInput): Promise<ProductRecord> {
      requireRole(p, 'ADMIN');
      assertProductVisible(p, input.productKey);
      const set: ProductChanges = { updatedAt: new Date() };
      if (input.name != null) set.name = checkName(input.name);
      if (input.description !== undefined) set.description = checkDescription(input.description);
      if (input.validationMode != null) set.validationMode = input.validationMode;
      if (input.dynamicRegistration != null) set.dynamicRegistration = input.dynamicRegistration;
      return log.transaction(async (tx, emit) => {
        const product = await updateProduct(tx, input.productKey, set);
        if (!product)
          throw new DomainError('PRODUCT_NOT_FOUND', `product ${input.productKey} does not exist`, [
            'input',
            'productKey',
          ]);
        emit(changed(input.productKey, 'updated'));
        return product;
      });
    },

    async setThingModel(p: Principal, productKey: string, tslInput: unknown): Promise<ProductRecord> {
      requireRole(p, 'ADMIN');
      assertProductVisible(p, productKey);
      const tsl = normaliseTsl(tslInput, productKey, ['input', 'tsl']);
      return log.transaction(async (tx, emit) => {
        const product = await updateProduct(tx, productKey, { tsl, updatedAt: new Date() });
        if (!product)
          throw new DomainError('PRODUCT_NOT_FOUND', `product ${productKey} does not exist`, ['input', 'productKey']);
        emit(changed(productKey, 'thingModel'));
        return product;
      });
    },

    async delete(p: Principal, productKey: string): Promise<string> {
      requireRole(p, 'ADMIN');
      assertProductVisible(p, productKey);
      return log.transaction(async (tx, emit) => {
        // Lock the product row so a concurrent registerDevice cannot slip in between the count and the delete.
        if (!(await lockProduct(tx, productKey)))
          throw new DomainError('PRODUCT_NOT_FOUND', `product ${productKey} does not exist`, ['input', 'productKey']);
        const n = await countDevices(tx, { productKey });
        if (n > 0) {
          throw new DomainError(
            'PRODUCT_HAS_DEVICES',
            `product ${productKey} still has ${n} devices; delete them first`,
            ['input', 'productKey'],
          );
        }
        await deleteProduct(tx, productKey);
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
      const rows = await findProductsByKeys(db, visible);
      return new Map(rows.map((r) => [r.productKey, r]));
    },

    async getById(p: Principal, id: number): Promise<ProductRecord | null> {
      if (!Number.isSafeInteger(id)) return null;
      const product = await findProductById(db, id);
      return product && canSeeProduct(p, product.productKey) ? product : null;
    },

    async list(p: Principal, args: PageArgs) {
      const page = keysetPage(args);
      const ids = {
        afterId: idKey(page.afterKey, 'after'),
        beforeId: idKey(page.beforeKey, 'before'),
        forward: page.direction === 'forward',
        limit: page.limit + 1,
      };
      const rows = await listProductsPage(db, p.productKeys, ids);
      return toConnection(rows, page, idKeyOf, () => countProducts(db, p.productKeys));
    },

    /** Used by dynamic registration (broker) only; never exposed through the API. */
    async productSecret(productKey: string): Promise<string | null> {
      const r = await findProductRegistration(db, productKey);
      return r ? secrets.decrypt(r.secretEnc) : null;
    },

    async deviceCount(productKey: string, state: string | null): Promise<number> {
      return countDevices(db, { productKey, state: DEVICE_STATES.has(state ?? '') ? (state as DeviceState) : null });
    },
  };
}

export type ProductService = ReturnType<typeof createProductService>;
