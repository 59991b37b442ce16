import { GraphQLError } from 'graphql';
import type { OtaService } from '../services/ota/index.ts';
import type { OtaTaskView, TaskCounts } from '../services/ota/jobs.ts';
import { OTA_STREAM_TYPES, type FirmwareRecord, type OtaJobRecord } from '../services/ota/model.ts';
import { builder } from './builder.ts';
import type { GraphQLContext } from './context.ts';
import { mutationField, type PayloadFieldBuilder } from './mutation.ts';
import { recordNode } from './nodes.ts';
import { DeviceRef } from './refs.ts';
import { dataStrings, dataTime, eventData as d, streamEventType, streamSubscription } from './stream-events.ts';
import { redactUrl } from '../services/rules/redaction.ts';

const ota = (ctx: GraphQLContext): OtaService => ctx.services.ota;

/** The GraphQL multipart request spec's upload (graphql-yoga parses multipart requests natively), input only. */
const FileScalar = builder.scalarType('File', {
  description: 'A file sent with the GraphQL multipart request spec (input only).',
  serialize: () => {
    throw new GraphQLError('File is an input-only scalar');
  },
  parseValue: (v: unknown) => {
    if (typeof v !== 'object' || v === null || typeof (v as Blob).arrayBuffer !== 'function')
      throw new GraphQLError('File must be a multipart upload');
    return v as File;
  },
  parseLiteral: () => {
    throw new GraphQLError('File must be sent as a multipart upload, not inline');
  },
});

const SignMethodEnum = builder.enumType('FirmwareSignMethod', {
  description: 'The digest devices verify the package with (`signMethod` of the upgrade push: Md5 or SHA256).',
  values: ['MD5', 'SHA256'] as const,
});
const OtaJobStatusEnum = builder.enumType('OtaJobStatus', {
  values: ['PLANNED', 'IN_PROGRESS', 'COMPLETED', 'CANCELED'] as const,
});
const OtaTaskStatusEnum = builder.enumType('OtaTaskStatus', {
  description:
    'QUEUED: not pushed yet (device offline or rollout rate); NOTIFIED: pushed; IN_PROGRESS: the device reports progress.',
  values: ['QUEUED', 'NOTIFIED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'CANCELED'] as const,
});
const OtaEventKindEnum = builder.enumType('OtaEventKind', {
  description:
    'VERSION: a version report (§6.11 version/post); PROGRESS: a task moved (§6.11 progress/post); UPGRADE: a result (§6.11 ota/upgrade).',
  values: ['VERSION', 'PROGRESS', 'UPGRADE'] as const,
});

/** Numeric ids or Relay global ids of `typename`. */
function numericId(id: string | number, typename: string): number {
  const s = String(id);
  if (/^\d{1,15}$/.test(s)) return Number(s);
  const m = new RegExp(`^${typename}:(\\d{1,15})$`).exec(Buffer.from(s, 'base64').toString('utf8'));
  return m ? Number(m[1]) : -1;
}

export const FirmwareRef = builder.node(builder.objectRef<FirmwareRecord>('Firmware'), {
  description: 'A firmware package of a product (CreateOTAFirmware).',
  ...recordNode((id, ctx) => ota(ctx).firmware(ctx.principal, id), 'signMethod', 'md5'),
  fields: (t) => ({
    firmwareId: t.string({
      description: 'The numeric id (the packageId of §6.11 job status).',
      resolve: (f) => String(f.id),
    }),
    productKey: t.exposeString('productKey'),
    name: t.exposeString('name'),
    version: t.exposeString('version'),
    module: t.exposeString('module'),
    size: t.int({ description: 'Bytes.', resolve: (f) => f.size }),
    md5: t.exposeString('md5'),
    sha256: t.string({
      nullable: true,
      description: 'null for a package registered by URL without it.',
      resolve: (f) => f.sha256,
    }),
    signMethod: t.field({ type: SignMethodEnum, resolve: (f) => f.signMethod }),
    url: t.string({
      nullable: true,
      description:
        'The external URL of a package registered by URL; null when ThingQL serves the bytes (signed, expiring links). Below ADMIN, user info and query values (pre-signed links) are masked as "***".',
      resolve: (f, _a, ctx) => (f.url && ctx.principal.role !== 'ADMIN' ? redactUrl(f.url) : f.url),
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (f) => f.createdAt }),
  }),
});

const TaskCountsRef = builder.objectRef<TaskCounts>('OtaTaskCounts').implement({
  fields: (t) => ({
    total: t.exposeInt('total'),
    queued: t.exposeInt('queued'),
    notified: t.exposeInt('notified'),
    inProgress: t.exposeInt('inProgress'),
    succeeded: t.exposeInt('succeeded'),
    failed: t.exposeInt('failed'),
    canceled: t.exposeInt('canceled'),
  }),
});

const OtaTaskRef = builder.objectRef<OtaTaskView>('OtaTask').implement({
  description: 'One device in one upgrade job.',
  fields: (t) => ({
    taskId: t.string({ resolve: (k) => String(k.id) }),
    jobId: t.string({ resolve: (k) => String(k.jobId) }),
    device: t.field({
      type: DeviceRef,
      nullable: true,
      description: 'null once the device was deleted.',
      resolve: (k) => k.device,
    }),
    deviceName: t.string({ nullable: true, resolve: (k) => k.device?.deviceName ?? null }),
    status: t.field({ type: OtaTaskStatusEnum, resolve: (k) => k.status }),
    step: t.int({
      nullable: true,
      description:
        'Last reported step: 0-100 percent, or -1 upgrade, -2 download, -3 verification, -4 flashing failed.',
      resolve: (k) => k.step,
    }),
    desc: t.string({ nullable: true, resolve: (k) => k.desc }),
    module: t.exposeString('module'),
    srcVersion: t.string({
      nullable: true,
      description: 'The version the device reported when the job was created.',
      resolve: (k) => k.srcVersion,
    }),
    destVersion: t.exposeString('destVersion'),
    notifiedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.notifiedAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (k) => k.updatedAt }),
  }),
});

export const OtaJobRef = builder.node(builder.objectRef<OtaJobRecord>('OtaJob'), {
  description: 'An upgrade job: a firmware for a list of devices or a whole product (CreateOTAStaticUpgradeJob).',
  ...recordNode((id, ctx) => ota(ctx).job(ctx.principal, id), 'rolloutRate', 'firmwareId'),
  fields: (t) => ({
    jobId: t.string({ description: 'The numeric id (jobId of the OTA events).', resolve: (j) => String(j.id) }),
    productKey: t.exposeString('productKey'),
    firmware: t.field({
      type: FirmwareRef,
      resolve: async (j, _a, ctx) => (await ota(ctx).firmware(ctx.principal, j.firmwareId))!,
    }),
    status: t.field({
      type: OtaJobStatusEnum,
      description: 'COMPLETED once no task is QUEUED, NOTIFIED or IN_PROGRESS.',
      resolve: (j) => j.status,
    }),
    srcVersions: t.stringList({ nullable: true, resolve: (j) => j.srcVersions }),
    rolloutRate: t.int({
      nullable: true,
      description: 'Devices pushed per minute; null: all at once.',
      resolve: (j) => j.rolloutRate,
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (j) => j.createdAt }),
    counts: t.field({
      type: TaskCountsRef,
      description: 'Tasks per status.',
      resolve: (j, _a, ctx) => ota(ctx).jobCounts(j.id),
    }),
    tasks: t.connection({
      type: OtaTaskRef,
      args: { status: t.arg({ type: OtaTaskStatusEnum }) },
      resolve: (j, a, ctx) => ota(ctx).jobTasks(j, { status: a.status }, a),
    }),
  }),
});

const DeviceFirmwareVersionRef = builder
  .objectRef<{ module: string; version: string; reportedAt: Date }>('DeviceFirmwareVersion')
  .implement({
    fields: (t) => ({
      module: t.exposeString('module'),
      version: t.exposeString('version'),
      reportedAt: t.field({ type: 'DateTime', resolve: (v) => v.reportedAt }),
    }),
  });

builder.objectField(DeviceRef, 'firmwareVersions', (t) =>
  t.field({
    type: [DeviceFirmwareVersionRef],
    description: 'The firmware version of each module, as the device last reported it (/ota/device/inform).',
    resolve: (dev, _a, ctx) => ota(ctx).deviceVersions(dev.id),
  }),
);

const s = (v: unknown) => (v == null ? null : String(v));
const KIND = { 'ota.version': 'VERSION', 'ota.progress': 'PROGRESS', 'ota.upgrade': 'UPGRADE' } as const;

const OtaProgressEventRef = streamEventType('OtaProgressEvent', {
  description:
    'Firmware update progress and results (alink-protocol.md §6.11: ota/progress/post, ota/upgrade, ota/version/post).',
  types: OTA_STREAM_TYPES,
  fields: (t) => ({
    kind: t.field({ type: OtaEventKindEnum, resolve: (i) => KIND[i.event.type as keyof typeof KIND] }),
    jobId: t.string({ nullable: true, resolve: (i) => s(d(i).jobId) }),
    taskId: t.string({ nullable: true, resolve: (i) => s(d(i).taskId) }),
    ...dataStrings(t, 'productKey', 'deviceName', 'iotId'),
    status: t.field({
      type: OtaTaskStatusEnum,
      nullable: true,
      description: 'null for VERSION events.',
      resolve: (i) => (d(i).status ?? null) as 'QUEUED' | null,
    }),
    step: t.int({ nullable: true, resolve: (i) => (typeof d(i).step === 'number' ? (d(i).step as number) : null) }),
    desc: t.string({ nullable: true, resolve: (i) => s(d(i).desc) }),
    module: t.string({ resolve: (i) => String(d(i).moduleName) }),
    srcVersion: t.string({ nullable: true, resolve: (i) => s(d(i).srcVersion) }),
    destVersion: t.string({ nullable: true, resolve: (i) => s(d(i).destVersion) }),
    version: t.string({
      nullable: true,
      description: 'VERSION events: the version the device reported.',
      resolve: (i) => s(d(i).moduleVersion),
    }),
    time: dataTime(t, 'messageCreateTime'),
  }),
});

builder.queryFields((t) => ({
  firmwares: t.connection({
    type: FirmwareRef,
    description: 'Firmware packages of a product (ListOTAFirmware).',
    args: { productKey: t.arg.string({ required: true }) },
    resolve: (_r, a, ctx) => ota(ctx).firmwares(ctx.principal, a.productKey, a),
  }),
  firmware: t.field({
    type: FirmwareRef,
    nullable: true,
    args: { id: t.arg.id({ required: true, description: 'The firmware id (numeric or global).' }) },
    resolve: (_r, a, ctx) => ota(ctx).firmware(ctx.principal, numericId(a.id, 'Firmware')),
  }),
  otaJob: t.field({
    type: OtaJobRef,
    nullable: true,
    args: { id: t.arg.id({ required: true, description: 'The job id (numeric or global).' }) },
    resolve: (_r, a, ctx) => ota(ctx).job(ctx.principal, numericId(a.id, 'OtaJob')),
  }),
  otaJobs: t.connection({
    type: OtaJobRef,
    description: 'Upgrade jobs of a product (ListOTAJobByFirmware, by product).',
    args: { productKey: t.arg.string({ required: true }), status: t.arg({ type: OtaJobStatusEnum }) },
    resolve: (_r, a, ctx) => ota(ctx).jobs(ctx.principal, a.productKey, { status: a.status }, a),
  }),
}));

mutationField('createFirmware', {
  description:
    'CreateOTAFirmware: upload a package (ThingQL computes size, md5 and sha256 and serves it over HTTP) or register one by URL.',
  codes: [
    'PRODUCT_NOT_FOUND',
    'FIRMWARE_ALREADY_EXISTS',
    'PAYLOAD_TOO_LARGE',
    'INVALID_NAME',
    'INVALID_VERSION',
    'INVALID_MODULE',
    'INVALID_URL',
    'INVALID_DIGEST',
    'DIGEST_MISMATCH',
    'INVALID_INPUT',
  ],
  inputFields: (t) => ({
    productKey: t.string({ required: true }),
    name: t.string({ required: true }),
    version: t.string({ required: true, description: '1-64 letters, digits, ".", "-" or "_".' }),
    module: t.string({
      defaultValue: 'default',
      description: 'The OTA module (the default module is the whole device firmware).',
    }),
    signMethod: t.field({ type: SignMethodEnum, defaultValue: 'MD5' }),
    file: t.field({ type: FileScalar, description: 'The package (multipart upload). Either file or url.' }),
    url: t.string({
      description:
        'An external http(s) URL the devices download from; then size and md5 (and sha256 for SHA256) are required. ThingQL does not fetch it.',
    }),
    size: t.int({ description: 'Bytes: required with url; with file, checked against the upload.' }),
    md5: t.string({ description: 'Hex: required with url; with file, checked against the upload.' }),
    sha256: t.string({ description: 'Hex: required with url and SHA256; with file, checked against the upload.' }),
  }),
  resolve: async (input, ctx) => ({
    firmware: await ota(ctx).createFirmware(ctx.principal, {
      ...input,
      module: input.module ?? 'default',
      signMethod: input.signMethod ?? 'MD5',
      file: input.file ?? null,
    }),
  }),
  outputFields: (t) => ({ firmware: t.expose('firmware', { type: FirmwareRef, nullable: true }) }),
});

const jobPayload = (t: PayloadFieldBuilder<{ job: OtaJobRecord }>) => ({
  job: t.expose('job', { type: OtaJobRef, nullable: true }),
});

mutationField('createOtaJob', {
  description:
    'CreateOTAStaticUpgradeJob: one task per device; online devices are pushed at the rollout rate, offline ones when they log in. A device is in at most one active task per module.',
  codes: [
    'FIRMWARE_NOT_FOUND',
    'DEVICE_NOT_FOUND',
    'DEVICE_BUSY',
    'SRC_VERSION_MISMATCH',
    'NO_MATCHING_DEVICES',
    'INVALID_INPUT',
  ],
  inputFields: (t) => ({
    firmwareId: t.id({ required: true }),
    deviceNames: t.stringList({
      description:
        'Absent: every device of the product (except those already at the version or busy upgrading the module).',
    }),
    srcVersions: t.stringList({
      description: "Only devices whose reported version of the firmware's module is one of these.",
    }),
    rolloutRate: t.int({ description: 'Devices pushed per minute (1-10000); absent: all at once.' }),
  }),
  resolve: async (input, ctx) => ({
    job: await ota(ctx).createJob(ctx.principal, {
      firmwareId: numericId(input.firmwareId, 'Firmware'),
      deviceNames: input.deviceNames ?? null,
      srcVersions: input.srcVersions ?? null,
      rolloutRate: input.rolloutRate ?? null,
    }),
  }),
  outputFields: jobPayload,
});

mutationField('cancelOtaJob', {
  description: 'CancelOTATaskByJob: every QUEUED, NOTIFIED and IN_PROGRESS task becomes CANCELED.',
  codes: ['JOB_NOT_FOUND', 'JOB_NOT_ACTIVE'],
  inputFields: (t) => ({ id: t.id({ required: true }) }),
  resolve: async (input, ctx) => ({ job: await ota(ctx).cancelJob(ctx.principal, numericId(input.id, 'OtaJob')) }),
  outputFields: jobPayload,
});

streamSubscription('otaProgress', {
  type: OtaProgressEventRef,
  description: 'Firmware update progress, results and version reports, in commit order. Resumable with `after`.',
  types: OTA_STREAM_TYPES,
  byDevice: true,
});
