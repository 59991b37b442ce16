import { beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, nextMessage, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { lampTsl } from '../helpers/tsl-fixtures.ts';

describe('retention', () => {
  const t = usePlatform('pglite');
  let pk: string;
  let dev: DeviceCreds;
  beforeAll(async () => {
    const p = await productWithDevices(t, 1, { tsl: lampTsl });
    pk = p.productKey;
    dev = p.devices[0]!;
  });

  it('deletes history, service calls and events older than the cutoff in batches, and keeps newer ones', async () => {
    const c = await connectDevice(t, 'tcp', dev);
    const topic = `/sys/${pk}/${dev.deviceName}/thing/event/property/post`;
    for (let i = 0; i < 7; i++) {
      const r = nextMessage(c, (tp) => tp === `${topic}_reply`);
      await c.publishAsync(
        topic,
        JSON.stringify({ id: String(i), params: { Brightness: i }, method: 'thing.event.property.post' }),
        { qos: 1 },
      );
      await r;
    }
    await t.gql(`mutation($i: SetDevicePropertyInput!) { setDeviceProperty(input: $i) { messageId } }`, {
      i: { productKey: pk, deviceName: dev.deviceName, items: { Brightness: 5 } },
    });
    const count = async () => {
      const range = {
        pk,
        dn: dev.deviceName,
        from: new Date(Date.now() - 3600_000).toISOString(),
        to: new Date(Date.now() + 3600_000).toISOString(),
      };
      const h = await t.gql(
        `query($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!) { devicePropertyHistory(productKey: $pk, deviceName: $dn, identifier: "Brightness", from: $from, to: $to, first: 100) { edges { cursor } } deviceServiceHistory(productKey: $pk, deviceName: $dn, from: $from, to: $to) { edges { cursor } } }`,
        range,
      );
      return [h.data.devicePropertyHistory.edges.length, h.data.deviceServiceHistory.edges.length];
    };
    expect(await count()).toEqual([7, 1]);
    // A cutoff in the past keeps everything.
    expect(await t.platform.services.history.prune(new Date(Date.now() - 60_000), 2)).toBe(0);
    expect(await count()).toEqual([7, 1]);
    // A cutoff after the data removes it, two rows per batch.
    expect(await t.platform.services.history.prune(new Date(Date.now() + 1000), 2)).toBe(8);
    expect(await count()).toEqual([0, 0]);
    const headBefore = await t.platform.log.headPosition();
    expect(await t.platform.log.prune(new Date(Date.now() + 1000), 3)).toBeGreaterThan(0);
    expect(await t.platform.log.floor()).toBe(headBefore + 1);
    await c.endAsync();
  });
});
