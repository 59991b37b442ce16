import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { products } from './products.ts';
import { createdAt, timestampMs } from './columns.ts';

export const devices = pgTable(
  'devices',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    iotId: text('iot_id').notNull().unique(),
    productKey: text('product_key')
      .notNull()
      .references(() => products.productKey),
    deviceName: text('device_name').notNull(),
    nickname: text('nickname'),
    /** Encrypted (AES-256-GCM): the secret must be readable by the server to verify HMAC logins, never by the API. */
    secretEnc: text('secret_enc').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    online: boolean('online').notNull().default(false),
    /** architecture.md "Presence converges": incremented on every connect; a disconnect counts only for the current one. */
    connectionEpoch: bigint('connection_epoch', { mode: 'number' }).notNull().default(0),
    /** Instance holding the current connection (several instances over Redis). */
    connectedInstance: text('connected_instance'),
    clientIp: text('client_ip'),
    /**
     * alink-protocol.md D21: how the current session takes sync services and RRPC, from its ClientId (`ext=1` -> 'ext':
     * `/ext/rrpc/${id}/sys/...`; otherwise 'sys': `/sys/.../rrpc/request/${id}`). Kept with presence so that every
     * instance sends in the form of the session, wherever it is connected.
     */
    rrpcForm: text('rrpc_form').notNull().default('sys'),
    activatedAt: timestampMs('activated_at'),
    lastOnlineAt: timestampMs('last_online_at'),
    lastOfflineAt: timestampMs('last_offline_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('devices_pk_name_uq').on(t.productKey, t.deviceName),
    index('devices_pk_id_idx').on(t.productKey, t.id),
    index('devices_online_idx').on(t.connectedInstance).where(sql`${t.online}`),
  ],
);
