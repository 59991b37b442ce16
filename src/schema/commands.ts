import type { BatchResult } from '../services/thing-commands.ts';
import type { ServiceCallRecord } from '../services/history.ts';
import { builder } from './builder.ts';
import { PayloadEncodingEnum, RrpcCodeEnum, ServiceCallTypeEnum, UserErrorRef } from './common.ts';
import { deviceArgs, historyFilter, orderArg, rangeArgs } from './history-args.ts';
import { deviceInputFields, mutationField, type PayloadFieldBuilder } from './mutation.ts';
import { payloadViews } from './connectivity.ts';
import { dataStrings, dataTime, eventData as d, streamEventType, streamSubscription } from './stream-events.ts';

const COMMON = ['PRODUCT_NOT_FOUND', 'DEVICE_NOT_FOUND', 'DEVICE_DISABLED'];

const BatchResultRef = builder.objectRef<BatchResult>('DeviceCommandResult').implement({
  fields: (t) => ({
    deviceName: t.exposeString('deviceName'),
    messageId: t.string({ nullable: true, resolve: (r) => r.messageId }),
    userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
  }),
});

const messageIdPayload = (t: PayloadFieldBuilder<{ messageId: string }>) => ({
  messageId: t.exposeString('messageId', { nullable: true }),
});
const resultsPayload = (t: PayloadFieldBuilder<{ results: BatchResult[] }>) => ({
  results: t.field({ type: [BatchResultRef], resolve: (r) => r.results ?? [] }),
});

mutationField('pub', {
  description: 'Pub: an asynchronous publish to a device topic.',
  codes: [...COMMON, 'TOPIC_NOT_ALLOWED', 'PAYLOAD_TOO_LARGE', 'INVALID_PAYLOAD', 'INVALID_INPUT'],
  inputFields: (t) => ({
    productKey: t.string({ required: true }),
    topicFullName: t.string({
      required: true,
      description: 'A custom topic the device may receive (/pk/dn/user/..., SUB or ALL) or /broadcast/pk/...',
    }),
    payload: t.string({ required: true }),
    encoding: t.field({ type: PayloadEncodingEnum, defaultValue: 'UTF8' }),
    qos: t.int({ defaultValue: 0 }),
  }),
  resolve: (input, ctx) => ctx.services.commands.pub(ctx.principal, input),
  outputFields: messageIdPayload,
});

mutationField('rrpc', {
  description: 'RRpc: a synchronous request to the device. OFFLINE answers at once; TIMEOUT after timeoutMs.',
  codes: [...COMMON, 'TIMEOUT_OUT_OF_RANGE', 'TOPIC_NOT_ALLOWED', 'PAYLOAD_TOO_LARGE', 'INVALID_PAYLOAD'],
  inputFields: (t) => ({
    ...deviceInputFields(t),
    payload: t.string({ required: true }),
    encoding: t.field({ type: PayloadEncodingEnum, defaultValue: 'UTF8' }),
    timeoutMs: t.int({ defaultValue: 5000, description: '1000 to 8000' }),
    topic: t.string({
      description: "One of the device's custom topics: custom-topic RRPC on /ext/rrpc/${messageId}${topic}.",
    }),
  }),
  resolve: (input, ctx) => ctx.services.commands.rrpc(ctx.principal, input),
  outputFields: (t) => ({
    rrpcCode: t.expose('rrpcCode', { type: RrpcCodeEnum, nullable: true }),
    ...messageIdPayload(t),
    payloadBase64: t.exposeString('payloadBase64', { nullable: true }),
    payloadText: t.string({
      nullable: true,
      resolve: (r) => (r.payloadBase64 ? payloadViews(r.payloadBase64).text : null),
    }),
  }),
});

mutationField('pubBroadcast', {
  description: 'PubBroadcast: QoS 0, online devices only.',
  codes: ['PRODUCT_NOT_FOUND', 'TOPIC_NOT_ALLOWED', 'PAYLOAD_TOO_LARGE', 'INVALID_PAYLOAD'],
  inputFields: (t) => ({
    productKey: t.string({ required: true }),
    payload: t.string({ required: true }),
    encoding: t.field({ type: PayloadEncodingEnum, defaultValue: 'UTF8' }),
    topicFullName: t.string({ description: 'A /broadcast/pk/... topic; absent: every online device of the product.' }),
  }),
  resolve: (input, ctx) => ctx.services.commands.pubBroadcast(ctx.principal, input),
  outputFields: messageIdPayload,
});

const ITEMS_CODES = [
  ...COMMON,
  'IDENTIFIER_NOT_FOUND',
  'PROPERTY_NOT_WRITABLE',
  'INVALID_VALUE',
  'UNSUPPORTED_DATA_FORMAT',
];

mutationField('setDeviceProperty', {
  description: 'SetDeviceProperty: validated against the TSL, then sent; the device answers as a downlink reply.',
  codes: ITEMS_CODES,
  inputFields: (t) => ({
    ...deviceInputFields(t),
    items: t.field({ type: 'JSON', required: true, description: '{"Identifier": value}; only rw properties.' }),
  }),
  resolve: (input, ctx) =>
    ctx.services.thingCommands.setDeviceProperty(ctx.principal, { ...input, items: input.items }),
  outputFields: messageIdPayload,
});

mutationField('setDevicesProperty', {
  description: 'SetDevicesProperty: up to 100 devices; per-device results.',
  codes: [...ITEMS_CODES, 'INVALID_INPUT'],
  inputFields: (t) => ({
    productKey: t.string({ required: true }),
    deviceNames: t.stringList({ required: true }),
    items: t.field({ type: 'JSON', required: true }),
  }),
  resolve: async (input, ctx) => ({
    results: await ctx.services.thingCommands.setDevicesProperty(ctx.principal, { ...input, items: input.items }),
  }),
  outputFields: resultsPayload,
});

mutationField('invokeThingService', {
  description:
    'InvokeThingService: async services return messageId at once; sync services wait for the device and return its code and output.',
  codes: [
    ...COMMON,
    'IDENTIFIER_NOT_FOUND',
    'INVALID_VALUE',
    'TIMEOUT_OUT_OF_RANGE',
    'INVALID_OUTPUT',
    'INVALID_REPLY',
    'UNSUPPORTED_DATA_FORMAT',
  ],
  inputFields: (t) => ({
    ...deviceInputFields(t),
    identifier: t.string({ required: true }),
    args: t.field({ type: 'JSON', description: 'Input arguments (absent: {}).' }),
    timeoutMs: t.int({ defaultValue: 5000, description: 'sync services: 1000 to 8000' }),
  }),
  resolve: (input, ctx) => ctx.services.thingCommands.invokeThingService(ctx.principal, input),
  resultErrors: true,
  outputFields: (t) => ({
    ...messageIdPayload(t),
    callType: t.expose('callType', { type: ServiceCallTypeEnum, nullable: true }),
    code: t.exposeInt('code', { nullable: true }),
    output: t.field({ type: 'JSON', nullable: true, resolve: (r) => (r.output ?? null) as never }),
    rrpcCode: t.expose('rrpcCode', { type: RrpcCodeEnum, nullable: true }),
  }),
});

mutationField('invokeThingsService', {
  description: 'InvokeThingsService: asynchronous, up to 100 devices.',
  codes: [...COMMON, 'IDENTIFIER_NOT_FOUND', 'INVALID_VALUE', 'INVALID_INPUT'],
  inputFields: (t) => ({
    productKey: t.string({ required: true }),
    deviceNames: t.stringList({ required: true }),
    identifier: t.string({ required: true }),
    args: t.field({ type: 'JSON', description: 'Input arguments (absent: {}).' }),
  }),
  resolve: async (input, ctx) => ({
    results: await ctx.services.thingCommands.invokeThingsService(ctx.principal, input),
  }),
  outputFields: resultsPayload,
});

const ServiceCallRef = builder.objectRef<ServiceCallRecord>('ServiceCall').implement({
  fields: (t) => ({
    messageId: t.exposeString('messageId'),
    identifier: t.exposeString('identifier'),
    callType: t.field({ type: ServiceCallTypeEnum, resolve: (r) => (r.callType === 'SYNC' ? 'SYNC' : 'ASYNC') }),
    input: t.field({ type: 'JSON', nullable: true, resolve: (r) => r.input as never }),
    output: t.field({ type: 'JSON', nullable: true, resolve: (r) => r.output as never }),
    code: t.int({ nullable: true, resolve: (r) => r.code }),
    status: t.string({
      description: 'SENT, OFFLINE (sent while offline), REPLIED or TIMEOUT.',
      resolve: (r) => r.status,
    }),
    requestedAt: t.field({ type: 'DateTime', resolve: (r) => r.requestedAt }),
    repliedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.repliedAt }),
  }),
});

builder.queryFields((t) => ({
  deviceServiceHistory: t.connection({
    type: ServiceCallRef,
    description: 'QueryDeviceServiceData: service calls and property sets with input, output, code and times.',
    args: { ...deviceArgs(t.arg), identifier: t.arg.string(), ...rangeArgs(t.arg), order: orderArg(t.arg) },
    resolve: (_r, args, ctx) => ctx.services.history.serviceHistory(ctx.principal, historyFilter(args), args),
  }),
}));

const DownlinkReplyRef = streamEventType('DownlinkReplyEvent', {
  description:
    'alink-protocol.md §6.7 (`thing/downlink/reply/message`): replies to async services and property sets; code 9201 when the device was offline.',
  types: ['thing.downlink.reply'],
  fields: (t) => ({
    ...dataStrings(t, 'iotId', 'productKey', 'deviceName'),
    requestId: t.string({ nullable: true, resolve: (i) => (d(i).requestId == null ? null : String(d(i).requestId)) }),
    topic: t.string({ resolve: (i) => String(d(i).topic) }),
    code: t.int({ resolve: (i) => Number(d(i).code) }),
    message: t.string({ nullable: true, resolve: (i) => (d(i).message == null ? null : String(d(i).message)) }),
    data: t.field({ type: 'JSON', nullable: true, resolve: (i) => (d(i).data ?? null) as never }),
    receivedAt: dataTime(t, 'gmtCreate'),
  }),
});

streamSubscription('downlinkReplies', {
  type: DownlinkReplyRef,
  description: 'Device replies to async services and property sets. Resumable with `after`.',
  types: ['thing.downlink.reply'],
  byDevice: true,
});
