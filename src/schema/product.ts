import type { ProductRecord } from '../db/records.ts';
import { builder, type BuilderTypes } from './builder.ts';
import {
  DataFormatEnum,
  DeviceStateEnum,
  EventTypeEnum,
  NodeTypeEnum,
  ServiceCallTypeEnum,
  ValidationModeEnum,
} from './common.ts';
import { deleteByKeyMutation, mutationField, type PayloadFieldBuilder } from './mutation.ts';
import { recordNode } from './nodes.ts';
import { DeviceRef, ProductRef, ProductTopicRef } from './refs.ts';

type TslFeature = Record<string, unknown>;
const list = (tsl: Record<string, unknown>, key: string): TslFeature[] =>
  Array.isArray(tsl[key]) ? (tsl[key] as TslFeature[]) : [];

builder.node(ProductRef, {
  ...recordNode((id, ctx) => ctx.services.products.getById(ctx.principal, id), 'productKey', 'tsl'),
  fields: (t) => ({
    productKey: t.exposeString('productKey'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    nodeType: t.field({ type: NodeTypeEnum, resolve: (p) => p.nodeType }),
    dataFormat: t.field({ type: DataFormatEnum, resolve: (p) => p.dataFormat }),
    validationMode: t.field({ type: ValidationModeEnum, resolve: (p) => p.validationMode }),
    dynamicRegistration: t.exposeBoolean('dynamicRegistration', {
      description: 'Devices may register themselves with the product secret (alink-protocol.md §1.6).',
    }),
    productSecret: t.string({
      nullable: true,
      description: 'The product secret for dynamic registration: ADMIN only, null for other roles.',
      resolve: (p, _a, ctx) =>
        ctx.principal.role === 'ADMIN' ? ctx.services.products.productSecret(p.productKey) : null,
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (p) => p.createdAt }),
    thingModel: t.field({ type: ThingModelRef, resolve: (p) => p.tsl }),
    topics: t.field({
      type: [ProductTopicRef],
      resolve: (p, _a, ctx) => ctx.services.topics.list(ctx.principal, p.productKey),
    }),
    devices: t.connection({
      type: DeviceRef,
      args: { state: t.arg({ type: DeviceStateEnum }) },
      resolve: (p, args, ctx) =>
        ctx.services.devices.list(ctx.principal, { productKey: p.productKey, state: args.state ?? null }, args),
    }),
    deviceCount: t.int({
      args: { state: t.arg({ type: DeviceStateEnum }) },
      resolve: (p, args, ctx) => ctx.services.products.deviceCount(p.productKey, args.state ?? null),
    }),
  }),
});

const ThingModelRef = builder.objectRef<Record<string, unknown>>('ThingModel').implement({
  fields: (t) => ({
    tsl: t.field({
      type: 'JSON',
      description: 'The whole TSL document in the Alink TSL format.',
      resolve: (tsl) => tsl,
    }),
    properties: t.field({ type: [ThingPropertyRef], resolve: (tsl) => list(tsl, 'properties') }),
    events: t.field({ type: [ThingEventRef], resolve: (tsl) => list(tsl, 'events') }),
    services: t.field({ type: [ThingServiceRef], resolve: (tsl) => list(tsl, 'services') }),
  }),
});

const str = (f: TslFeature, k: string) => String(f[k] ?? '');

/** identifier and name, what every TSL property, event and service has. */
const featureFields = (t: PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, TslFeature>) => ({
  identifier: t.string({ resolve: (f) => str(f, 'identifier') }),
  name: t.string({ resolve: (f) => str(f, 'name') }),
});

/** What TSL events and services add to identifier and name: the Alink method and the output parameters. */
const methodFields = (t: PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, TslFeature>) => ({
  ...featureFields(t),
  method: t.string({ resolve: (f) => str(f, 'method') }),
  outputData: t.field({ type: 'JSON', resolve: (f) => f.outputData ?? [] }),
});

const ThingPropertyRef = builder.objectRef<TslFeature>('ThingProperty').implement({
  fields: (t) => ({
    ...featureFields(t),
    accessMode: t.string({ resolve: (f) => str(f, 'accessMode') }),
    required: t.boolean({ resolve: (f) => f.required === true }),
    desc: t.string({ nullable: true, resolve: (f) => (typeof f.desc === 'string' ? f.desc : null) }),
    dataType: t.field({ type: 'JSON', resolve: (f) => f.dataType }),
  }),
});

const ThingEventRef = builder.objectRef<TslFeature>('ThingEvent').implement({
  fields: (t) => ({
    ...methodFields(t),
    type: t.field({ type: EventTypeEnum, resolve: (f) => str(f, 'type').toUpperCase() as 'INFO' }),
  }),
});

const ThingServiceRef = builder.objectRef<TslFeature>('ThingService').implement({
  fields: (t) => ({
    ...methodFields(t),
    callType: t.field({ type: ServiceCallTypeEnum, resolve: (f) => str(f, 'callType').toUpperCase() as 'SYNC' }),
    inputData: t.field({ type: 'JSON', resolve: (f) => f.inputData ?? [] }),
  }),
});

function productPayload(t: PayloadFieldBuilder<{ product: ProductRecord }>) {
  return { product: t.expose('product', { type: ProductRef, nullable: true }) };
}

builder.queryFields((t) => ({
  product: t.field({
    type: ProductRef,
    nullable: true,
    args: { productKey: t.arg.string({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.products.get(ctx.principal, args.productKey),
  }),
  products: t.connection({
    type: ProductRef,
    resolve: (_r, args, ctx) => ctx.services.products.list(ctx.principal, args),
  }),
}));

mutationField('createProduct', {
  description: 'CreateProduct.',
  codes: ['INVALID_NAME', 'INVALID_TSL', 'PRODUCT_ALREADY_EXISTS'],
  inputFields: (t) => ({
    productKey: t.string({ description: 'Generated (11 characters, like the reference) when absent.' }),
    name: t.string({ required: true }),
    nodeType: t.field({ type: NodeTypeEnum, defaultValue: 'DEVICE' }),
    dataFormat: t.field({ type: DataFormatEnum, defaultValue: 'ALINK_JSON' }),
    validationMode: t.field({ type: ValidationModeEnum, defaultValue: 'WEAK' }),
    description: t.string(),
    tsl: t.field({ type: 'JSON', description: 'A TSL document (alink-protocol.md §4); validated.' }),
    dynamicRegistration: t.boolean({ defaultValue: false }),
  }),
  resolve: async (input, ctx) => ({ product: await ctx.services.products.create(ctx.principal, input) }),
  outputFields: productPayload,
});

mutationField('updateProduct', {
  description: 'UpdateProduct.',
  codes: ['PRODUCT_NOT_FOUND', 'INVALID_NAME'],
  inputFields: (t) => ({
    productKey: t.string({ required: true }),
    name: t.string(),
    description: t.string(),
    validationMode: t.field({ type: ValidationModeEnum }),
    dynamicRegistration: t.boolean(),
  }),
  resolve: async (input, ctx) => ({ product: await ctx.services.products.update(ctx.principal, input) }),
  outputFields: productPayload,
});

deleteByKeyMutation('deleteProduct', {
  description: 'DeleteProduct: refused while the product has devices.',
  codes: ['PRODUCT_NOT_FOUND', 'PRODUCT_HAS_DEVICES'],
  key: 'productKey',
  deleted: 'deletedProductKey',
  resolve: (productKey, ctx) => ctx.services.products.delete(ctx.principal, productKey),
});

mutationField('setThingModel', {
  description:
    'ImportThingModelTsl: the whole document is validated; each issue is one userError whose field is the path in the document.',
  codes: ['PRODUCT_NOT_FOUND', 'INVALID_TSL'],
  inputFields: (t) => ({ productKey: t.string({ required: true }), tsl: t.field({ type: 'JSON', required: true }) }),
  resolve: async (input, ctx) => ({
    product: await ctx.services.products.setThingModel(ctx.principal, input.productKey, input.tsl),
  }),
  outputFields: productPayload,
});
