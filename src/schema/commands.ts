import type { StreamItem } from '../events/stream.ts';
import type { BatchResult } from '../services/thing-commands.ts';
import type { ServiceCallRecord } from '../services/history.ts';
import { builder } from './builder.ts';
import { codesDescription, PayloadEncodingEnum, RrpcCodeEnum, ServiceCallTypeEnum, SortOrderEnum, UserErrorRef, withUserErrors } from './common.ts';
import { payloadViews } from './connectivity.ts';
import { StreamEventRef } from './refs.ts';

const COMMON = ['PRODUCT_NOT_FOUND', 'DEVICE_NOT_FOUND', 'DEVICE_DISABLED'];

const BatchResultRef = builder.objectRef<BatchResult>('DeviceCommandResult').implement({
  fields: (t) => ({
    deviceName: t.exposeString('deviceName'),
    messageId: t.string({ nullable: true, resolve: (r) => r.messageId }),
    userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
  }),
});

builder.relayMutationField(
  'pub',
  {
    inputFields: (t) => ({
      productKey: t.string({ required: true }),
      topicFullName: t.string({ required: true, description: 'A custom topic the device may receive (/pk/dn/user/..., SUB or ALL) or /broadcast/pk/...' }),
      payload: t.string({ required: true }),
      encoding: t.field({ type: PayloadEncodingEnum, defaultValue: 'UTF8' }),
      qos: t.int({ defaultValue: 0 }),
    }),
  },
  { resolve: (_r, { input }, ctx) => withUserErrors(() => ctx.services.commands.pub(ctx.principal, input)) },
  {
    description: codesDescription('Pub: an asynchronous publish to a device topic.', [...COMMON, 'TOPIC_NOT_ALLOWED', 'PAYLOAD_TOO_LARGE', 'INVALID_PAYLOAD', 'INVALID_INPUT']),
    outputFields: (t) => ({
      messageId: t.string({ nullable: true, resolve: (r) => r.messageId ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

builder.relayMutationField(
  'rrpc',
  {
    inputFields: (t) => ({
      productKey: t.string({ required: true }),
      deviceName: t.string({ required: true }),
      payload: t.string({ required: true }),
      encoding: t.field({ type: PayloadEncodingEnum, defaultValue: 'UTF8' }),
      timeoutMs: t.int({ defaultValue: 5000, description: '1000 to 8000' }),
      topic: t.string({ description: "One of the device's custom topics: custom-topic RRPC on /ext/rrpc/${messageId}${topic}." }),
    }),
  },
  { resolve: (_r, { input }, ctx) => withUserErrors(() => ctx.services.commands.rrpc(ctx.principal, input)) },
  {
    description: codesDescription('RRpc: a synchronous request to the device. OFFLINE answers at once; TIMEOUT after timeoutMs.', [...COMMON, 'TIMEOUT_OUT_OF_RANGE', 'TOPIC_NOT_ALLOWED', 'PAYLOAD_TOO_LARGE', 'INVALID_PAYLOAD']),
    outputFields: (t) => ({
      rrpcCode: t.field({ type: RrpcCodeEnum, nullable: true, resolve: (r) => r.rrpcCode ?? null }),
      messageId: t.string({ nullable: true, resolve: (r) => r.messageId ?? null }),
      payloadBase64: t.string({ nullable: true, resolve: (r) => r.payloadBase64 ?? null }),
      payloadText: t.string({ nullable: true, resolve: (r) => (r.payloadBase64 ? payloadViews(r.payloadBase64).text : null) }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

builder.relayMutationField(
  'pubBroadcast',
  {
    inputFields: (t) => ({
      productKey: t.string({ required: true }),
      payload: t.string({ required: true }),
      encoding: t.field({ type: PayloadEncodingEnum, defaultValue: 'UTF8' }),
      topicFullName: t.string({ description: 'A /broadcast/pk/... topic; absent: every online device of the product.' }),
    }),
  },
  { resolve: (_r, { input }, ctx) => withUserErrors(() => ctx.services.commands.pubBroadcast(ctx.principal, input)) },
  {
    description: codesDescription('PubBroadcast: QoS 0, online devices only.', ['PRODUCT_NOT_FOUND', 'TOPIC_NOT_ALLOWED', 'PAYLOAD_TOO_LARGE', 'INVALID_PAYLOAD']),
    outputFields: (t) => ({
      messageId: t.string({ nullable: true, resolve: (r) => r.messageId ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

const ITEMS_CODES = [...COMMON, 'IDENTIFIER_NOT_FOUND', 'PROPERTY_NOT_WRITABLE', 'INVALID_VALUE', 'UNSUPPORTED_DATA_FORMAT'];

builder.relayMutationField(
  'setDeviceProperty',
  {
    inputFields: (t) => ({
      productKey: t.string({ required: true }),
      deviceName: t.string({ required: true }),
      items: t.field({ type: 'JSON', required: true, description: '{"Identifier": value}; only rw properties.' }),
    }),
  },
  { resolve: (_r, { input }, ctx) => withUserErrors(() => ctx.services.thingCommands.setDeviceProperty(ctx.principal, { ...input, items: input.items })) },
  {
    description: codesDescription('SetDeviceProperty: validated against the TSL, then sent; the device answers as a downlink reply.', ITEMS_CODES),
    outputFields: (t) => ({
      messageId: t.string({ nullable: true, resolve: (r) => r.messageId ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

builder.relayMutationField(
  'setDevicesProperty',
  {
    inputFields: (t) => ({
      productKey: t.string({ required: true }),
      deviceNames: t.stringList({ required: true }),
      items: t.field({ type: 'JSON', required: true }),
    }),
  },
  { resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ results: await ctx.services.thingCommands.setDevicesProperty(ctx.principal, { ...input, items: input.items }) })) },
  {
    description: codesDescription('SetDevicesProperty: up to 100 devices; per-device results.', [...ITEMS_CODES, 'INVALID_INPUT']),
    outputFields: (t) => ({
      results: t.field({ type: [BatchResultRef], resolve: (r) => r.results ?? [] }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

builder.relayMutationField(
  'invokeThingService',
  {
    inputFields: (t) => ({
      productKey: t.string({ required: true }),
      deviceName: t.string({ required: true }),
      identifier: t.string({ required: true }),
      args: t.field({ type: 'JSON', description: 'Input arguments (absent: {}).' }),
      timeoutMs: t.int({ defaultValue: 5000, description: 'sync services: 1000 to 8000' }),
    }),
  },
  { resolve: (_r, { input }, ctx) => withUserErrors(() => ctx.services.thingCommands.invokeThingService(ctx.principal, input)) },
  {
    description: codesDescription(
      'InvokeThingService: async services return messageId at once; sync services wait for the device and return its code and output.',
      [...COMMON, 'IDENTIFIER_NOT_FOUND', 'INVALID_VALUE', 'TIMEOUT_OUT_OF_RANGE', 'INVALID_OUTPUT', 'INVALID_REPLY', 'UNSUPPORTED_DATA_FORMAT'],
    ),
    outputFields: (t) => ({
      messageId: t.string({ nullable: true, resolve: (r) => r.messageId ?? null }),
      callType: t.field({ type: ServiceCallTypeEnum, nullable: true, resolve: (r) => r.callType ?? null }),
      code: t.int({ nullable: true, resolve: (r) => r.code ?? null }),
      output: t.field({ type: 'JSON', nullable: true, resolve: (r) => (r.output ?? null) as never }),
      rrpcCode: t.field({ type: RrpcCodeEnum, nullable: true, resolve: (r) => r.rrpcCode ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

builder.relayMutationField(
  'invokeThingsService',
  {
    inputFields: (t) => ({
      productKey: t.string({ required: true }),
      deviceNames: t.stringList({ required: true }),
      identifier: t.string({ required: true }),
      args: t.field({ type: 'JSON', description: 'Input arguments (absent: {}).' }),
    }),
  },
  { resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ results: await ctx.services.thingCommands.invokeThingsService(ctx.principal, input) })) },
  {
    description: codesDescription('InvokeThingsService: asynchronous, up to 100 devices.', [...COMMON, 'IDENTIFIER_NOT_FOUND', 'INVALID_VALUE', 'INVALID_INPUT']),
    outputFields: (t) => ({
      results: t.field({ type: [BatchResultRef], resolve: (r) => r.results ?? [] }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

const ServiceCallRef = builder.objectRef<ServiceCallRecord>('ServiceCall').implement({
  fields: (t) => ({
    messageId: t.exposeString('messageId'),
    identifier: t.exposeString('identifier'),
    callType: t.field({ type: ServiceCallTypeEnum, resolve: (r) => (r.callType === 'SYNC' ? 'SYNC' : 'ASYNC') }),
    input: t.field({ type: 'JSON', nullable: true, resolve: (r) => r.input as never }),
    output: t.field({ type: 'JSON', nullable: true, resolve: (r) => r.output as never }),
    code: t.int({ nullable: true, resolve: (r) => r.code }),
    status: t.string({ description: 'SENT, OFFLINE (sent while offline), REPLIED or TIMEOUT.', resolve: (r) => r.status }),
    requestedAt: t.field({ type: 'DateTime', resolve: (r) => r.requestedAt }),
    repliedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.repliedAt }),
  }),
});

builder.queryFields((t) => ({
  deviceServiceHistory: t.connection({
    type: ServiceCallRef,
    description: 'QueryDeviceServiceData: service calls and property sets with input, output, code and times.',
    args: {
      productKey: t.arg.string({ required: true }),
      deviceName: t.arg.string({ required: true }),
      identifier: t.arg.string(),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      order: t.arg({ type: SortOrderEnum, defaultValue: 'DESC' }),
    },
    resolve: (_r, args, ctx) =>
      ctx.services.history.serviceHistory(
        ctx.principal,
        { productKey: args.productKey, deviceName: args.deviceName, identifier: args.identifier, from: args.from, to: args.to, order: args.order ?? 'DESC' },
        args,
      ),
  }),
}));

const d = (i: StreamItem) => i.event.data as Record<string, unknown>;

const DownlinkReplyRef = builder.objectRef<StreamItem>('DownlinkReplyEvent').implement({
  description: 'alink-protocol.md §6.7 (`thing/downlink/reply/message`): replies to async services and property sets; code 9201 when the device was offline.',
  interfaces: [StreamEventRef],
  isTypeOf: (i) => (i as StreamItem).event.type === 'thing.downlink.reply',
  fields: (t) => ({
    iotId: t.string({ resolve: (i) => String(d(i).iotId) }),
    productKey: t.string({ resolve: (i) => String(d(i).productKey) }),
    deviceName: t.string({ resolve: (i) => String(d(i).deviceName) }),
    requestId: t.string({ nullable: true, resolve: (i) => (d(i).requestId == null ? null : String(d(i).requestId)) }),
    topic: t.string({ resolve: (i) => String(d(i).topic) }),
    code: t.int({ resolve: (i) => Number(d(i).code) }),
    message: t.string({ nullable: true, resolve: (i) => (d(i).message == null ? null : String(d(i).message)) }),
    data: t.field({ type: 'JSON', nullable: true, resolve: (i) => (d(i).data ?? null) as never }),
    receivedAt: t.field({ type: 'DateTime', resolve: (i) => new Date(Number(d(i).gmtCreate)) }),
  }),
});

builder.subscriptionFields((t) => ({
  downlinkReplies: t.field({
    type: DownlinkReplyRef,
    description: 'Device replies to async services and property sets. Resumable with `after`.',
    args: { productKey: t.arg.string(), deviceName: t.arg.string(), after: t.arg.string() },
    subscribe: (_r, args, ctx) =>
      ctx.services.streams.open(ctx.principal, { types: ['thing.downlink.reply'], productKey: args.productKey, deviceName: args.deviceName, after: args.after }),
    resolve: (i) => i,
  }),
}));
