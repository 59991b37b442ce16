import { builder } from './builder.ts';
import { codesDescription, UserErrorRef, withUserErrors } from './common.ts';
import { ProductRef } from './refs.ts';

/** Which gateway products may register sub-devices into a product (thing/sub/register; docs/security-device.md). */
builder.objectFields(ProductRef, (t) => ({
  subDeviceGateways: t.stringList({
    description: 'Product keys of the gateway products whose gateways may register sub-devices into this product with thing/sub/register (dynamic registration must be on too). Empty: none may.',
    resolve: (p, _a, ctx) => ctx.services.subDeviceGateways.list(p.productKey),
  }),
}));

builder.relayMutationField(
  'setSubDeviceGateways',
  {
    inputFields: (t) => ({
      productKey: t.string({ required: true }),
      gatewayProductKeys: t.stringList({ required: true, description: 'GATEWAY products; replaces the list (empty: no gateway may register sub-devices here).' }),
    }),
  },
  {
    resolve: (_r, { input }, ctx) =>
      withUserErrors(async () => ({ subDeviceGateways: await ctx.services.subDeviceGateways.set(ctx.principal, input.productKey, input.gatewayProductKeys) })),
  },
  {
    description: codesDescription('Allow gateways of the given gateway products to register sub-devices into this product (ADMIN).', ['PRODUCT_NOT_FOUND']),
    outputFields: (t) => ({
      subDeviceGateways: t.stringList({ nullable: true, resolve: (r) => r.subDeviceGateways ?? null }),
      userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
    }),
  },
);
