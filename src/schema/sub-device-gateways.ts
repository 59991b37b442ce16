import { builder } from './builder.ts';
import { mutationField } from './mutation.ts';
import { ProductRef } from './refs.ts';

/** Which gateway products may register sub-devices into a product (thing/sub/register; docs/security-device.md). */
builder.objectFields(ProductRef, (t) => ({
  subDeviceGateways: t.stringList({
    description:
      'Product keys of the gateway products whose gateways may register sub-devices into this product with thing/sub/register (dynamic registration must be on too). Empty: none may.',
    resolve: (p, _a, ctx) => ctx.services.subDeviceGateways.list(p.productKey),
  }),
}));

mutationField('setSubDeviceGateways', {
  description: 'Allow gateways of the given gateway products to register sub-devices into this product (ADMIN).',
  codes: ['PRODUCT_NOT_FOUND'],
  inputFields: (t) => ({
    productKey: t.string({ required: true }),
    gatewayProductKeys: t.stringList({
      required: true,
      description: 'GATEWAY products; replaces the list (empty: no gateway may register sub-devices here).',
    }),
  }),
  resolve: async (input, ctx) => ({
    subDeviceGateways: await ctx.services.subDeviceGateways.set(
      ctx.principal,
      input.productKey,
      input.gatewayProductKeys,
    ),
  }),
  outputFields: (t) => ({ subDeviceGateways: t.exposeStringList('subDeviceGateways', { nullable: true }) }),
});
