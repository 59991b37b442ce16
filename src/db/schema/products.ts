import { bigserial, boolean, index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, updatedAt } from './columns.ts';

export const products = pgTable('products', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  productKey: text('product_key').notNull().unique(),
  name: text('name').notNull(),
  description: text('description'),
  nodeType: text('node_type').notNull().default('DEVICE'),
  dataFormat: text('data_format').notNull().default('ALINK_JSON'),
  validationMode: text('validation_mode').notNull().default('WEAK'),
  /** The normalised Alink TSL document (alink-protocol.md §4). */
  tsl: jsonb('tsl').notNull(),
  /** alink-protocol.md §1.6: product secret for dynamic registration, encrypted (see services/crypto.ts). */
  productSecretEnc: text('product_secret_enc').notNull(),
  dynamicRegistration: boolean('dynamic_registration').notNull().default(false),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const productTopics = pgTable(
  'product_topics',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    productKey: text('product_key')
      .notNull()
      .references(() => products.productKey, { onDelete: 'cascade' }),
    shortName: text('short_name').notNull(),
    operation: text('operation').notNull(),
    description: text('description'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('product_topics_pk_short_uq').on(t.productKey, t.shortName),
    index('product_topics_pk_idx').on(t.productKey),
  ],
);
