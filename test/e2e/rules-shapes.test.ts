import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, nextMessage, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { hookServer, startedRule, type Hook } from './rules-support.ts';
import { waitFor } from '../helpers/wait.ts';
import { sensorTsl } from '../helpers/tsl-fixtures.ts';

const BEIJING_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * Rules on the platform's own topics see the reference's forwarding shapes (alink-protocol.md §5.5, §6): device
 * status, lifecycle, property and event posts and downlink replies, each driven by a real device and real GraphQL
 * calls and read back from what a real webhook endpoint receives (`SELECT *` gives the whole body).
 */
describe('rules on status, lifecycle, TSL posts and downlink replies', () => {
  const t = usePlatform('pglite');
  let pk: string;
  let hook: Hook;
  let dev: DeviceCreds;
  let iotId: string;
  let setMessageId: string;
  const byPath = (p: string) => hook.accepted().filter((r) => r.path === p);

  beforeAll(async () => {
    const p = await t.gql(`mutation($i: CreateProductInput!) { createProduct(input: $i) { product { productKey } } }`, {
      i: { name: 'Shapes', tsl: sensorTsl },
    });
    pk = p.data.createProduct.product.productKey;
    hook = await hookServer();
    const rules: [string, string][] = [
      ['/lifecycle', `SELECT *, topic() AS src FROM "/${pk}/+/thing/lifecycle"`],
      ['/status', `SELECT *, topic() AS src FROM "/as/mqtt/status/${pk}/+"`],
      [
        '/online',
        `SELECT deviceName() AS dn, productKey() AS pk, topic(4) AS level4, clientIp FROM "/as/mqtt/status/${pk}/+" WHERE status = 'online'`,
      ],
      ['/property', `SELECT *, topic() AS src FROM "/${pk}/+/thing/event/property/post"`],
      [
        '/event',
        `SELECT *, topic() AS src FROM "/${pk}/+/thing/event/HighTemperature/post" WHERE type = 'alert' AND value.Temperature > value.Threshold`,
      ],
      ['/downlink', `SELECT *, topic() AS src FROM "/${pk}/+/thing/downlink/reply/message"`],
    ];
    for (const [path, sql] of rules)
      await startedRule(t, path.slice(1), sql, [{ type: 'WEBHOOK', configuration: { url: hook.url(path) } }]);

    // The life of one device: registered, online, posts, answers a property set, offline, disabled.
    const reg = await t.gql(
      `mutation($i: RegisterDeviceInput!) { registerDevice(input: $i) { device { iotId deviceName } deviceSecret } }`,
      { i: { productKey: pk, deviceName: 'shape-dev' } },
    );
    iotId = reg.data.registerDevice.device.iotId;
    dev = { productKey: pk, deviceName: 'shape-dev', deviceSecret: reg.data.registerDevice.deviceSecret };
    const c = await connectDevice(t, 'tcp', dev);
    const sys = `/sys/${pk}/${dev.deviceName}`;
    await c.subscribeAsync(`${sys}/thing/service/property/set`, { qos: 1 });
    c.on('message', (topic, payload) => {
      if (topic !== `${sys}/thing/service/property/set`) return;
      const req = JSON.parse(payload.toString());
      c.publish(`${topic}_reply`, JSON.stringify({ id: req.id, code: 200, data: {} }), { qos: 1 });
    });
    for (const [topic, body] of [
      [
        `${sys}/thing/event/property/post`,
        { id: 'p1', params: { Temperature: 25.5 }, method: 'thing.event.property.post' },
      ],
      [
        `${sys}/thing/event/HighTemperature/post`,
        {
          id: 'e1',
          params: { value: { Temperature: 41, Threshold: 38 }, time: 1_700_000_000_000 },
          method: 'thing.event.HighTemperature.post',
        },
      ],
    ] as const) {
      const reply = nextMessage(c, (tp) => tp === `${topic}_reply`);
      await c.publishAsync(topic, JSON.stringify(body), { qos: 1 });
      expect(JSON.parse((await reply).payload.toString()).code).toBe(200);
    }
    const set = await t.gql(
      `mutation($i: SetDevicePropertyInput!) { setDeviceProperty(input: $i) { messageId userErrors { code message } } }`,
      {
        i: { productKey: pk, deviceName: dev.deviceName, items: { ReportInterval: 60 } },
      },
    );
    expect(set.data.setDeviceProperty.userErrors).toEqual([]);
    setMessageId = set.data.setDeviceProperty.messageId;
    await waitFor(() => byPath('/downlink'), {
      until: (r) => r.length >= 1,
      message: 'the downlink reply forwarded',
      timeout: 15_000,
    });
    await c.endAsync();
    await waitFor(() => byPath('/status'), {
      until: (r) => r.length >= 2,
      message: 'the offline status forwarded',
      timeout: 15_000,
    });
    const dis = await t.gql(`mutation($i: DisableDeviceInput!) { disableDevice(input: $i) { userErrors { code } } }`, {
      i: { productKey: pk, deviceName: dev.deviceName },
    });
    expect(dis.data.disableDevice.userErrors).toEqual([]);
    await waitFor(() => byPath('/lifecycle'), {
      until: (r) => r.length >= 2,
      message: 'the disable lifecycle forwarded',
      timeout: 15_000,
    });
  });
  afterAll(async () => {
    await hook?.down();
  });

  it('sees lifecycle changes on /pk/dn/thing/lifecycle with action, iotId and messageCreateTime, and no device secret (§6.6)', () => {
    const got = byPath('/lifecycle').map((r) => r.json);
    expect(got).toEqual(
      ['create', 'disable'].map((action) => ({
        action,
        iotId,
        productKey: pk,
        deviceName: 'shape-dev',
        messageCreateTime: expect.any(Number),
        src: `/${pk}/shape-dev/thing/lifecycle`,
      })),
    );
    expect(JSON.stringify(got)).not.toContain(dev.deviceSecret);
  });

  it('sees status changes on /as/mqtt/status/pk/dn with Beijing-time and UTC times, client IP, epoch and reason (§6.3, D15)', () => {
    const got = byPath('/status').map((r) => r.json);
    expect(got.map((s) => [s.status, s.connectionEpoch, s.reason])).toEqual([
      ['online', 1, null],
      ['offline', 1, 'CLIENT_DISCONNECT'],
    ]);
    for (const s of got) {
      expect(s).toMatchObject({
        productKey: pk,
        deviceName: 'shape-dev',
        iotId,
        src: `/as/mqtt/status/${pk}/shape-dev`,
      });
      expect(s.clientIp).toMatch(/127\.0\.0\.1/);
      expect(s.time).toMatch(BEIJING_TIME);
      expect(s.lastTime).toMatch(BEIJING_TIME);
      expect(s.utcTime).toMatch(ISO_TIME);
      expect(s.utcLastTime).toMatch(ISO_TIME);
      // The same instant: Beijing time is UTC+8.
      expect(new Date(`${s.lastTime.replace(' ', 'T')}+08:00`).toISOString()).toBe(s.utcLastTime);
    }
  });

  it('filters status events with WHERE and reads the device from deviceName(), productKey() and topic(n)', () => {
    expect(byPath('/online').map((r) => r.json)).toEqual([
      { dn: 'shape-dev', pk, level4: pk, clientIp: expect.stringMatching(/127\.0\.0\.1/) },
    ]);
  });

  it('sees property posts on /pk/dn/thing/event/property/post with items and checkFailedData (§6.4)', () => {
    expect(byPath('/property').map((r) => r.json)).toEqual([
      {
        iotId,
        requestId: 'p1',
        productKey: pk,
        deviceName: 'shape-dev',
        gmtCreate: expect.any(Number),
        items: { Temperature: { value: 25.5, time: expect.any(Number) } },
        checkFailedData: {},
        src: `/${pk}/shape-dev/thing/event/property/post`,
      },
    ]);
  });

  it('sees event posts on /pk/dn/thing/event/${id}/post with identifier, name, type, value and time (§6.5)', () => {
    expect(byPath('/event').map((r) => r.json)).toEqual([
      {
        identifier: 'HighTemperature',
        name: 'High temperature',
        type: 'alert',
        iotId,
        requestId: 'e1',
        productKey: pk,
        deviceName: 'shape-dev',
        gmtCreate: expect.any(Number),
        value: { Temperature: 41, Threshold: 38 },
        time: 1_700_000_000_000,
        checkFailedData: expect.any(Object),
        src: `/${pk}/shape-dev/thing/event/HighTemperature/post`,
      },
    ]);
  });

  it('sees downlink replies on /pk/dn/thing/downlink/reply/message with the request id, code and answered topic (§6.7)', () => {
    expect(byPath('/downlink').map((r) => r.json)).toEqual([
      {
        gmtCreate: expect.any(Number),
        iotId,
        productKey: pk,
        deviceName: 'shape-dev',
        requestId: setMessageId,
        code: 200,
        message: 'success',
        topic: `/sys/${pk}/shape-dev/thing/service/property/set`,
        data: {},
        src: `/${pk}/shape-dev/thing/downlink/reply/message`,
      },
    ]);
  });

  it('tells the webhook the forwarding topic of each delivery', () => {
    for (const r of hook.accepted()) {
      if (r.json?.src) expect(r.headers['x-thingql-topic']).toBe(r.json.src);
    }
    expect(byPath('/status')[0]!.headers['x-thingql-topic']).toBe(`/as/mqtt/status/${pk}/shape-dev`);
  });
});
