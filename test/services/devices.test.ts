/** Device registration, lookup, lifecycle and keyset paging through the device service on a real database. */
import { expect } from 'vitest';
import { failure } from '../helpers/expect-errors.ts';
import { describeEachDb, test } from '../helpers/fixtures.ts';
import { ADMIN, apiKeyPrincipal } from '../helpers/services.ts';

describeEachDb(
  test,
  'devices on %s',
  () => {
    test('registers a named device with a secret and an iotId, and finds it by name and by iotId', async ({
      services: { services },
      product,
    }) => {
      const r = await services.devices.register(ADMIN, {
        productKey: product.productKey,
        deviceName: 'lamp-0001',
        nickname: 'Hall lamp',
      });
      expect(r.deviceSecret).toMatch(/^[0-9a-f]{32}$/);
      expect(r.device).toMatchObject({
        productKey: product.productKey,
        deviceName: 'lamp-0001',
        enabled: true,
        online: false,
        activatedAt: null,
      });
      expect(await services.devices.get(ADMIN, product.productKey, 'lamp-0001')).toEqual(r.device);
      expect(await services.devices.getByIotId(ADMIN, r.device.iotId)).toEqual(r.device);
      expect(
        (
          await failure(() =>
            services.devices.register(ADMIN, { productKey: product.productKey, deviceName: 'lamp-0001' }),
          )
        ).codes,
      ).toEqual(['DEVICE_ALREADY_EXISTS']);
      expect(
        (await failure(() => services.devices.register(ADMIN, { productKey: 'nosuch0001', deviceName: 'lamp-0002' })))
          .codes,
      ).toEqual(['PRODUCT_NOT_FOUND']);
    });

    test('registers a batch by names or by count, never both, and at least one', async ({
      services: { services },
      product,
    }) => {
      const named = await services.devices.registerMany(ADMIN, {
        productKey: product.productKey,
        deviceNames: ['bat-1', 'bat-2', 'bat-3'],
      });
      expect(named.map((d) => d.device.deviceName)).toEqual(['bat-1', 'bat-2', 'bat-3']);
      expect(new Set(named.map((d) => d.deviceSecret)).size).toBe(3);
      const counted = await services.devices.registerMany(ADMIN, { productKey: product.productKey, count: 2 });
      expect(counted).toHaveLength(2);
      expect(
        (
          await failure(() =>
            services.devices.registerMany(ADMIN, { productKey: product.productKey, deviceNames: ['x'], count: 1 }),
          )
        ).codes,
      ).toEqual(['INVALID_INPUT']);
      expect(
        (await failure(() => services.devices.registerMany(ADMIN, { productKey: product.productKey, count: 0 }))).codes,
      ).toEqual(['INVALID_INPUT']);
    });

    test("pages a product's devices forwards and backwards with keyset cursors and a total count", async ({
      services: { services },
      product,
    }) => {
      const names = Array.from({ length: 7 }, (_, i) => `page-${i}`);
      await services.devices.registerMany(ADMIN, { productKey: product.productKey, deviceNames: names });
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await services.devices.list(ADMIN, { productKey: product.productKey }, { first: 3, after });
        expect(await page.totalCount()).toBe(7);
        seen.push(...page.edges.map((e) => e.node.deviceName));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(seen).toEqual(names);
      const last = await services.devices.list(ADMIN, { productKey: product.productKey }, { last: 2 });
      expect(last.edges.map((e) => e.node.deviceName)).toEqual(['page-5', 'page-6']);
      expect(last.pageInfo.hasPreviousPage).toBe(true);
      const filtered = await services.devices.list(
        ADMIN,
        { productKey: product.productKey, nameContains: 'ge-4' },
        { first: 10 },
      );
      expect(filtered.edges.map((e) => e.node.deviceName)).toEqual(['page-4']);
      expect(
        (await failure(() => services.devices.list(ADMIN, { productKey: product.productKey }, { first: 2, last: 2 })))
          .error.message,
      ).toContain('either first or last');
    });

    test('lists devices by state as presence and the lifecycle change it', async ({
      services: { services },
      product,
      device,
      online,
    }) => {
      const unactive = await services.devices.register(ADMIN, {
        productKey: product.productKey,
        deviceName: 'never-online',
      });
      const byState = async (state: 'ONLINE' | 'OFFLINE' | 'UNACTIVE' | 'DISABLED') =>
        (await services.devices.list(ADMIN, { productKey: product.productKey, state }, { first: 10 })).edges.map(
          (e) => e.node.deviceName,
        );
      expect(await byState('ONLINE')).toEqual([device.deviceName]);
      expect(await byState('UNACTIVE')).toEqual([unactive.device.deviceName]);
      await online.disconnect();
      expect(await byState('OFFLINE')).toEqual([device.deviceName]);
      await services.devices.disable(ADMIN, product.productKey, device.deviceName);
      expect(await byState('DISABLED')).toEqual([device.deviceName]);
      expect(await byState('OFFLINE')).toEqual([]);
    });

    test('keeps a scoped or read-only key to what it may do', async ({ services: { services }, product }) => {
      const viewer = apiKeyPrincipal('VIEWER', null);
      expect(
        (await failure(() => services.devices.register(viewer, { productKey: product.productKey }))).error.name,
      ).toBe('ForbiddenError');
      const elsewhere = apiKeyPrincipal('OPERATOR', ['someOther01']);
      expect(
        (await failure(() => services.devices.register(elsewhere, { productKey: product.productKey }))).codes,
      ).toEqual(['PRODUCT_NOT_FOUND']);
      const r = await services.devices.register(ADMIN, { productKey: product.productKey });
      expect(await services.devices.get(elsewhere, product.productKey, r.device.deviceName)).toBeNull();
      expect((await services.devices.list(elsewhere, { productKey: product.productKey }, { first: 10 })).edges).toEqual(
        [],
      );
    });

    test('resets a secret: the old one no longer logs in, the new one does', async ({ services: s, device }) => {
      const reset = await s.services.devices.resetSecret(ADMIN, device.productKey, device.deviceName);
      expect(reset.deviceSecret).not.toBe(device.deviceSecret);
      await expect(s.device(device)).rejects.toThrow(/BAD_CREDENTIALS/);
      const d = await s.device({ ...device, deviceSecret: reset.deviceSecret });
      expect(d.device.deviceName).toBe(device.deviceName);
    });
  },
  { warm: ['services'], timeout: 60_000 },
);
