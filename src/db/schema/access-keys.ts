import { bigserial, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, timestampMs } from './columns.ts';

/**
 * AccessKey pairs for Alibaba's server SDKs (cloud-api.md §2): the OpenAPI signatures and AMQP logins are HMACs keyed
 * by the secret, so the server must read it back: it is stored encrypted with the platform key (SecretBox), like
 * device secrets, never hashed.
 */
export const accessKeys = pgTable('access_keys', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** `TQL` + 21 characters of [A-Za-z0-9]. */
  accessKeyId: text('access_key_id').notNull().unique(),
  name: text('name').notNull(),
  role: text('role').notNull(),
  /** null: every product; otherwise the only product keys this key may see. */
  productKeys: text('product_keys').array(),
  /** SecretBox ciphertext of the 30-character secret. */
  secretEnc: text('secret_enc').notNull(),
  createdAt: createdAt(),
  revokedAt: timestampMs('revoked_at'),
  lastUsedAt: timestampMs('last_used_at'),
});
