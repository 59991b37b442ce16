import DataLoader from 'dataloader';
import type { DeviceRecord, ProductRecord } from '../db/records.ts';
import type { GraphQLContext } from './context.ts';

/**
 * Per-operation batching of per-node look-ups: the products of 500 listed devices are one read,
 * not 500. Loaders live as long as their context (one HTTP request, one WebSocket operation) and do not cache across
 * ticks: a subscription's context lives for hours, and each event must see the current rows.
 */
interface Loaders {
  product: DataLoader<string, ProductRecord | null>;
  gateway: DataLoader<number, DeviceRecord | null>;
}

const byContext = new WeakMap<GraphQLContext, Loaders>();

export function loaders(ctx: GraphQLContext): Loaders {
  let l = byContext.get(ctx);
  if (!l) {
    const { services, principal } = ctx;
    l = {
      product: new DataLoader(
        async (keys) => {
          const found = await services.products.getMany(principal, keys);
          return keys.map((k) => found.get(k) ?? null);
        },
        { cache: false, maxBatchSize: 500 },
      ),
      gateway: new DataLoader(
        async (ids) => {
          const found = await services.devices.gatewaysOf(principal, ids);
          return ids.map((id) => found.get(id) ?? null);
        },
        { cache: false, maxBatchSize: 500 },
      ),
    };
    byContext.set(ctx, l);
  }
  return l;
}
