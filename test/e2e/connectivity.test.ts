import { beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { adminLive } from '../helpers/graphql-ws.ts';
import { alinkLogin, brokerUrl, connectDevice, nextMessage, productWithDevices } from '../helpers/devices.ts';
import type { DeviceCreds, Transport } from '../helpers/devices.ts';
import { sleep } from '../helpers/wait.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import { usePlatform } from '../helpers/use-platform.ts';

const STATUS = `subscription($pk: String, $dn: String, $after: String) { deviceStatusChanged(productKey: $pk, deviceName: $dn, after: $after) { status deviceName connectionEpoch reason clientIp cursor } }`;
const DEVICE = `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { state activatedAt lastOnlineAt lastOfflineAt clientIp connectionEpoch } }`;

function refusedCode(
  t: TestPlatform,
  transport: Transport,
  login: { clientId: string; username: string; password: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(brokerUrl(t, transport), { ...login, reconnectPeriod: 0, connectTimeout: 5000 });
    c.on('connect', () => {
      c.end(true);
      reject(new Error('connection was accepted'));
    });
    c.on('error', (err: Error & { code?: number }) => {
      c.end(true);
      resolve(err.code ?? -1);
    });
  });
}

describe.each<Transport>(['tcp', 'ws'])('device connectivity over MQTT/%s', (transport) => {
  const t = usePlatform('pglite');
  let pk: string;
  let devs: DeviceCreds[];
  beforeAll(async () => {
    ({ productKey: pk, devices: devs } = await productWithDevices(t, 8));
  });

  it('logs in with each signmethod, goes ONLINE then OFFLINE in order on a graphql-ws subscription', async () => {
    const { ws, fromNow } = adminLive(t);
    const status = await fromNow(STATUS, { pk, dn: devs[0]!.deviceName });
    for (const signMethod of ['hmacmd5', 'hmacsha1', 'hmacsha256'] as const) {
      const c = await connectDevice(t, transport, devs[0]!, { signMethod });
      await c.endAsync();
      await sleep(50);
    }
    const events = await status.waitFor(6);
    expect(events.map((e) => e.deviceStatusChanged.status)).toEqual([
      'ONLINE',
      'OFFLINE',
      'ONLINE',
      'OFFLINE',
      'ONLINE',
      'OFFLINE',
    ]);
    expect(events.map((e) => e.deviceStatusChanged.connectionEpoch)).toEqual([1, 1, 2, 2, 3, 3]);
    expect(events[1].deviceStatusChanged.reason).toBe('CLIENT_DISCONNECT');
    expect(events[0].deviceStatusChanged.clientIp).toBe('127.0.0.1');
    const d = await t.gql(DEVICE, { pk, dn: devs[0]!.deviceName });
    expect(d.data.device).toMatchObject({ state: 'OFFLINE', clientIp: '127.0.0.1', connectionEpoch: 3 });
    expect(d.data.device.activatedAt).not.toBeNull();
    status.unsubscribe();
    await ws.dispose();
  });

  it('refuses a wrong secret, an unknown device and a malformed ClientId with CONNACK 4, a disabled device with 5, and changes nothing', async () => {
    const dev = devs[1]!;
    expect(await refusedCode(t, transport, alinkLogin({ ...dev, deviceSecret: 'f'.repeat(32) }))).toBe(4);
    expect(await refusedCode(t, transport, alinkLogin({ ...dev, deviceName: 'no-such-device' }))).toBe(4);
    expect(await refusedCode(t, transport, { ...alinkLogin(dev), clientId: 'plain-client-id' })).toBe(4);
    expect(await refusedCode(t, transport, { ...alinkLogin(dev), username: 'garbage' })).toBe(4);
    await t.gql(`mutation($i: DisableDeviceInput!) { disableDevice(input: $i) { userErrors { code } } }`, {
      i: { productKey: pk, deviceName: dev.deviceName },
    });
    expect(await refusedCode(t, transport, alinkLogin(dev))).toBe(5);
    // A disabled device with a wrong secret learns nothing about being disabled (D1).
    expect(await refusedCode(t, transport, alinkLogin({ ...dev, deviceSecret: '0'.repeat(32) }))).toBe(4);
    const d = await t.gql(DEVICE, { pk, dn: dev.deviceName });
    expect(d.data.device).toMatchObject({
      state: 'DISABLED',
      activatedAt: null,
      lastOnlineAt: null,
      connectionEpoch: 0,
    });
  });

  it('accepts upper-case hex signatures (C SDK) and the Node SDK form of ClientId', async () => {
    const dev = devs[2]!;
    const c = await mqtt.connectAsync(brokerUrl(t, transport), {
      ...alinkLogin(dev, { upper: true, signMethod: 'hmacmd5' }),
      reconnectPeriod: 0,
    });
    await c.endAsync();
    const c2 = await mqtt.connectAsync(brokerUrl(t, transport), {
      ...alinkLogin(dev, { clientId: `${pk}&${dev.deviceName}` }),
      reconnectPeriod: 0,
    });
    await c2.endAsync();
  });

  it("denies another device's topics: SUBACK 0x80 for subscriptions, disconnect for publishes, and nothing reaches the other device", async () => {
    const [a, b] = [devs[3]!, devs[4]!];
    const victim = await connectDevice(t, transport, b);
    await victim.subscribeAsync(`/${pk}/${b.deviceName}/user/get`);
    const received: string[] = [];
    victim.on('message', (topic) => received.push(topic));
    const attacker = await connectDevice(t, transport, a);
    const filters = [
      `/sys/${pk}/${b.deviceName}/thing/service/property/set`,
      `/sys/${pk}/+/thing/service/property/set`,
      `/sys/${pk}/#`,
      '#',
      `/${pk}/+/user/get`,
      `/sys/a1Other0001/${a.deviceName}/thing/#`,
      `/${pk}/${b.deviceName}/user/get`,
    ];
    for (const f of filters) {
      const granted = await attacker.subscribeAsync(f).catch((e: any) => e.packet?.granted ?? e.granted);
      const g = Array.isArray(granted) ? (typeof granted[0] === 'number' ? granted[0] : granted[0].qos) : granted;
      expect(g, f).toBe(128);
    }
    // Its own topics are granted.
    const own = await attacker.subscribeAsync(`/sys/${pk}/${a.deviceName}/thing/service/+`);
    expect(own[0]!.qos).toBe(0);
    // A publish to another device's topic disconnects the publisher.
    const closed = new Promise<void>((r) => attacker.once('close', () => r()));
    attacker.publish(`/${pk}/${b.deviceName}/user/update`, 'evil', { qos: 1 });
    await closed;
    // The victim must receive nothing: this window proves a negative, so it is a real delay.
    await sleep(200);
    expect(received).toEqual([]);
    await victim.endAsync();
  });

  it('streams custom-topic publishes as deviceMessages with binary payloads unchanged, filtered by MQTT topic filter', async () => {
    const dev = devs[5]!;
    const { ws, fromNow } = adminLive(t);
    const msgs = await fromNow(
      `subscription($pk: String, $f: String, $after: String) { deviceMessages(productKey: $pk, topicFilter: $f, after: $after) { topic qos payloadBase64 payloadText payloadJson messageId deviceName cursor } }`,
      {
        pk,
        f: `/${pk}/+/user/#`,
      },
    );
    const c = await connectDevice(t, transport, dev);
    const binary = Buffer.from([0, 1, 2, 254, 255, 0x80, 0xc3]);
    await c.publishAsync(`/${pk}/${dev.deviceName}/user/update`, binary, { qos: 1 });
    await c.publishAsync(`/sys/${pk}/${dev.deviceName}/thing/event/property/post`, '{"id":"1","params":{}}', {
      qos: 0,
    });
    await c.publishAsync(`/${pk}/${dev.deviceName}/user/update/error`, '{"err":1}', { qos: 0 });
    const got = await msgs.waitFor(2);
    expect(got[0].deviceMessages).toMatchObject({
      topic: `/${pk}/${dev.deviceName}/user/update`,
      qos: 1,
      payloadText: null,
      payloadJson: null,
    });
    expect(Buffer.from(got[0].deviceMessages.payloadBase64, 'base64').equals(binary)).toBe(true);
    expect(got[1].deviceMessages).toMatchObject({
      topic: `/${pk}/${dev.deviceName}/user/update/error`,
      payloadText: '{"err":1}',
      payloadJson: { err: 1 },
    });
    expect(BigInt(got[1].deviceMessages.messageId)).toBeGreaterThan(BigInt(got[0].deviceMessages.messageId));
    await c.endAsync();
    msgs.unsubscribe();
    await ws.dispose();
  });

  it('answers NTP requests (D16) and subscribes the device to its downstream topics at login (D19)', async () => {
    const dev = devs[6]!;
    const c = await connectDevice(t, transport, dev);
    const reply = nextMessage(c, (topic) => topic === `/ext/ntp/${pk}/${dev.deviceName}/response`);
    const sent = Date.now();
    await c.publishAsync(`/ext/ntp/${pk}/${dev.deviceName}/request`, JSON.stringify({ deviceSendTime: String(sent) }), {
      qos: 0,
    });
    const r = JSON.parse((await reply).payload.toString());
    expect(r.deviceSendTime).toBe(String(sent));
    expect(Number(r.serverRecvTime)).toBeGreaterThanOrEqual(sent);
    expect(Number(r.serverSendTime)).toBeGreaterThanOrEqual(Number(r.serverRecvTime));
    await c.endAsync();
  });

  it('disconnects a device at once when it is disabled, with reason KICKED', async () => {
    const dev = devs[7]!;
    const { ws, fromNow } = adminLive(t);
    const status = await fromNow(STATUS, { pk, dn: dev.deviceName });
    const c = await connectDevice(t, transport, dev);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    await t.gql(`mutation($i: DisableDeviceInput!) { disableDevice(input: $i) { userErrors { code } } }`, {
      i: { productKey: pk, deviceName: dev.deviceName },
    });
    await closed;
    const ev = await status.waitFor(2);
    expect(ev[1].deviceStatusChanged).toMatchObject({ status: 'OFFLINE', reason: 'KICKED' });
    await t.gql(`mutation($i: EnableDeviceInput!) { enableDevice(input: $i) { userErrors { code } } }`, {
      i: { productKey: pk, deviceName: dev.deviceName },
    });
    status.unsubscribe();
    await ws.dispose();
  });
});
