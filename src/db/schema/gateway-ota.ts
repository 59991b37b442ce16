import {
  bigint,
  bigserial,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { createdAt, deviceId, productKey, timestampMs, timestampNow, updatedAt } from './columns.ts';

const bytes = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)),
});

/** Gateway topology (alink-protocol.md §1.7): a sub-device belongs to at most one gateway (6619). */
export const deviceTopology = pgTable(
  'device_topology',
  {
    subDeviceId: bigint('sub_device_id', { mode: 'number' }).primaryKey(),
    gatewayId: bigint('gateway_id', { mode: 'number' }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('device_topology_gateway_idx').on(t.gatewayId)],
);

/** Device tags (thing/deviceinfo/update, §3.9, §6.12). */
export const deviceTags = pgTable(
  'device_tags',
  {
    deviceId: deviceId(),
    attrKey: text('attr_key').notNull(),
    attrValue: text('attr_value').notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.attrKey] })],
);

/** Desired property values with a version per property (thing/property/desired/get|delete). */
export const desiredProperties = pgTable(
  'desired_properties',
  {
    deviceId: deviceId(),
    identifier: text('identifier').notNull(),
    value: jsonb('value').notNull(),
    version: integer('version').notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.identifier] })],
);

/** Firmware packages (OTA): uploaded bytes (kept in the database so every instance can serve them) or an external URL. */
export const firmwares = pgTable(
  'firmwares',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    productKey: productKey(),
    name: text('name').notNull(),
    version: text('version').notNull(),
    module: text('module').notNull().default('default'),
    size: bigint('size', { mode: 'number' }).notNull(),
    md5: text('md5').notNull(),
    sha256: text('sha256').notNull(),
    signMethod: text('sign_method').notNull(),
    url: text('url'),
    content: bytes('content'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('firmwares_pk_module_version_uq').on(t.productKey, t.module, t.version)],
);

/** Upgrade jobs: a firmware for a list of devices or a whole product (with source-version filter) at a rollout rate. */
export const otaJobs = pgTable('ota_jobs', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  firmwareId: bigint('firmware_id', { mode: 'number' }).notNull(),
  productKey: productKey(),
  srcVersions: text('src_versions').array(),
  /** Devices notified per minute (null: all at once). */
  rolloutRate: integer('rollout_rate'),
  /** PLANNED, IN_PROGRESS, COMPLETED, CANCELED */
  status: text('status').notNull(),
  createdAt: createdAt(),
});

/** One device in one job. */
export const otaTasks = pgTable(
  'ota_tasks',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    jobId: bigint('job_id', { mode: 'number' }).notNull(),
    deviceId: deviceId(),
    /** QUEUED, NOTIFIED, IN_PROGRESS, SUCCEEDED, FAILED, CANCELED */
    status: text('status').notNull(),
    step: integer('step'),
    description: text('description'),
    srcVersion: text('src_version'),
    notifiedAt: timestampMs('notified_at'),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('ota_tasks_job_device_uq').on(t.jobId, t.deviceId),
    index('ota_tasks_device_idx').on(t.deviceId, t.status),
  ],
);

/** Firmware versions devices report (/ota/device/inform), per module. */
export const deviceVersions = pgTable(
  'device_versions',
  {
    deviceId: deviceId(),
    module: text('module').notNull(),
    version: text('version').notNull(),
    reportedAt: timestampNow('reported_at'),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.module] })],
);
