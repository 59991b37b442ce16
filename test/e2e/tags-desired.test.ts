import { describe, expect, it } from 'vitest';
import { connectDevice, nextMessage } from '../helpers/devices.ts';
import { usePlatform, useProduct } from '../helpers/use-platform.ts';
import { lampTsl } from '../helpers/tsl-fixtures.ts';

describe('device tags and desired properties', () => {
  const t = usePlatform('pglite');
  const fleet = useProduct(t, 1, { tsl: lampTsl });

  it('keeps tags the device reports and deletes them on request', async () => {
    const dev = fleet.devs[0]!;
    const c = await connectDevice(t, 'tcp', dev);
    await c.subscribeAsync(`/sys/${fleet.pk}/${dev.deviceName}/thing/property/desired/#`);
    const ask = async (suffix: string, body: unknown) => {
      const topic = `/sys/${fleet.pk}/${dev.deviceName}/${suffix}`;
      const r = nextMessage(c, (tp) => tp === `${topic}_reply`);
      await c.publishAsync(topic, JSON.stringify(body), { qos: 1 });
      return JSON.parse((await r).payload.toString());
    };
    expect(
      (
        await ask('thing/deviceinfo/update', {
          id: '1',
          params: [
            { attrKey: 'room', attrValue: 'kitchen' },
            { attrKey: 'floor', attrValue: '2' },
          ],
          method: 'thing.deviceinfo.update',
        })
      ).code,
    ).toBe(200);
    expect(
      (
        await ask('thing/deviceinfo/update', {
          id: '2',
          params: [{ attrKey: '9bad key', attrValue: 'x' }],
          method: 'thing.deviceinfo.update',
        })
      ).code,
    ).toBe(460);
    expect(
      (
        await ask('thing/deviceinfo/delete', {
          id: '3',
          params: [{ attrKey: 'floor' }],
          method: 'thing.deviceinfo.delete',
        })
      ).code,
    ).toBe(200);
    const d = await t.gql(
      `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { tags { attrKey attrValue } } }`,
      { pk: fleet.pk, dn: dev.deviceName },
    );
    expect(d.data.device.tags).toEqual([{ attrKey: 'room', attrValue: 'kitchen' }]);

    // Desired properties: versioned per property; the device gets only what is still desired after it deletes what it applied.
    const set = (items: unknown, versions?: unknown) =>
      t.gql(
        `mutation($i: SetDesiredPropertyInput!) { setDesiredProperty(input: $i) { versions userErrors { code field } } }`,
        { i: { productKey: fleet.pk, deviceName: dev.deviceName, items, versions } },
      );
    expect((await set({ Brightness: 70, LightSwitch: 1 })).data.setDesiredProperty.versions).toEqual({
      Brightness: 1,
      LightSwitch: 1,
    });
    expect((await set({ Brightness: 80 })).data.setDesiredProperty.versions).toEqual({ Brightness: 2 });
    expect((await set({ Brightness: 90 }, { Brightness: 1 })).data.setDesiredProperty.userErrors[0].code).toBe(
      'VERSION_CONFLICT',
    );
    expect((await set({ Brightness: 900 })).data.setDesiredProperty.userErrors[0].code).toBe('INVALID_VALUE');
    expect((await set({ Nope: 1 })).data.setDesiredProperty.userErrors[0].code).toBe('IDENTIFIER_NOT_FOUND');
    const got = await ask('thing/property/desired/get', {
      id: '4',
      params: ['Brightness', 'LightSwitch'],
      method: 'thing.property.desired.get',
    });
    expect(got.data).toEqual({ Brightness: { value: 80, version: 2 }, LightSwitch: { value: 1, version: 1 } });
    // Applied both; Brightness changes again meanwhile (version 3), so deleting at version 2 keeps the new value.
    await set({ Brightness: 60 });
    expect(
      (
        await ask('thing/property/desired/delete', {
          id: '5',
          params: { Brightness: { version: 2 }, LightSwitch: { version: 1 } },
          method: 'thing.property.desired.delete',
        })
      ).code,
    ).toBe(200);
    const left = await ask('thing/property/desired/get', { id: '6', params: [], method: 'thing.property.desired.get' });
    expect(left.data).toEqual({ Brightness: { value: 60, version: 3 } });
    await c.endAsync();
  });
});
