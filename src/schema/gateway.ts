import type { StreamItem } from '../events/stream.ts';
import { builder, type BuilderTypes } from './builder.ts';
import { loaders } from './loaders.ts';
import { deviceInputFields, mutationField } from './mutation.ts';
import { DeviceRef } from './refs.ts';
import { dataStrings, eventData as d, streamEventType, streamSubscription } from './stream-events.ts';

const TopoDeviceRef = builder
  .objectRef<{ iotId: string | null; productKey: string; deviceName: string }>('TopologyDevice')
  .implement({
    fields: (t) => ({
      iotId: t.string({ nullable: true, resolve: (x) => x.iotId || null }),
      productKey: t.exposeString('productKey'),
      deviceName: t.exposeString('deviceName'),
    }),
  });

const TagRef = builder.objectRef<{ attrKey: string; attrValue: string }>('DeviceTag').implement({
  fields: (t) => ({ attrKey: t.exposeString('attrKey'), attrValue: t.exposeString('attrValue') }),
});

const DesiredRef = builder
  .objectRef<{ identifier: string; value: unknown; version: number; time: Date }>('DesiredPropertyValue')
  .implement({
    fields: (t) => ({
      identifier: t.exposeString('identifier'),
      value: t.field({ type: 'JSON', nullable: true, resolve: (v) => v.value as never }),
      version: t.exposeInt('version'),
      time: t.field({ type: 'DateTime', resolve: (v) => v.time }),
    }),
  });

mutationField('setDesiredProperty', {
  description:
    'Set desired property values; each identifier gets a new version. Devices read them with thing/property/desired/get.',
  codes: ['PRODUCT_NOT_FOUND', 'DEVICE_NOT_FOUND', 'IDENTIFIER_NOT_FOUND', 'INVALID_VALUE', 'VERSION_CONFLICT'],
  inputFields: (t) => ({
    ...deviceInputFields(t),
    items: t.field({ type: 'JSON', required: true, description: '{"Identifier": value}, validated against the TSL.' }),
    versions: t.field({
      type: 'JSON',
      description: '{"Identifier": version}: refuse the change when the stored version differs (VERSION_CONFLICT).',
    }),
  }),
  resolve: (input, ctx) => ctx.services.tagsDesired.setDesired(ctx.principal, { ...input, items: input.items }),
  outputFields: (t) => ({
    versions: t.field({
      type: 'JSON',
      nullable: true,
      description: '{"Identifier": newVersion}',
      resolve: (r) => (r.versions ?? null) as never,
    }),
  }),
});

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

/** The gateway and the sub-devices of a topology event. */
const gatewayEventFields = (t: PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, StreamItem>) => ({
  ...dataStrings(t, 'gwIotId', 'gwProductKey', 'gwDeviceName'),
  devices: t.field({ type: [TopoDeviceRef], resolve: (i) => (d(i).devices ?? []) as never }),
});

const TopologyChangedRef = streamEventType('TopologyChangedEvent', {
  description: 'alink-protocol.md §6.8 (`/${productKey}/${deviceName}/thing/topo/lifecycle`).',
  types: ['thing.topo.lifecycle'],
  fields: (t) => ({
    action: t.string({ description: 'add, remove, enable or disable', resolve: (i) => String(d(i).action) }),
    ...gatewayEventFields(t),
    time: t.field({
      type: 'DateTime',
      resolve: (i) => new Date(Number(d(i).messageCreateTime ?? i.event.createdAt.getTime())),
    }),
  }),
});

const SubDevicesFoundRef = streamEventType('SubDevicesFoundEvent', {
  description: 'alink-protocol.md §6.9 (`/${productKey}/${deviceName}/thing/list/found`).',
  types: ['thing.list.found'],
  fields: (t) => ({ ...gatewayEventFields(t), time: t.field({ type: 'DateTime', resolve: (i) => i.event.createdAt }) }),
});

streamSubscription('topologyChanged', {
  type: TopologyChangedRef,
  description: 'Gateway topology changes (the gateway product key filters). Resumable with `after`.',
  types: ['thing.topo.lifecycle'],
  byDevice: false,
});

streamSubscription('subDevicesFound', {
  type: SubDevicesFoundRef,
  description: 'Sub-devices gateways report (thing/list/found). Resumable with `after`.',
  types: ['thing.list.found'],
  byDevice: false,
});
