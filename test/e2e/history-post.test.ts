/**
 * Offline history post (`thing/event/property/history/post`, alink-protocol.md §2.3, §3.9, §6.10): values a device
 * buffered while offline are stored at their device times, and never replace a newer latest value.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminLive } from '../helpers/graphql-ws.ts';
import { connectDevice, productWithDevices, sleep, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { lampTsl, latestProperties, postAndReply, propertyHistory } from '../helpers/thing-posts.ts';
import { describeEachDb } from '../helpers/services-env.ts';

const iso = (ms: number) => new Date(ms).toISOString();

describeEachDb('offline history post on %s', (kind) => {
  const t = usePlatform(kind);
  let pk: string;
  let devs: DeviceCreds[];
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    ({ productKey: pk, devices: devs } = await productWithDevices(t, 3, { tsl: lampTsl }));
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync();
  });

  async function device(i: number) {
    const c = await connectDevice(t, 'tcp', devs[i]!);
    clients.push(c);
    const dn = devs[i]!.deviceName;
    const topic = (suffix: string) => `/sys/${pk}/${dn}/${suffix}`;
    // Not among the D19 automatic subscriptions (`thing/event/+/post_reply` is one level): the device subscribes.
    await c.subscribeAsync(topic('thing/event/property/history/post_reply'), { qos: 1 });
    return {
      dn,
      live: (id: string, params: Record<string, unknown>) =>
        postAndReply(c, topic('thing/event/property/post'), {
          id,
          version: '1.0',
          params,
          method: 'thing.event.property.post',
        }),
      history: (id: string, params: unknown[]) =>
        postAndReply(c, topic('thing/event/property/history/post'), {
          id,
          version: '1.0',
          params,
          method: 'thing.event.property.history.post',
        }),
    };
  }

  it('stores buffered values at their device times without overwriting a newer latest value', async () => {
    const d = await device(0);
    const now = Date.now();
    const live = await d.live('1', { Brightness: { value: 80, time: now }, DeviceLabel: { value: 'live', time: now } });
    expect(live.code).toBe(200);

    const t1 = now - 2 * 3600_000;
    const t2 = now - 3600_000;
    const reply = await d.history('2', [
      {
        identity: { productKey: pk, deviceName: d.dn },
        properties: [
          { Brightness: { value: 10, time: t1 }, DeviceLabel: { value: 'offline-1', time: t1 } },
          { Brightness: { value: 20, time: t2 }, WorkingMode: { value: 2, time: t2 } },
        ],
        events: [{ OverHeat: { value: { Temperature: 71.5 }, time: t2 } }],
      },
    ]);
    expect(reply).toEqual({
      id: '2',
      code: 200,
      data: {},
      message: 'success',
      method: 'thing.event.property.history.post',
      version: '1.0',
    });

    expect(await propertyHistory(t, pk, d.dn, 'Brightness', now - 86_400_000, now + 1000)).toEqual([
      { value: 10, time: iso(t1) },
      { value: 20, time: iso(t2) },
      { value: 80, time: iso(now) },
    ]);
    expect(await propertyHistory(t, pk, d.dn, 'DeviceLabel', now - 86_400_000, now + 1000)).toEqual([
      { value: 'offline-1', time: iso(t1) },
      { value: 'live', time: iso(now) },
    ]);
    // The live values are newer: they stay the latest. WorkingMode had no value yet, so the buffered one is the latest.
    expect(await latestProperties(t, pk, d.dn)).toEqual({
      Brightness: { value: 80, time: iso(now) },
      DeviceLabel: { value: 'live', time: iso(now) },
      WorkingMode: { value: 2, time: iso(t2) },
    });
    const events = await t.gql(
      `query($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!) { deviceEventHistory(productKey: $pk, deviceName: $dn, from: $from, to: $to) { edges { node { identifier eventType output time } } } }`,
      { pk, dn: d.dn, from: iso(now - 86_400_000), to: iso(now + 1000) },
    );
    expect(events.data.deviceEventHistory.edges.map((e: any) => e.node)).toEqual([
      { identifier: 'OverHeat', eventType: 'ALERT', output: { Temperature: 71.5 }, time: iso(t2) },
    ]);
  });

  it('replaces the latest value when a buffered value is newer than it', async () => {
    const d = await device(1);
    const now = Date.now();
    await d.live('1', { Brightness: { value: 30, time: now - 60_000 } });
    const reply = await d.history('2', [
      { identity: { productKey: pk, deviceName: d.dn }, properties: [{ Brightness: { value: 31, time: now } }] },
    ]);
    expect(reply.code).toBe(200);
    expect((await latestProperties(t, pk, d.dn)).Brightness).toEqual({ value: 31, time: iso(now) });
  });

  it('lists invalid buffered items in data (WEAK), stores the valid ones, and does not stream history as live posts', async () => {
    const d = await device(2);
    const { ws, subscribe } = adminLive(t);
    const live = subscribe(
      `subscription($pk: String, $dn: String) { devicePropertyPosted(productKey: $pk, deviceName: $dn) { requestId items } }`,
      { pk, dn: d.dn },
    );
    await sleep(200);
    const t1 = Date.now() - 600_000;
    const reply = await d.history('7', [
      {
        identity: { productKey: pk, deviceName: d.dn },
        properties: [{ Brightness: { value: 101, time: t1 }, LightSwitch: { value: 1, time: t1 } }],
      },
    ]);
    expect(reply).toMatchObject({
      id: '7',
      code: 200,
      data: { Brightness: 'tsl parse: value out of range [0, 100] -> Brightness' },
    });
    expect(await propertyHistory(t, pk, d.dn, 'LightSwitch', t1, t1)).toEqual([{ value: 1, time: iso(t1) }]);
    expect(await propertyHistory(t, pk, d.dn, 'Brightness', t1, t1)).toEqual([]);
    // A live post after it is the first item the live stream sees.
    await d.live('8', { LightSwitch: 0 });
    const [first] = await live.waitFor(1);
    expect(first.devicePropertyPosted.requestId).toBe('8');
    live.unsubscribe();
    await ws.dispose();
  });

  it('refuses a history post for another device with 6100 and stores nothing', async () => {
    const d = await device(2);
    const t1 = Date.now() - 300_000;
    const reply = await d.history('9', [
      {
        identity: { productKey: pk, deviceName: devs[0]!.deviceName },
        properties: [{ Brightness: { value: 55, time: t1 } }],
      },
    ]);
    expect(reply).toMatchObject({ id: '9', code: 6100 });
    expect(await propertyHistory(t, pk, devs[0]!.deviceName, 'Brightness', t1, t1)).toEqual([]);
    expect(await propertyHistory(t, pk, d.dn, 'Brightness', t1, t1)).toEqual([]);
  });
});
