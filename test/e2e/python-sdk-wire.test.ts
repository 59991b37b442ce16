import { createHmac } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoSubscriptions } from '../../src/broker/auto-subscriptions.ts';
import { captureBrokers, liveClientsOf } from '../helpers/aedes-spy.ts';
import { autoSubscribed, command, commandRow, deviceState } from '../helpers/commands.ts';
import { waitFor } from '../helpers/wait.ts';
import { productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { PythonWireDevice } from '../helpers/python-wire.ts';
import { lampTsl } from '../helpers/tsl-fixtures.ts';

/**
 * A device that sends EXACTLY what Alibaba's Python Link SDK 1.2.13 sends (test/helpers/python-wire.ts:
 * its ClientId with `ext=1,_ss=1`, its ids, no SUBSCRIBE at all, dispatch by exact topic) gets every reply and every
 * command: D21 (sync services over /ext/rrpc), D22 (platform-side subscription), D23 (OTA pull), D24 (batch login).
 */
describe('a device speaking the Python Link SDK wire form', () => {
  let t: TestPlatform;
  let spy: ReturnType<typeof captureBrokers>;
  let pk: string;
  let dev: DeviceCreds;
  let cDev3: DeviceCreds;
  let cDev4: DeviceCreds;
  let d: PythonWireDevice;

  beforeAll(async () => {
    spy = captureBrokers();
    t = await startTestPlatform('pglite');
    ({
      productKey: pk,
      devices: [dev, cDev3, cDev4],
    } = (await productWithDevices(t, 3, { tsl: lampTsl })) as {
      productKey: string;
      devices: [DeviceCreds, DeviceCreds, DeviceCreds];
    });
    d = await PythonWireDevice.connect(t, dev);
    await deviceState(t, pk, dev.deviceName, 'ONLINE');
  });
  afterAll(async () => {
    await d?.end().catch(() => {});
    await t?.close();
    spy?.restore();
  });

  const sys = (suffix: string, c: DeviceCreds = dev) => `/sys/${c.productKey}/${c.deviceName}/${suffix}`;

  it("holds no subscription of its own: every one of its session is the platform's (D22)", async () => {
    await autoSubscribed(() => spy.broker(), pk, dev.deviceName);
    const live = liveClientsOf(spy.broker(), pk, dev.deviceName)[0]!;
    expect(Object.keys(live.subscriptions).sort()).toEqual([...autoSubscriptions(pk, dev.deviceName)].sort());
    expect(Object.keys(live.subscriptions)).toContain(`/ext/rrpc/+/sys/${pk}/${dev.deviceName}/thing/service/+`);
    expect(Object.keys(live.subscriptions)).toContain(`/shadow/get/${pk}/${dev.deviceName}`);
  });

  it('posts properties and events and gets their replies, echoing its ids', async () => {
    const id = d.nextId();
    const post = await d.request(
      sys('thing/event/property/post'),
      { id, version: '1.0', params: { Brightness: 42, LightSwitch: 1 }, method: 'thing.event.property.post' },
      1,
    );
    expect(post).toMatchObject({ id, code: 200, message: 'success' });
    const eid = d.nextId();
    const event = await d.request(sys('thing/event/Fault/post'), {
      id: eid,
      version: '1.0',
      params: { value: { ErrorCode: 3, Detail: 'fan' } },
      method: 'thing.event.Fault.post',
    });
    expect(event).toMatchObject({ id: eid, code: 200 });
    const r = await t.gql(
      `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { properties { identifier value } } }`,
      { pk, dn: dev.deviceName },
    );
    expect(r.data.device.properties).toEqual(
      expect.arrayContaining([
        { identifier: 'Brightness', value: 42 },
        { identifier: 'LightSwitch', value: 1 },
      ]),
    );
  });

  it('takes a property set and an async service on their /sys/ topics and answers them', async () => {
    const set = await command(t, 'setDeviceProperty', {
      productKey: pk,
      deviceName: dev.deviceName,
      items: { Brightness: 7 },
    });
    const req = await d.next(sys('thing/service/property/set'));
    expect(req).toMatchObject({ id: set.messageId, method: 'thing.service.property.set', params: { Brightness: 7 } });
    // linkkit.py answers a property set with QoS 1 and `{"id", "code": 200, "data": {}}`.
    await d.publish(sys('thing/service/property/set_reply'), { id: req.id, code: 200, data: {} }, 1);
    await waitFor(() => commandRow(t, set.messageId), {
      until: (row) => row?.status === 'REPLIED',
      message: 'property set answered',
    });

    const reboot = await command(t, 'invokeThingService', {
      productKey: pk,
      deviceName: dev.deviceName,
      identifier: 'Reboot',
      args: { DelaySeconds: 5 },
    });
    expect(reboot).toMatchObject({ callType: 'ASYNC', rrpcCode: null });
    const call = await d.next(sys('thing/service/Reboot'));
    expect(call).toMatchObject({ id: reboot.messageId, method: 'thing.service.Reboot', params: { DelaySeconds: 5 } });
    await d.publish(sys('thing/service/Reboot_reply'), { id: call.id, code: 200, data: { Accepted: 1 } });
    const row = await waitFor(() => commandRow(t, reboot.messageId), {
      until: (r) => r?.status === 'REPLIED',
      message: 'service answered',
    });
    expect(row!.output).toEqual({ Accepted: 1 });
  });

  it('takes sync services and RRPC on /ext/rrpc/${id}/sys/... and answers on the same topic (D21)', async () => {
    const prefix = `/ext/rrpc/`;
    const answer = async (data: unknown) => {
      const { topic, body } = await d.nextWithPrefix(prefix);
      expect(topic).toMatch(new RegExp(`^/ext/rrpc/\\d+/sys/${pk}/${dev.deviceName}/thing/service/Blink$`));
      expect(typeof body.id).toBe('string');
      expect(body).toMatchObject({ method: 'thing.service.Blink', version: '1.0' });
      // linkkit.py thing_answer_service: the reply goes to the topic the request came on.
      await d.publish(topic, { id: body.id, code: 200, data });
      return body;
    };

    const [sync, got] = await Promise.all([
      command(t, 'invokeThingService', {
        productKey: pk,
        deviceName: dev.deviceName,
        identifier: 'Blink',
        args: { Times: 2 },
        timeoutMs: 5000,
      }),
      answer({ Done: 1 }),
    ]);
    expect(got.params).toEqual({ Times: 2 });
    expect(got.id).toBe(sync.messageId);
    expect(sync).toMatchObject({
      callType: 'SYNC',
      rrpcCode: 'SUCCESS',
      code: 200,
      output: { Done: 1 },
      userErrors: [],
    });

    // rrpc with an Alink service call reaches the same handler and returns the device's answer as sent.
    const payload = JSON.stringify({ id: '1', version: '1.0', params: { Times: 1 }, method: 'thing.service.Blink' });
    const [rrpc] = await Promise.all([
      command(t, 'rrpc', { productKey: pk, deviceName: dev.deviceName, payload, timeoutMs: 5000 }),
      answer({ Done: 0 }),
    ]);
    expect(rrpc.rrpcCode).toBe('SUCCESS');
    expect(JSON.parse(rrpc.payloadText)).toMatchObject({ code: 200, data: { Done: 0 } });

    // invokeThingsService sends sync services in the same form; the answer completes the recorded command.
    const [batch] = await Promise.all([
      command(t, 'invokeThingsService', {
        productKey: pk,
        deviceNames: [dev.deviceName],
        identifier: 'Blink',
        args: { Times: 3 },
      }),
      answer({ Done: 1 }),
    ]);
    const row = await waitFor(() => commandRow(t, batch.results[0].messageId), {
      until: (r) => r?.status === 'REPLIED',
      message: 'batch sync service answered',
    });
    expect(row!.output).toEqual({ Done: 1 });
    // Nothing went to the D12 topic this device cannot handle.
    expect(d.topics.filter((tp) => tp.includes('/rrpc/request/'))).toEqual([]);
  });

  it('pulls firmware on thing/ota/firmware/get with a numeric id: {} without a task, the package with one (D23)', async () => {
    const pull = async (id: number, module?: string) => {
      const reply = d.next(sys('thing/ota/firmware/get_reply'));
      // linkkit.py query_ota_firmware: '{"id": %s, "params": {...}}', no method, QoS 0.
      await d.publish(
        sys('thing/ota/firmware/get'),
        `{"id": ${id}, "params": {${module ? `"module": "${module}"` : ''}}}`,
      );
      return reply;
    };
    const none = await pull(11);
    expect(none).toEqual({
      id: 11,
      code: 200,
      data: {},
      message: 'success',
      method: 'thing.ota.firmware.get',
      version: '1.0',
    });

    const fw = await t.gql(
      `mutation($i: CreateFirmwareInput!) { createFirmware(input: $i) { firmware { id } userErrors { code message } } }`,
      {
        i: {
          productKey: pk,
          name: 'Main',
          version: '3.1.0',
          url: 'https://example.com/fw-3.1.0.bin',
          size: 1234,
          md5: 'a'.repeat(32),
        },
      },
    );
    expect(fw.data.createFirmware.userErrors).toEqual([]);
    const job = await t.gql(
      `mutation($i: CreateOtaJobInput!) { createOtaJob(input: $i) { job { jobId } userErrors { code message } } }`,
      {
        i: { firmwareId: fw.data.createFirmware.firmware.id, deviceNames: [dev.deviceName] },
      },
    );
    expect(job.data.createOtaJob.userErrors).toEqual([]);
    const withTask = await pull(12);
    expect(withTask).toMatchObject({
      id: 12,
      code: 200,
      data: {
        version: '3.1.0',
        size: 1234,
        url: 'https://example.com/fw-3.1.0.bin',
        md5: 'a'.repeat(32),
        sign: 'a'.repeat(32),
        signMethod: 'Md5',
        module: 'default',
      },
    });
    // Another module has nothing waiting.
    expect((await pull(13, 'MCU')).data).toEqual({});
    // linkkit.py ota_report_version: '{"id": 1,"params": {"version":"..."}}' (numeric id, no method) completes the task.
    await d.publish(`/ota/device/inform/${pk}/${dev.deviceName}`, `{"id": 1,"params": {"version":"3.1.0"}}`, 0);
    const jobId = job.data.createOtaJob.job.jobId;
    await waitFor(
      async () =>
        (
          await t.gql(`query($id: ID!) { otaJob(id: $id) { tasks(first: 5) { edges { node { status } } } } }`, {
            id: jobId,
          })
        ).data.otaJob.tasks.edges.map((e: any) => e.node.status),
      { until: (s) => s.length === 1 && s[0] === 'SUCCEEDED', message: 'the task completed by the reported version' },
    );
  });

  it('sends sync services in the form the C Link SDK ClientId asks for: 4.x (ext=3) on /ext/rrpc, 3.x (ext=0) on rrpc/request', async () => {
    // core_auth_mqtt_clientid (4.x) and IOT_MQTT_Construct defaults (3.x): `${pk}.${dn}`, fixed timestamp, HMAC-SHA256.
    const login = (c: DeviceCreds, block: string) => ({
      clientId: `${c.productKey}.${c.deviceName}|${block}|`,
      username: `${c.deviceName}&${c.productKey}`,
      password: createHmac('sha256', c.deviceSecret)
        .update(
          `clientId${c.productKey}.${c.deviceName}deviceName${c.deviceName}productKey${c.productKey}timestamp2524608000000`,
        )
        .digest('hex')
        .toUpperCase(),
    });
    const c4 = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.platform.mqttPort}`, {
      ...login(cDev4, 'timestamp=2524608000000,_ss=1,_v=sdk-c-4.1.0,securemode=3,signmethod=hmacsha256,ext=3,'),
      reconnectPeriod: 0,
    });
    const c3 = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.platform.mqttPort}`, {
      ...login(
        cDev3,
        'timestamp=2524608000000,_v=sdk-c-3.1.0,securemode=3,signmethod=hmacsha256,lan=C,_ss=1,gw=0,ext=0',
      ),
      reconnectPeriod: 0,
    });
    try {
      for (const [c, cd] of [
        [c4, cDev4],
        [c3, cDev3],
      ] as const) {
        await deviceState(t, pk, cd.deviceName, 'ONLINE');
        const arrived = new Promise<string>((resolve) => c.once('message', (topic) => resolve(topic)));
        const call = command(t, 'invokeThingService', {
          productKey: pk,
          deviceName: cd.deviceName,
          identifier: 'Blink',
          args: { Times: 1 },
          timeoutMs: 5000,
        });
        const topic = await arrived;
        const id = topic.split('/')[c === c4 ? 3 : 6]!;
        expect(topic).toBe(
          c === c4
            ? `/ext/rrpc/${id}/sys/${pk}/${cd.deviceName}/thing/service/Blink`
            : `/sys/${pk}/${cd.deviceName}/rrpc/request/${id}`,
        );
        await c.publishAsync(
          c === c4 ? topic : `/sys/${pk}/${cd.deviceName}/rrpc/response/${id}`,
          JSON.stringify({ id, code: 200, data: { Done: 1 } }),
        );
        expect(await call).toMatchObject({ rrpcCode: 'SUCCESS', output: { Done: 1 } });
      }
    } finally {
      await Promise.all([c4.endAsync(), c3.endAsync()]);
    }
  });

  it('reports tags and gets the reply', async () => {
    const id = d.nextId();
    const r = await d.request(sys('thing/deviceinfo/update'), {
      id,
      version: '1.0',
      params: [{ attrKey: 'room', attrValue: 'lab' }],
      method: 'thing.deviceinfo.update',
    });
    expect(r).toMatchObject({ id, code: 200 });
    const tags = await t.gql(
      `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { tags { attrKey attrValue } } }`,
      { pk, dn: dev.deviceName },
    );
    expect(tags.data.device.tags).toEqual([{ attrKey: 'room', attrValue: 'lab' }]);
  });
});

describe('a gateway speaking the Python Link SDK wire form', () => {
  let t: TestPlatform;
  let gw: DeviceCreds;
  let subs: DeviceCreds[];
  let g: PythonWireDevice;

  beforeAll(async () => {
    t = await startTestPlatform('pglite');
    gw = (await productWithDevices(t, 1, { nodeType: 'GATEWAY' })).devices[0]!;
    ({ devices: subs } = await productWithDevices(t, 2, { tsl: lampTsl }));
    g = await PythonWireDevice.connect(t, gw);
  });
  afterAll(async () => {
    await g?.end().catch(() => {});
    await t?.close();
  });

  const gwSys = (suffix: string) => `/sys/${gw.productKey}/${gw.deviceName}/${suffix}`;
  const session = (action: string) => `/ext/session/${gw.productKey}/${gw.deviceName}/combine/${action}`;
  const sha256 = (key: string, content: string) => createHmac('sha256', key).update(content).digest('hex');

  it('adds topology, logs two sub-devices in with one batch (params-level signMethod), carries their posts and logs them out (D24)', async () => {
    // linkkit.py __gateway_add_subdev_topo: clientId pk.dn, timestamp in ms as a string, "hmacSha256", no method.
    const topo = subs.map((s) => {
      const ts = String(Date.now());
      const clientId = `${s.productKey}.${s.deviceName}`;
      return {
        productKey: s.productKey,
        deviceName: s.deviceName,
        clientId,
        timestamp: ts,
        signmethod: 'hmacSha256',
        sign: sha256(
          s.deviceSecret,
          `clientId${clientId}deviceName${s.deviceName}productKey${s.productKey}timestamp${ts}`,
        ),
      };
    });
    const added = await g.request(gwSys('thing/topo/add'), { id: g.nextId(), version: '1.0', params: topo }, 1);
    expect(added.code).toBe(200);

    // linkkit.py __gateway_login_subdev: the signed clientId carries its own |...| block; signMethod at params level.
    const deviceList = subs.map((s) => {
      const ts = String(Date.now());
      const clientId = `${s.productKey}.${s.deviceName}|lan=Python,_v=2.2.1,_ss=1|`;
      return {
        productKey: s.productKey,
        deviceName: s.deviceName,
        clientId,
        timestamp: ts,
        cleanSession: 'false',
        sign: sha256(
          s.deviceSecret,
          `clientId${clientId}deviceName${s.deviceName}productKey${s.productKey}timestamp${ts}`,
        ),
      };
    });
    const id = g.nextId();
    const login = await g.request(session('batch_login'), {
      id,
      version: '1.0',
      params: { signMethod: 'hmacSha256', deviceList },
    });
    expect(login).toMatchObject({
      id,
      code: 200,
      data: subs.map((s) => ({ productKey: s.productKey, deviceName: s.deviceName, code: 200 })),
    });
    for (const s of subs) await deviceState(t, s.productKey, s.deviceName, 'ONLINE');

    // Their posts through the gateway connection, replies on their own topics, without a SUBSCRIBE.
    for (const [i, s] of subs.entries()) {
      const pid = g.nextId();
      const topic = `/sys/${s.productKey}/${s.deviceName}/thing/event/property/post`;
      expect(
        await g.request(
          topic,
          { id: pid, version: '1.0', params: { Brightness: 10 + i }, method: 'thing.event.property.post' },
          1,
        ),
      ).toMatchObject({ id: pid, code: 200 });
      const r = await t.gql(
        `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { properties { identifier value } gateway { deviceName } } }`,
        { pk: s.productKey, dn: s.deviceName },
      );
      expect(r.data.device).toEqual({
        properties: [{ identifier: 'Brightness', value: 10 + i }],
        gateway: { deviceName: gw.deviceName },
      });
    }

    // A bad signature in the batch fails on its own entry, with the reference's code.
    const bad = await g.request(session('batch_login'), {
      id: g.nextId(),
      version: '1.0',
      params: { signMethod: 'hmacSha256', deviceList: [{ ...deviceList[0], sign: '0'.repeat(64) }] },
    });
    expect(bad).toMatchObject({ code: 6287, data: [{ deviceName: subs[0]!.deviceName, code: 6287 }] });

    // linkkit.py __gateway_logout_subdev: params is a plain array.
    const logout = await g.request(session('batch_logout'), {
      id: g.nextId(),
      version: '1.0',
      params: subs.map((s) => ({ productKey: s.productKey, deviceName: s.deviceName })),
    });
    expect(logout).toMatchObject({ code: 200, data: subs.map((s) => ({ deviceName: s.deviceName, code: 200 })) });
    for (const s of subs) await deviceState(t, s.productKey, s.deviceName, 'OFFLINE');
    expect(g.topics.every((tp) => tp.endsWith('_reply'))).toBe(true);
  });
});
