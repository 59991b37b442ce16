/**
 * History queries over data a device posted: the posts go through the real ingest pipeline and group commit (no
 * broker), the queries through the history service.
 */
import { expect } from 'vitest';
import { failure } from '../helpers/expect-errors.ts';
import { describeEachDb, test } from '../helpers/fixtures.ts';
import { ADMIN, apiKeyPrincipal } from '../helpers/services.ts';

const T0 = Date.parse('2026-01-05T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);

describeEachDb(
  test,
  'history queries on %s',
  () => {
    test('stores posted property values with their device time and pages them in both orders', async ({
      services: s,
      device,
      online,
    }) => {
      const sys = `/sys/${device.productKey}/${device.deviceName}/thing/event/property/post`;
      for (let i = 0; i < 5; i++) {
        await online.publish(sys, {
          id: String(i + 1),
          version: '1.0',
          method: 'thing.event.property.post',
          params: { Brightness: { value: 10 * i, time: T0 + i * 1000 } },
        });
      }
      // Every post was acknowledged with an Alink reply carrying its id.
      expect(s.publisher.to(`${sys}_reply`).map((m) => [m.json.id, m.json.code])).toEqual(
        [1, 2, 3, 4, 5].map((i) => [String(i), 200]),
      );

      const q = {
        productKey: device.productKey,
        deviceName: device.deviceName,
        identifier: 'Brightness',
        from: at(-60),
        to: at(60),
      };
      const first = await s.services.history.propertyHistory(ADMIN, { ...q, order: 'ASC' }, { first: 3 });
      expect(first.edges.map((e) => e.node.value)).toEqual([0, 10, 20]);
      expect(first.edges.map((e) => e.node.time.getTime())).toEqual([T0, T0 + 1000, T0 + 2000]);
      expect(first.pageInfo.hasNextPage).toBe(true);
      expect(await first.totalCount()).toBe(5);
      const rest = await s.services.history.propertyHistory(
        ADMIN,
        { ...q, order: 'ASC' },
        { first: 3, after: first.pageInfo.endCursor },
      );
      expect(rest.edges.map((e) => e.node.value)).toEqual([30, 40]);
      expect(rest.pageInfo.hasNextPage).toBe(false);
      const desc = await s.services.history.propertyHistory(ADMIN, { ...q, order: 'DESC' }, { first: 2 });
      expect(desc.edges.map((e) => e.node.value)).toEqual([40, 30]);
      const window = await s.services.history.propertyHistory(
        ADMIN,
        { ...q, from: at(1), to: at(3), order: 'ASC' },
        { first: 10 },
      );
      expect(window.edges.map((e) => e.node.value)).toEqual([10, 20, 30]);
      expect((await s.services.history.latest(device.id)).find((l) => l.identifier === 'Brightness')).toMatchObject({
        value: 40,
        time: at(4),
      });
    });

    test('keeps the newest value as latest when an older one arrives later (offline history)', async ({
      services: s,
      device,
      online,
    }) => {
      const sys = `/sys/${device.productKey}/${device.deviceName}/thing/event/property/post`;
      await online.publish(sys, {
        id: '1',
        method: 'thing.event.property.post',
        params: { Brightness: { value: 70, time: T0 + 5000 } },
      });
      await online.publish(sys, {
        id: '2',
        method: 'thing.event.property.post',
        params: { Brightness: { value: 20, time: T0 } },
      });
      expect((await s.services.history.latest(device.id)).find((l) => l.identifier === 'Brightness')).toMatchObject({
        value: 70,
      });
      const all = await s.services.history.propertyHistory(
        ADMIN,
        {
          productKey: device.productKey,
          deviceName: device.deviceName,
          identifier: 'Brightness',
          from: at(-1),
          to: at(10),
          order: 'ASC',
        },
        { first: 10 },
      );
      expect(all.edges.map((e) => e.node.value)).toEqual([20, 70]);
    });

    test('stores events with their type and filters them by identifier and type', async ({
      services: s,
      device,
      online,
    }) => {
      const ev = (id: string) => `/sys/${device.productKey}/${device.deviceName}/thing/event/${id}/post`;
      await online.publish(ev('Fault'), {
        id: '1',
        method: 'thing.event.Fault.post',
        params: { value: { ErrorCode: 7, Detail: 'fan' }, time: T0 },
      });
      await online.publish(ev('OverHeat'), {
        id: '2',
        method: 'thing.event.OverHeat.post',
        params: { value: { Temperature: 81.5 }, time: T0 + 1000 },
      });
      const q = {
        productKey: device.productKey,
        deviceName: device.deviceName,
        from: at(-1),
        to: at(10),
        order: 'ASC' as const,
      };
      const all = await s.services.history.eventHistory(ADMIN, q, { first: 10 });
      expect(all.edges.map((e) => [e.node.identifier, e.node.eventType, e.node.output])).toEqual([
        ['Fault', 'error', { ErrorCode: 7, Detail: 'fan' }],
        ['OverHeat', 'alert', { Temperature: 81.5 }],
      ]);
      expect(
        (await s.services.history.eventHistory(ADMIN, { ...q, eventType: 'ALERT' }, { first: 10 })).edges.map(
          (e) => e.node.identifier,
        ),
      ).toEqual(['OverHeat']);
      expect(
        (await s.services.history.eventHistory(ADMIN, { ...q, identifier: 'Fault' }, { first: 10 })).edges.map(
          (e) => e.node.identifier,
        ),
      ).toEqual(['Fault']);
    });

    test('refuses a reversed range and shows nothing of a device outside a scoped key', async ({
      services: s,
      device,
    }) => {
      const q = {
        productKey: device.productKey,
        deviceName: device.deviceName,
        identifier: 'Brightness',
        order: 'ASC' as const,
      };
      expect(
        (
          await failure(() =>
            s.services.history.propertyHistory(ADMIN, { ...q, from: at(10), to: at(0) }, { first: 1 }),
          )
        ).codes,
      ).toEqual(['INVALID_RANGE']);
      const elsewhere = apiKeyPrincipal('VIEWER', ['someOther01']);
      const none = await s.services.history.propertyHistory(
        elsewhere,
        { ...q, from: at(-1), to: at(10) },
        { first: 10 },
      );
      expect(none.edges).toEqual([]);
    });
  },
  { warm: ['services'], timeout: 60_000 },
);
