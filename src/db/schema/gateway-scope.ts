import { pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { products } from './products.ts';
import { createdAt } from './columns.ts';

/**
 * Which gateway products may register sub-devices into a product with `thing/sub/register`
 * (docs/security-device.md). A product lists them explicitly; without an entry no gateway may.
 */
export const productSubDeviceGateways = pgTable(
  'product_sub_device_gateways',
  {
    productKey: text('product_key')
      .notNull()
      .references(() => products.productKey, { onDelete: 'cascade' }),
    gatewayProductKey: text('gateway_product_key').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.productKey, t.gatewayProductKey] })],
);
