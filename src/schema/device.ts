import { deviceState, type DeviceRecord } from '../db/records.ts';
import { DeviceLookupError } from '../domain/errors.ts';
import { builder } from './builder.ts';
import { DeviceStateEnum } from './common.ts';
import { loaders } from './loaders.ts';
import { deviceInputFields, mutationField } from './mutation.ts';
import { recordNode } from './nodes.ts';
import { DeviceRef, ProductRef } from './refs.ts';

builder.node(DeviceRef, {
  ...recordNode((id, ctx) => ctx.services.devices.getById(ctx.principal, id), 'iotId', 'deviceName'),
  fields: (t) => ({
    iotId: t.exposeString('iotId'),
    productKey: t.exposeString('productKey'),
    deviceName: t.exposeString('deviceName'),
    nickname: t.exposeString('nickname', { nullable: true }),
    state: t.field({ type: DeviceStateEnum, resolve: (d) => deviceState(d) }),
    product: t.field({
      type: ProductRef,
      resolve: async (d, _a, ctx) => (await loaders(ctx).product.load(d.productKey))!,
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (d) => d.createdAt }),
    activatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.activatedAt }),
    lastOnlineAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.lastOnlineAt }),
    lastOfflineAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.lastOfflineAt }),
    clientIp: t.exposeString('clientIp', { nullable: true }),
    connectionEpoch: t.int({
      description: 'Incremented on every connect (alink-protocol.md D6).',
      resolve: (d) => d.connectionEpoch,
    }),
  }),
});

const RegisteredDeviceRef = builder
  .objectRef<{ device: DeviceRecord; deviceSecret: string }>('RegisteredDevice')
  .implement({
    fields: (t) => ({
      device: t.field({ type: DeviceRef, resolve: (r) => r.device }),
      deviceSecret: t.exposeString('deviceSecret', { description: 'Shown once; it cannot be read back later.' }),
    }),
  });

builder.queryFields((t) => ({
  device: t.field({
    type: DeviceRef,
    nullable: true,
    description: 'A device by productKey and deviceName, or by iotId.',
    args: { productKey: t.arg.string(), deviceName: t.arg.string(), iotId: t.arg.string() },
    resolve: (_r, args, ctx) => {
      if (args.iotId) return ctx.services.devices.getByIotId(ctx.principal, args.iotId);
      if (args.productKey && args.deviceName)
        return ctx.services.devices.get(ctx.principal, args.productKey, args.deviceName);
      throw new DeviceLookupError();
    },
  }),
  devices: t.connection({
    type: DeviceRef,
    args: {
      productKey: t.arg.string(),
      state: t.arg({ type: DeviceStateEnum }),
      nameContains: t.arg.string(),
    },
    resolve: (_r, args, ctx) =>
      ctx.services.devices.list(
        ctx.principal,
        { productKey: args.productKey, state: args.state, nameContains: args.nameContains },
        args,
      ),
  }),
}));

const NOT_FOUND = ['PRODUCT_NOT_FOUND', 'DEVICE_NOT_FOUND'];

mutationField('registerDevice', {
  description: 'RegisterDevice: the secret is returned only here.',
  codes: ['PRODUCT_NOT_FOUND', 'DEVICE_ALREADY_EXISTS', 'INVALID_NAME'],
  inputFields: (t) => ({
    productKey: t.string({ required: true }),
    deviceName: t.string({ description: 'Generated when absent. 4-32 letters, digits or -_@.:' }),
    nickname: t.string(),
  }),
  resolve: (input, ctx) => ctx.services.devices.register(ctx.principal, input),
  outputFields: (t) => ({
    device: t.expose('device', { type: DeviceRef, nullable: true }),
    deviceSecret: t.exposeString('deviceSecret', { nullable: true }),
  }),
});

mutationField('registerDevices', {
  description: 'BatchRegisterDevice: all or nothing.',
  codes: ['PRODUCT_NOT_FOUND', 'DEVICE_ALREADY_EXISTS', 'INVALID_NAME', 'INVALID_INPUT'],
  inputFields: (t) => ({
    productKey: t.string({ required: true }),
    deviceNames: t.stringList({ description: 'The names to register (1-1000); or pass count.' }),
    count: t.int({ description: 'How many devices with generated names (1-1000).' }),
  }),
  resolve: async (input, ctx) => ({ devices: await ctx.services.devices.registerMany(ctx.principal, input) }),
  outputFields: (t) => ({ devices: t.field({ type: [RegisteredDeviceRef], resolve: (r) => r.devices ?? [] }) }),
});

for (const [name, op, what] of [
  ['enableDevice', 'enable', 'EnableThing.'],
  ['disableDevice', 'disable', 'DisableThing: a connected device is disconnected at once.'],
] as const) {
  mutationField(name, {
    description: what,
    codes: NOT_FOUND,
    inputFields: deviceInputFields,
    resolve: async (input, ctx) => ({
      device: await ctx.services.devices[op](ctx.principal, input.productKey, input.deviceName),
    }),
    outputFields: (t) => ({ device: t.expose('device', { type: DeviceRef, nullable: true }) }),
  });
}

mutationField('deleteDevice', {
  description: 'DeleteDevice: a connected device is disconnected at once.',
  codes: NOT_FOUND,
  inputFields: deviceInputFields,
  resolve: async (input, ctx) => ({
    deletedIotId: (await ctx.services.devices.delete(ctx.principal, input.productKey, input.deviceName)).iotId,
  }),
  outputFields: (t) => ({ deletedIotId: t.exposeString('deletedIotId', { nullable: true }) }),
});

mutationField('resetDeviceSecret', {
  description: 'ADMIN only. The old secret stops working and a live session is disconnected.',
  codes: NOT_FOUND,
  inputFields: deviceInputFields,
  resolve: (input, ctx) => ctx.services.devices.resetSecret(ctx.principal, input.productKey, input.deviceName),
  outputFields: (t) => ({
    device: t.expose('device', { type: DeviceRef, nullable: true }),
    deviceSecret: t.exposeString('deviceSecret', { nullable: true }),
  }),
});
