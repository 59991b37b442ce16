/**
 * Products and their thing models, through the product service on a real database (no sockets): what the GraphQL
 * registry mutations rely on, without HTTP in between.
 */
import { expect } from 'vitest';
import { failure } from '../helpers/expect-errors.ts';
import { describeEachDb, test } from '../helpers/fixtures.ts';
import { ADMIN, apiKeyPrincipal } from '../helpers/services.ts';
import { lampTsl, sensorTsl } from '../helpers/tsl-fixtures.ts';

describeEachDb(
  test,
  'products and thing models on %s',
  () => {
    test('creates a product with a valid thing model bound to its productKey, and lists it', async ({
      services: { services },
    }) => {
      const p = await services.products.create(ADMIN, { name: 'Env sensor', tsl: sensorTsl });
      expect(p.productKey).toMatch(/^[A-Za-z0-9]{4,32}$/);
      expect(p).toMatchObject({
        name: 'Env sensor',
        nodeType: 'DEVICE',
        dataFormat: 'ALINK_JSON',
        validationMode: 'WEAK',
        dynamicRegistration: false,
      });
      expect((p.tsl.profile as { productKey: string }).productKey).toBe(p.productKey);
      expect(p.tsl.properties).toEqual(sensorTsl.properties);
      expect(await services.products.get(ADMIN, p.productKey)).toEqual(p);
      const all = await services.products.list(ADMIN, { first: 500 });
      expect(all.edges.map((e) => e.node.productKey)).toContain(p.productKey);
    });

    test('refuses an invalid thing model with one INVALID_TSL error per issue, pointing at the field, and stores nothing', async ({
      services: { services },
    }) => {
      const bad = {
        properties: [
          { identifier: 'x', name: 'x', accessMode: 'rw', dataType: { type: 'int', specs: { min: '10', max: '1' } } },
          { identifier: '1bad' },
        ],
      };
      const { codes, error } = await failure(() =>
        services.products.create(ADMIN, { productKey: 'badTsl0001', name: 'Bad TSL', tsl: bad }),
      );
      expect(codes.length).toBeGreaterThanOrEqual(2);
      expect(new Set(codes)).toEqual(new Set(['INVALID_TSL']));
      for (const e of error.errors) expect(e.field.slice(0, 3)).toEqual(['input', 'tsl', 'properties']);
      expect(await services.products.get(ADMIN, 'badTsl0001')).toBeNull();
    });

    test('replaces the thing model of a product, validating it first', async ({ services: { services }, product }) => {
      const before = await services.products.get(ADMIN, product.productKey);
      expect(
        (await failure(() => services.products.setThingModel(ADMIN, product.productKey, { properties: 'nope' }))).codes,
      ).toContain('INVALID_TSL');
      expect((await services.products.get(ADMIN, product.productKey))!.tsl).toEqual(before!.tsl);
      const updated = await services.products.setThingModel(ADMIN, product.productKey, sensorTsl);
      expect(updated.tsl.properties).toEqual(sensorTsl.properties);
      expect((updated.tsl.profile as { productKey: string }).productKey).toBe(product.productKey);
    });

    test('refuses bad names, a taken productKey and a missing product with their codes', async ({
      services: { services },
      product,
    }) => {
      expect((await failure(() => services.products.create(ADMIN, { name: 'abc' }))).codes).toEqual(['INVALID_NAME']);
      expect(
        (await failure(() => services.products.create(ADMIN, { name: 'Valid name', productKey: 'no-dash' }))).codes,
      ).toEqual(['INVALID_NAME']);
      expect(
        (await failure(() => services.products.create(ADMIN, { name: 'Valid name', productKey: product.productKey })))
          .codes,
      ).toEqual(['PRODUCT_ALREADY_EXISTS']);
      expect(
        (await failure(() => services.products.update(ADMIN, { productKey: 'nosuch0001', name: 'Other name' }))).codes,
      ).toEqual(['PRODUCT_NOT_FOUND']);
    });

    test('will not delete a product that still has devices', async ({ services: { services }, device }) => {
      expect((await failure(() => services.products.delete(ADMIN, device.productKey))).codes).toEqual([
        'PRODUCT_HAS_DEVICES',
      ]);
      await services.devices.delete(ADMIN, device.productKey, device.deviceName);
      expect(await services.products.delete(ADMIN, device.productKey)).toBe(device.productKey);
      expect(await services.products.get(ADMIN, device.productKey)).toBeNull();
    });

    test('hides products outside a scoped key, answering as for a missing product', async ({
      services: { services },
      product,
    }) => {
      const other = await services.products.create(ADMIN, { name: 'Other lamp', tsl: lampTsl });
      const scoped = apiKeyPrincipal('ADMIN', [product.productKey]);
      expect(await services.products.get(scoped, other.productKey)).toBeNull();
      expect((await services.products.list(scoped, { first: 500 })).edges.map((e) => e.node.productKey)).toEqual([
        product.productKey,
      ]);
      expect((await failure(() => services.products.setThingModel(scoped, other.productKey, lampTsl))).codes).toEqual([
        'PRODUCT_NOT_FOUND',
      ]);
      // A key limited to products cannot create one (it would widen its own scope).
      expect((await failure(() => services.products.create(scoped, { name: 'Sneaky one' }))).error.name).toBe(
        'ForbiddenError',
      );
    });
  },
  { warm: ['services'], timeout: 60_000 },
);
