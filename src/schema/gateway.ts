import type { StreamItem } from '../events/stream.ts';
import { builder } from './builder.ts';
import { codesDescription, UserErrorRef, withUserErrors } from './common.ts';
import { loaders } from './loaders.ts';
import { DeviceRef, StreamEventRef } from './refs.ts';

const d = (i: StreamItem) => i.event.data as Record<string, unknown>;

const TopoDeviceRef = builder.objectRef<{ iotId: string | null; productKey: string; deviceName: string }>('TopologyDevice').implement({
  fields: (t) => ({
    iotId: t.string({ nullable: true, resolve: (x) => x.iotId || null }),
    productKey: t.exposeString('productKey'),
    deviceName: t.exposeString('deviceName'),
  }),
});

const TagRef = builder.objectRef<{ attrKey: string; attrValue: string }>('DeviceTag').implement({
  fields: (t) => ({ attrKey: t.exposeString('attrKey'), attrValue: t.exposeString('attrValue') }),
});

const DesiredRef = builder.objectRef<{ identifier: string; value: unknown; version: number; time: Date }>('DesiredPropertyValue').implement({
  fields: (t) => ({
    identifier: t.exposeString('identifier'),
    value: t.field({ type: 'JSON', nullable: true, resolve: (v) => v.value as never }),
    version: t.exposeInt('version'),
    time: t.field({ type: 'DateTime', resolve: (v) => v.time }),
  }),
});

builder.relayMutationField(
  'setDesiredProperty',
  {
    inputFields: (t) => ({
      productKey: t.string({ required: true }),
      deviceName: t.string({ required: true }),
      items: t.field({ type: 'JSON', required: true, description: '{"Identifier": value}, validated against the TSL.' }),
      versions: t.field({ type: 'JSON', description: '{"Identifier": version}: refuse the change when the stored version differs (VERSION_CONFLICT).' }),
    }),
  },
  { resolve: (_r, { input }, ctx) => withUserErrors(() => ctx.services.tagsDesired.setDesired(ctx.principal, { ...input, items: input.items })) },
  {
    description: codesDescription('Set desired property values; each identifier gets a new version. Devices read them with thing/property/desired/get.', [
      'PRODUCT_NOT_FOUND',
      'DEVICE_NOT_FOUND',
      'IDENTIFIER_NOT_FOUND',
      'INVALID_VALUE',
      'VERSION_CONFLICT',
    ]),
    outputFields: (t) => ({
      versions: t.field({ type: 'JSON', nullable: true, description: '{"Identifier": newVersion}', resolve: (r) => (r.versions ?? null) as never }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);

builder.objectFields(DeviceRef, (t) => ({
  gateway: t.field({
    type: DeviceRef,
    nullable: true,
    description: 'The gateway this sub-device is bound to (topology).',
    resolve: (dev, _a, ctx) => loaders(ctx).gateway.load(dev.id),
  }),
  subDevices: t.field({
    type: [DeviceRef],
    description: "A gateway's bound sub-devices.",
    resolve: (dev, _a, ctx) => ctx.services.devices.subDevicesOf(ctx.principal, dev.id),
  }),
  desiredProperties: t.field({
    type: [DesiredRef],
    description: 'Desired property values set with setDesiredProperty, each with its version.',
    resolve: (dev, _a, ctx) => ctx.services.tagsDesired.desired(dev.id),
  }),
  tags: t.field({
    type: [TagRef],
    description: 'Tags the device reported with thing/deviceinfo/update.',
    resolve: (dev, _a, ctx) => ctx.services.devices.tags(dev.id),
  }),
}));

const TopologyChangedRef = builder.objectRef<StreamItem>('TopologyChangedEvent').implement({
  description: 'alink-protocol.md §6.8 (`/${productKey}/${deviceName}/thing/topo/lifecycle`).',
  interfaces: [StreamEventRef],
  isTypeOf: (i) => (i as StreamItem).event.type === 'thing.topo.lifecycle',
  fields: (t) => ({
    action: t.string({ description: 'add, remove, enable or disable', resolve: (i) => String(d(i).action) }),
    gwIotId: t.string({ resolve: (i) => String(d(i).gwIotId) }),
    gwProductKey: t.string({ resolve: (i) => String(d(i).gwProductKey) }),
    gwDeviceName: t.string({ resolve: (i) => String(d(i).gwDeviceName) }),
    devices: t.field({ type: [TopoDeviceRef], resolve: (i) => (d(i).devices ?? []) as never }),
    time: t.field({ type: 'DateTime', resolve: (i) => new Date(Number(d(i).messageCreateTime ?? i.event.createdAt.getTime())) }),
  }),
});

const SubDevicesFoundRef = builder.objectRef<StreamItem>('SubDevicesFoundEvent').implement({
  description: 'alink-protocol.md §6.9 (`/${productKey}/${deviceName}/thing/list/found`).',
  interfaces: [StreamEventRef],
  isTypeOf: (i) => (i as StreamItem).event.type === 'thing.list.found',
  fields: (t) => ({
    gwIotId: t.string({ resolve: (i) => String(d(i).gwIotId) }),
    gwProductKey: t.string({ resolve: (i) => String(d(i).gwProductKey) }),
    gwDeviceName: t.string({ resolve: (i) => String(d(i).gwDeviceName) }),
    devices: t.field({ type: [TopoDeviceRef], resolve: (i) => (d(i).devices ?? []) as never }),
    time: t.field({ type: 'DateTime', resolve: (i) => i.event.createdAt }),
  }),
});

builder.subscriptionFields((t) => ({
  topologyChanged: t.field({
    type: TopologyChangedRef,
    description: 'Gateway topology changes (the gateway product key filters). Resumable with `after`.',
    args: { productKey: t.arg.string(), after: t.arg.string() },
    subscribe: (_r, a, ctx) => ctx.services.streams.open(ctx.principal, { types: ['thing.topo.lifecycle'], productKey: a.productKey, after: a.after }),
    resolve: (i) => i,
  }),
  subDevicesFound: t.field({
    type: SubDevicesFoundRef,
    description: 'Sub-devices gateways report (thing/list/found). Resumable with `after`.',
    args: { productKey: t.arg.string(), after: t.arg.string() },
    subscribe: (_r, a, ctx) => ctx.services.streams.open(ctx.principal, { types: ['thing.list.found'], productKey: a.productKey, after: a.after }),
    resolve: (i) => i,
  }),
}));
