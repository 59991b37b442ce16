import type { TopicCategory } from '../domain/alink/acl.ts';
import { compileThingModel } from '../domain/tsl/document.ts';
import type { ThingModel, TslDocument } from '../domain/tsl/types.ts';
import type { ServiceDeps } from './deps.ts';
import { findProduct } from '../db/repositories/products.ts';
import { listTopics } from '../db/repositories/topics.ts';
import type { ProductRecord } from '../db/records.ts';

export interface ProductInfo {
  product: ProductRecord;
  categories: TopicCategory[];
  model: ThingModel;
}

/**
 * What the broker and the ingest pipeline need of a product on every message: its topic categories (ACL) and its
 * compiled thing model (validation). Cached per product and dropped on any `registry.changed` event for it, from
 * whichever instance made the change.
 */
export function createProductCache(deps: ServiceDeps) {
  const db = deps.database.db;
  const cache = new Map<string, Promise<ProductInfo | null>>();
  /** The loaded entries of `cache`, for synchronous readers (the broker's forwarding ACL). */
  const settled = new Map<string, ProductInfo | null>();
  const listeners: ((productKey: string, what: Record<string, unknown>) => void)[] = [];

  deps.hub.on('registry.changed', (e) => {
    if ((e.data.entity === 'product' || e.data.entity === 'topic') && e.productKey) {
      cache.delete(e.productKey);
      settled.delete(e.productKey);
      for (const l of listeners) l(e.productKey, e.data);
    }
  });

  async function load(productKey: string): Promise<ProductInfo | null> {
    const product = await findProduct(db, productKey);
    if (!product) return null;
    const topics = await listTopics(db, productKey);
    return {
      product,
      categories: topics.map((t) => ({
        topicShortName: t.shortName,
        operation: t.operation as TopicCategory['operation'],
      })),
      model: compileThingModel(product.tsl as unknown as TslDocument),
    };
  }

  return {
    get(productKey: string): Promise<ProductInfo | null> {
      let p = cache.get(productKey);
      if (!p) {
        p = load(productKey);
        cache.set(productKey, p);
        const mine = p;
        p.then(
          (v) => {
            if (cache.get(productKey) === mine) settled.set(productKey, v);
          },
          () => cache.delete(productKey),
        );
      }
      return p;
    },
    /** The entry if it is loaded, without waiting (undefined: not loaded; null: no such product). */
    peek(productKey: string): ProductInfo | null | undefined {
      return settled.get(productKey);
    },
    /** Called after the cache entry of a product was dropped (topic deleted, TSL changed...). */
    onChange(listener: (productKey: string, what: Record<string, unknown>) => void): void {
      listeners.push(listener);
    },
  };
}

export type ProductCache = ReturnType<typeof createProductCache>;
