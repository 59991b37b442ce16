/**
 * A device written with Alibaba's Node.js Link SDK 1.2.8, unchanged, posts smart-lamp properties and events
 * (`device.postProps`, `device.postEvent`, lib/thing.js): its callbacks get 200, a GraphQL subscriber sees every post,
 * and the history and series queries return them.
 */
import { beforeAll, expect, it } from 'vitest';
import { Collected, wsClient } from '../helpers/graphql-ws.ts';
import { productWithDevices, sleep, type DeviceCreds } from '../helpers/devices.ts';
import { sdkDevice } from '../helpers/link-sdk.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { lampTsl, latestProperties, propertyHistory } from '../helpers/thing-posts.ts';
import { describeEachDb } from '../helpers/services-env.ts';

interface SdkReply {
  id: string;
  code: number;
  data: unknown;
  message: string;
  method: string;
  version: string;
}

type ThingDevice = ReturnType<typeof sdkDevice>['device'] & {
  postProps(params: Record<string, unknown>, cb: (res: SdkReply) => void): void;
  postEvent(eventId: string, params: Record<string, unknown>, cb: (res: SdkReply) => void): void;
};

/** The SDK calls back only with the reply (no error argument); a missing reply is a timeout here. */
function call(fn: (cb: (res: SdkReply) => void) => void, what: string, timeoutMs = 5000): Promise<SdkReply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${what}`)), timeoutMs);
    fn((res) => {
      clearTimeout(timer);
      resolve(res);
    });
  });
}

describeEachDb('a Link SDK device posting thing model data on %s', (kind) => {
  const t = usePlatform(kind);
  let pk: string;
  let dev: DeviceCreds;
  beforeAll(async () => {
    ({
      productKey: pk,
      devices: [dev],
    } = (await productWithDevices(t, 1, { tsl: lampTsl })) as { productKey: string; devices: [DeviceCreds] });
  });

  it('gets 200 for postProps and postEvent, and every post is streamed and queryable', async () => {
    const ws = wsClient(t.wsUrl, t.adminToken);
    const props = Collected.subscribe(
      ws,
      `subscription($pk: String, $dn: String) { devicePropertyPosted(productKey: $pk, deviceName: $dn) { requestId deviceName items checkFailedData } }`,
      { pk, dn: dev.deviceName },
    );
    const events = Collected.subscribe(
      ws,
      `subscription($pk: String, $dn: String) { deviceEventPosted(productKey: $pk, deviceName: $dn) { requestId identifier type value time } }`,
      { pk, dn: dev.deviceName },
    );
    await sleep(300);

    const sdk = sdkDevice({ ...dev, brokerUrl: `mqtt://127.0.0.1:${t.platform.mqttPort}` });
    await sdk.connected;
    const device = sdk.device as ThingDevice;
    const start = Date.now();

    const posts = [
      { LightSwitch: 1, Brightness: 20, DeviceLabel: 'desk' },
      {
        Brightness: 40,
        WorkingMode: 2,
        GeoLocation: { Longitude: 120.15, Latitude: 30.28, Altitude: 12.5, CoordinateSystem: 1 },
      },
      { Brightness: 60, PowerConsumption: 7.5, RecentPower: [7.5, 7.25] },
      { Brightness: 80, LightSwitch: 0, LastMaintenance: '1767225600000' },
    ];
    const propReplies: SdkReply[] = [];
    for (const params of posts) {
      const res = await call((cb) => device.postProps(params, cb), 'postProps');
      propReplies.push(res);
    }
    for (const res of propReplies) {
      // The SDK's id is `${n}|exp-topic|${replyTopic}` (lib/thing.js _genAlinkMessageId); echoed exactly (D11).
      expect(res).toEqual({
        id: expect.stringMatching(
          new RegExp(`^\\d+\\|exp-topic\\|/sys/${pk}/${dev.deviceName}/thing/event/property/post_reply$`),
        ),
        code: 200,
        data: {},
        message: 'success',
        method: 'thing.event.property.post',
        version: '1.0',
      });
    }

    // The SDK README's form (output data as params) and the Alink form (§3.6: {value, time}).
    const alarmTime = start - 5000;
    const overheat = await call((cb) => device.postEvent('OverHeat', { Temperature: 88.5 }, cb), 'postEvent OverHeat');
    const fault = await call(
      (cb) => device.postEvent('Fault', { value: { ErrorCode: 7, Detail: 'fan stuck' }, time: alarmTime }, cb),
      'postEvent Fault',
    );
    expect(overheat).toMatchObject({ code: 200, data: {}, method: 'thing.event.OverHeat.post' });
    expect(fault).toMatchObject({ code: 200, data: {}, method: 'thing.event.Fault.post' });
    const end = Date.now();

    const streamed = (await props.waitFor(posts.length)).map((i) => i.devicePropertyPosted);
    expect(streamed.map((p) => p.requestId)).toEqual(propReplies.map((r) => r.id));
    streamed.forEach((p, i) => {
      expect(p.deviceName).toBe(dev.deviceName);
      expect(p.checkFailedData).toEqual({});
      expect(
        Object.fromEntries(Object.entries(p.items as Record<string, { value: unknown }>).map(([k, v]) => [k, v.value])),
      ).toEqual(posts[i]);
    });
    const ev = (await events.waitFor(2)).map((i) => i.deviceEventPosted);
    expect(ev).toEqual([
      {
        requestId: overheat.id,
        identifier: 'OverHeat',
        type: 'ALERT',
        value: { Temperature: 88.5 },
        time: expect.any(String),
      },
      {
        requestId: fault.id,
        identifier: 'Fault',
        type: 'ERROR',
        value: { ErrorCode: 7, Detail: 'fan stuck' },
        time: new Date(alarmTime).toISOString(),
      },
    ]);

    const from = start - 60_000;
    const to = end + 60_000;
    const brightness = await propertyHistory(t, pk, dev.deviceName, 'Brightness', from, to);
    expect(brightness.map((p) => p.value)).toEqual([20, 40, 60, 80]);
    for (const p of brightness) expect(Date.parse(p.time)).toBeGreaterThanOrEqual(start - 1000);
    expect((await propertyHistory(t, pk, dev.deviceName, 'GeoLocation', from, to)).map((p) => p.value)).toEqual([
      posts[1]!.GeoLocation,
    ]);

    const series = await t.gql(
      `query($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!) { devicePropertySeries(productKey: $pk, deviceName: $dn, identifier: "Brightness", from: $from, to: $to, interval: "1h", aggregations: [AVG, MIN, MAX, COUNT, FIRST, LAST]) { start count avg min max first last } }`,
      { pk, dn: dev.deviceName, from: new Date(from).toISOString(), to: new Date(to).toISOString() },
    );
    expect(series.data.devicePropertySeries).toEqual([
      { start: new Date(from).toISOString(), count: 4, avg: 50, min: 20, max: 80, first: 20, last: 80 },
    ]);

    const eventHistory = await t.gql(
      `query($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!) { deviceEventHistory(productKey: $pk, deviceName: $dn, from: $from, to: $to, order: ASC) { edges { node { identifier eventType output time } } } }`,
      { pk, dn: dev.deviceName, from: new Date(from).toISOString(), to: new Date(to).toISOString() },
    );
    expect(
      eventHistory.data.deviceEventHistory.edges.map((e: any) => [e.node.identifier, e.node.eventType, e.node.output]),
    ).toEqual([
      ['Fault', 'ERROR', { ErrorCode: 7, Detail: 'fan stuck' }],
      ['OverHeat', 'ALERT', { Temperature: 88.5 }],
    ]);

    const latest = await latestProperties(t, pk, dev.deviceName);
    expect(Object.fromEntries(Object.entries(latest).map(([k, v]) => [k, v.value]))).toEqual(
      Object.assign({}, ...posts),
    );

    await sdk.end();
    props.unsubscribe();
    events.unsubscribe();
    await ws.dispose();
  });
});
