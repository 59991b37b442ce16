import { beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { Collected, wsClient } from '../helpers/graphql-ws.ts';
import mqtt from 'mqtt';
import { alinkLogin, connectDevice, nextMessage, productWithDevices } from '../helpers/devices.ts';
import type { DeviceCreds } from '../helpers/devices.ts';
import { sleep } from '../helpers/wait.ts';
import { useCluster } from '../helpers/use-platform.ts';
import { deviceState } from '../helpers/commands.ts';
import { PythonWireDevice } from '../helpers/python-wire.ts';
import { requireService } from '../helpers/services-env.ts';
import { lampTsl } from '../helpers/tsl-fixtures.ts';

const enabled = requireService('TEST_REDIS_URL', 'TEST_DATABASE_URL');

/** Answers RRPC and services like a Link SDK device. */
function answer(c: MqttClient, pk: string, dn: string) {
  c.on('message', (topic, payload) => {
    if (topic.startsWith(`/sys/${pk}/${dn}/rrpc/request/`)) {
      const id = topic.split('/').pop()!;
      const body = (() => {
        try {
          return JSON.parse(payload.toString());
        } catch {
          return null;
        }
      })();
      c.publish(
        `/sys/${pk}/${dn}/rrpc/response/${id}`,
        body?.method ? JSON.stringify({ id: body.id, code: 200, data: { Done: 1 } }) : `pong:${payload.toString()}`,
      );
    }
  });
}

describe.runIf(enabled)('two instances over one Redis and one PostgreSQL', () => {
  const { a, b } = useCluster();
  let pk: string;
  let devs: DeviceCreds[];
  beforeAll(async () => {
    ({ productKey: pk, devices: devs } = await productWithDevices(a, 4, { tsl: lampTsl }));
  });

  it('serves a device on A from GraphQL on B: status, messages, RRPC, sync services and broadcasts', async () => {
    const dev = devs[0]!;
    const ws = wsClient(b.wsUrl, b.adminToken);
    const status = Collected.subscribe(
      ws,
      `subscription($pk: String) { deviceStatusChanged(productKey: $pk) { status deviceName cursor } }`,
      { pk },
    );
    const msgs = Collected.subscribe(
      ws,
      `subscription($pk: String) { deviceMessages(productKey: $pk, topicFilter: "/+/+/user/#") { topic payloadText cursor } }`,
      { pk },
    );
    await sleep(300);
    const c = await connectDevice(a, 'tcp', dev);
    answer(c, pk, dev.deviceName);
    expect((await status.waitFor(1))[0].deviceStatusChanged).toMatchObject({
      status: 'ONLINE',
      deviceName: dev.deviceName,
    });
    await c.publishAsync(`/${pk}/${dev.deviceName}/user/update`, 'from A', { qos: 1 });
    expect((await msgs.waitFor(1))[0].deviceMessages).toMatchObject({ payloadText: 'from A' });

    const rrpc = await b.gql(`mutation($i: RrpcInput!) { rrpc(input: $i) { rrpcCode payloadText } }`, {
      i: { productKey: pk, deviceName: dev.deviceName, payload: 'ping', timeoutMs: 3000 },
    });
    expect(rrpc.data.rrpc).toEqual({ rrpcCode: 'SUCCESS', payloadText: 'pong:ping' });
    const blink = await b.gql(
      `mutation($i: InvokeThingServiceInput!) { invokeThingService(input: $i) { rrpcCode code output } }`,
      {
        i: {
          productKey: pk,
          deviceName: dev.deviceName,
          identifier: 'Blink',
          args: { Times: 1, IntervalMs: 100 },
          timeoutMs: 3000,
        },
      },
    );
    expect(blink.data.invokeThingService).toEqual({ rrpcCode: 'SUCCESS', code: 200, output: { Done: 1 } });

    const bc = nextMessage(c, (tp) => tp.startsWith(`/sys/${pk}/${dev.deviceName}/broadcast/request/`));
    await b.gql(`mutation($i: PubBroadcastInput!) { pubBroadcast(input: $i) { messageId } }`, {
      i: { productKey: pk, payload: 'to all' },
    });
    expect((await bc).payload.toString()).toBe('to all');

    // Resumable on either instance: resume on A after B's first message cursor.
    const cursor = msgs.items[0].deviceMessages.cursor;
    await c.publishAsync(`/${pk}/${dev.deviceName}/user/update`, 'second', { qos: 1 });
    await msgs.waitFor(2);
    const wsA = wsClient(a.wsUrl, a.adminToken);
    const resumed = Collected.subscribe(
      wsA,
      `subscription($pk: String, $after: String) { deviceMessages(productKey: $pk, after: $after, topicFilter: "/+/+/user/#") { payloadText cursor } }`,
      { pk, after: cursor },
    );
    expect((await resumed.waitFor(1)).map((m) => m.deviceMessages.payloadText)).toEqual(['second']);

    await c.endAsync();
    expect((await status.waitFor(2))[1].deviceStatusChanged.status).toBe('OFFLINE');
    for (const s of [status, msgs, resumed]) s.unsubscribe();
    await ws.dispose();
    await wsA.dispose();
  });

  it('moves a device from A to B: B takes over, A drops the old connection, and the device stays ONLINE', async () => {
    const dev = devs[1]!;
    const onA = await connectDevice(a, 'tcp', dev);
    const closed = new Promise<void>((r) => onA.once('close', () => r()));
    const onB = await connectDevice(b, 'tcp', dev);
    await closed;
    await sleep(300);
    const d = await a.gql(
      `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { state connectionEpoch } }`,
      { pk, dn: dev.deviceName },
    );
    expect(d.data.device).toEqual({ state: 'ONLINE', connectionEpoch: 2 });
    await onB.endAsync();
  });

  it('sends a sync service from B in the RRPC form of the session on A (D21: ext=1 kept with presence)', async () => {
    const dev = devs[3]!;
    const d = await PythonWireDevice.connect(a, dev);
    try {
      await deviceState(b, pk, dev.deviceName, 'ONLINE');
      const call = b.gql(
        `mutation($i: InvokeThingServiceInput!) { invokeThingService(input: $i) { rrpcCode code output } }`,
        {
          i: { productKey: pk, deviceName: dev.deviceName, identifier: 'Blink', args: { Times: 1 }, timeoutMs: 5000 },
        },
      );
      const { topic, body } = await d.nextWithPrefix('/ext/rrpc/');
      expect(topic).toBe(`/ext/rrpc/${body.id}/sys/${pk}/${dev.deviceName}/thing/service/Blink`);
      await d.publish(topic, { id: body.id, code: 200, data: { Done: 1 } });
      expect((await call).data.invokeThingService).toEqual({ rrpcCode: 'SUCCESS', code: 200, output: { Done: 1 } });
    } finally {
      await d.end();
    }
  });

  it('moves a persistent session from A to B when A goes away: the device finds its session and its queued commands on B', async () => {
    const dev = devs[2]!;
    const login = alinkLogin(dev, { clientId: `${pk}&${dev.deviceName}` });
    const opts = { ...login, clean: false, reconnectPeriod: 0 };
    const onA = await mqtt.connectAsync(`mqtt://127.0.0.1:${a.platform.mqttPort}`, opts);
    await sleep(300);
    await a.close();
    await new Promise<void>((r) => (onA.connected ? onA.once('close', () => r()) : r()));
    // While the device is offline, a command is sent through B.
    const set = await b.gql(
      `mutation($i: SetDevicePropertyInput!) { setDeviceProperty(input: $i) { messageId userErrors { code } } }`,
      { i: { productKey: pk, deviceName: dev.deviceName, items: { Brightness: 12 } } },
    );
    expect(set.data.setDeviceProperty.userErrors).toEqual([]);
    const received: string[] = [];
    const onB = mqtt.connect(`mqtt://127.0.0.1:${b.platform.mqttPort}`, opts);
    const connack = await new Promise<{ sessionPresent: boolean }>((r) =>
      onB.once('connect', (p) => r(p as { sessionPresent: boolean })),
    );
    onB.on('message', (topic) => received.push(topic));
    for (let i = 0; i < 50 && received.length === 0; i++) await sleep(100);
    expect(connack.sessionPresent).toBe(true);
    expect(received).toEqual([`/sys/${pk}/${dev.deviceName}/thing/service/property/set`]);
    await onB.endAsync();
  });
});
