import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureBrokers } from '../helpers/aedes-spy.ts';
import { $Iot, createAccessKey, iotClient, type IotClient, type SignatureMode } from '../helpers/alibaba-openapi.ts';
import { autoSubscribed, command, commandRow, serviceHistory } from '../helpers/commands.ts';
import { waitFor } from '../helpers/wait.ts';
import { productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { sdkLamp } from '../helpers/sdk-lamp.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { lampTsl } from '../helpers/thing-posts.ts';

/** A lamp on Alibaba's Link SDK 1.2.8 (helpers/sdk-lamp.ts) whose Blink fails with 460 for Times 9, plus a custom topic. */
function lampWithTopic(creds: DeviceCreds, brokerUrl: string) {
  const lamp = sdkLamp(creds, brokerUrl, (p) => ({ code: p.Times === 9 ? 460 : 200, data: { Done: p.Times } }));
  const { productKey: pk, deviceName: dn } = creds;
  const subscribed = lamp.connected.then(
    () =>
      new Promise<void>((resolve, reject) =>
        lamp.device.subscribe(`/${pk}/${dn}/user/get`, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
      ),
  );
  return { ...lamp, subscribed };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

const spy = captureBrokers();
afterAll(() => spy.restore());

describe('Alibaba IoT OpenAPI messaging with @alicloud/iot20180120 and Link SDK devices', () => {
  const t = usePlatform('pglite');
  let pk: string;
  let devs: DeviceCreds[];
  let lamps: ReturnType<typeof lampWithTopic>[];
  let key: { accessKeyId: string; accessKeySecret: string };

  beforeAll(async () => {
    ({ productKey: pk, devices: devs } = await productWithDevices(t, 4, { tsl: lampTsl }));
    // devs[3] stays offline.
    lamps = devs.slice(0, 3).map((d) => lampWithTopic(d, `mqtt://127.0.0.1:${t.platform.mqttPort}`));
    await Promise.all(lamps.map((l) => l.subscribed));
    await Promise.all(devs.slice(0, 3).map((d) => autoSubscribed(() => spy.broker(), pk, d.deviceName)));
    key = await createAccessKey(t, 'OPERATOR');
  });
  afterAll(async () => {
    await Promise.all((lamps ?? []).map((l) => l.end()));
  });

  describe.each(['ACS3', 'RPC'] as SignatureMode[])('%s signature', (mode) => {
    let c: IotClient;
    beforeAll(() => {
      c = iotClient(t, key, mode);
    });
    /** InvokeThingService of `identifier` with `args` (JSON text) on a device of the suite's product. */
    const invoke = (deviceName: string, identifier: string, args: string) =>
      c.invokeThingService(new $Iot.InvokeThingServiceRequest({ productKey: pk, deviceName, identifier, args }));

    it('Pub delivers the decoded MessageContent to the device and records the command as GraphQL pub does', async () => {
      const [dev, lamp] = [devs[0]!, lamps[0]!];
      const topic = `/${pk}/${dev.deviceName}/user/get`;
      const r = await c.pub(
        new $Iot.PubRequest({ productKey: pk, topicFullName: topic, messageContent: b64(`hello ${mode} ü`), qos: 1 }),
      );
      expect(r.statusCode).toBe(200);
      expect(r.body).toMatchObject({ success: true, messageId: expect.stringMatching(/^\d+$/) });
      expect(r.headers['x-acs-request-id']).toBe(r.body.requestId);
      await waitFor(async () => lamp.seen.messages.filter((m) => m.topic === topic).map((m) => m.payload), {
        until: (p) => p.includes(`hello ${mode} ü`),
        message: 'the device got it',
      });
      expect(await commandRow(t, r.body.messageId!)).toMatchObject({
        kind: 'PUB',
        productKey: pk,
        deviceName: dev.deviceName,
        topic,
        status: 'SENT',
      });

      const bad = await c.pub(
        new $Iot.PubRequest({
          productKey: pk,
          topicFullName: `/sys/${pk}/${dev.deviceName}/thing/service/x`,
          messageContent: b64('x'),
        }),
      );
      expect(bad.body).toMatchObject({ success: false, code: 'iot.messagebroker.InvalidFormattedTopicName' });
      const notB64 = await c.pub(new $Iot.PubRequest({ productKey: pk, topicFullName: topic, messageContent: '***' }));
      expect(notB64.body).toMatchObject({ success: false, code: 'iot.messagebroker.MessageContentIsNotBase64Encode' });
      const qos2 = await c.pub(
        new $Iot.PubRequest({ productKey: pk, topicFullName: topic, messageContent: b64('x'), qos: 2 }),
      );
      expect(qos2.body).toMatchObject({ success: false, code: 'iot.common.InvalidFormattedParameter' });
    });

    it('RRpc is answered by the device; an offline device is RrpcCode OFFLINE with Success true', async () => {
      const dev = devs[1]!;
      const r = await c.rRpc(
        new $Iot.RRpcRequest({
          productKey: pk,
          deviceName: dev.deviceName,
          requestBase64Byte: b64(`raw:${mode}`),
          timeout: 5000,
        }),
      );
      expect(r.body).toMatchObject({ success: true, rrpcCode: 'SUCCESS', payloadBase64Byte: b64(`pong:${mode}`) });
      expect(typeof r.body.messageId).toBe('number');
      expect(await commandRow(t, String(r.body.messageId))).toMatchObject({ kind: 'RRPC', status: 'REPLIED' });

      const off = await c.rRpc(
        new $Iot.RRpcRequest({
          productKey: pk,
          deviceName: devs[3]!.deviceName,
          requestBase64Byte: b64('raw:x'),
          timeout: 3000,
        }),
      );
      expect(off.body).toMatchObject({ success: true, rrpcCode: 'OFFLINE' });
      expect(off.body.payloadBase64Byte).toBeUndefined();
      const range = await c.rRpc(
        new $Iot.RRpcRequest({
          productKey: pk,
          deviceName: dev.deviceName,
          requestBase64Byte: b64('raw:x'),
          timeout: 9000,
        }),
      );
      expect(range.body).toMatchObject({ success: false, code: 'iot.messagebroker.InvalidTimeoutValue' });
    });

    it('a sync InvokeThingService returns the device output in Data.Result; failures carry Data.MessageId', async () => {
      const [dev, lamp] = [devs[2]!, lamps[2]!];
      const r = await invoke(dev.deviceName, 'Blink', JSON.stringify({ Times: 2 }));
      expect(r.body).toMatchObject({
        success: true,
        data: { messageId: expect.stringMatching(/^\d+$/), result: JSON.stringify({ Done: 2 }) },
      });
      expect(lamp.seen.blinks.at(-1)).toMatchObject({ id: r.body.data!.messageId, params: { Times: 2 } });
      const hist = await serviceHistory(t, pk, dev.deviceName);
      expect(hist.find((h) => h.messageId === r.body.data!.messageId)).toMatchObject({
        identifier: 'Blink',
        callType: 'SYNC',
        status: 'REPLIED',
        code: 200,
        output: { Done: 2 },
      });

      const refused = await invoke(dev.deviceName, 'Blink', JSON.stringify({ Times: 9 }));
      expect(refused.body).toMatchObject({
        success: false,
        code: 'iot.device.InvokeThingServiceFailed',
        data: { messageId: expect.stringMatching(/^\d+$/) },
      });
      const offline = await invoke(devs[3]!.deviceName, 'Blink', '{"Times":1}');
      expect(offline.body).toMatchObject({
        success: false,
        code: 'iot.messagebroker.OFFLINE',
        data: { messageId: expect.stringMatching(/^\d+$/) },
      });
      const unknown = await invoke(dev.deviceName, 'Explode', '{}');
      expect(unknown.body).toMatchObject({ success: false, code: 'iot.device.InvokeThingServiceFailed' });
      const badArgs = await invoke(dev.deviceName, 'Blink', '[1]');
      expect(badArgs.body).toMatchObject({ success: false, code: 'iot.device.InvokeThingServiceFailed' });
    });

    it('an async InvokeThingService and SetDeviceProperty reach onService/onProps and their replies land in the same history as GraphQL calls', async () => {
      const [dev, lamp] = [devs[0]!, lamps[0]!];
      const inv = await invoke(dev.deviceName, 'Reboot', '{"DelaySeconds":1}');
      expect(inv.body).toMatchObject({ success: true, data: { messageId: expect.stringMatching(/^\d+$/) } });
      expect(inv.body.data!.result).toBeUndefined();
      const set = await c.setDeviceProperty(
        new $Iot.SetDevicePropertyRequest({
          productKey: pk,
          deviceName: dev.deviceName,
          items: JSON.stringify({ Brightness: 77 }),
        }),
      );
      expect(set.body).toMatchObject({ success: true, data: { messageId: expect.stringMatching(/^\d+$/) } });
      const gql = await command(t, 'setDeviceProperty', {
        productKey: pk,
        deviceName: dev.deviceName,
        items: { Brightness: 78 },
      });
      const ids = [inv.body.data!.messageId, set.body.data!.messageId, gql.messageId];
      const hist = await waitFor(() => serviceHistory(t, pk, dev.deviceName), {
        until: (h) => ids.every((id) => h.find((x) => x.messageId === id)?.status === 'REPLIED'),
        message: 'all replied',
      });
      expect(
        ids.map((id) => hist.find((h) => h.messageId === id)).map((h) => [h.identifier, h.callType, h.code]),
      ).toEqual([
        ['Reboot', 'ASYNC', 200],
        ['set', 'ASYNC', 200],
        ['set', 'ASYNC', 200],
      ]);
      expect(lamp.seen.props.map((p) => p.id)).toEqual(
        expect.arrayContaining([set.body.data!.messageId, gql.messageId]),
      );

      const badItems = await c.setDeviceProperty(
        new $Iot.SetDevicePropertyRequest({ productKey: pk, deviceName: dev.deviceName, items: 'not json' }),
      );
      expect(badItems.body).toMatchObject({
        success: false,
        code: 'iot.device.InvalidFormattedDevicePropertiesString',
      });
      const badKey = await c.setDeviceProperty(
        new $Iot.SetDevicePropertyRequest({
          productKey: pk,
          deviceName: dev.deviceName,
          items: '{"PowerConsumption":1}',
        }),
      );
      expect(badKey.body).toMatchObject({ success: false, code: 'iot.device.InvalidFormattedDevicePropertyKey' });
      const byIotId = await c.getDeviceStatus(new $Iot.GetDeviceStatusRequest({ iotId: 'no-such-iot-id' }));
      expect(byIotId.body).toMatchObject({ success: false, code: 'iot.device.NotExistedDevice' });
    });

    it('SetDevicesProperty and InvokeThingsService reach every named device; one unknown name sends nothing', async () => {
      const names = devs.slice(0, 2).map((d) => d.deviceName);
      const before = lamps.slice(0, 2).map((l) => [l.seen.props.length, l.seen.reboots.length]);
      const set = await c.setDevicesProperty(
        new $Iot.SetDevicesPropertyRequest({ productKey: pk, deviceName: names, items: '{"ColorTemperature":3000}' }),
      );
      expect(set.body).toMatchObject({ success: true });
      const inv = await c.invokeThingsService(
        new $Iot.InvokeThingsServiceRequest({
          productKey: pk,
          deviceName: names,
          identifier: 'Reboot',
          args: '{"DelaySeconds":0}',
        }),
      );
      expect(inv.body).toMatchObject({ success: true });
      await waitFor(async () => lamps.slice(0, 2).map((l) => [l.seen.props.length, l.seen.reboots.length]), {
        until: (now) => now.every((n, k) => n[0]! > before[k]![0]! && n[1]! > before[k]![1]!),
        message: 'both devices got both',
      });
      expect(lamps[0]!.seen.props.at(-1).params).toEqual({ ColorTemperature: 3000 });

      const counts = () => lamps.map((l) => l.seen.props.length + l.seen.reboots.length);
      const was = counts();
      const unknown = await c.setDevicesProperty(
        new $Iot.SetDevicesPropertyRequest({
          productKey: pk,
          deviceName: [...names, 'nobody-here'],
          items: '{"ColorTemperature":3100}',
        }),
      );
      expect(unknown.body).toMatchObject({ success: false, code: 'iot.device.NotExistedDevice' });
      const unknown2 = await c.invokeThingsService(
        new $Iot.InvokeThingsServiceRequest({
          productKey: pk,
          deviceName: ['nobody-here', ...names],
          identifier: 'Reboot',
          args: '{}',
        }),
      );
      expect(unknown2.body).toMatchObject({ success: false, code: 'iot.device.NotExistedDevice' });
      // A Pub after the refused calls: when the device has it, the refused calls would have arrived before it.
      const marker = await c.pub(
        new $Iot.PubRequest({
          productKey: pk,
          topicFullName: `/${pk}/${names[0]}/user/get`,
          messageContent: b64(`marker-${mode}`),
        }),
      );
      expect(marker.body.success).toBe(true);
      await waitFor(async () => lamps[0]!.seen.messages.map((m) => m.payload), {
        until: (p) => p.includes(`marker-${mode}`),
        message: 'marker',
      });
      expect(counts()).toEqual(was);
    });

    it('PubBroadcast reaches every online device on its broadcast request topic', async () => {
      const r = await c.pubBroadcast(
        new $Iot.PubBroadcastRequest({ productKey: pk, messageContent: b64(`all ${mode}`) }),
      );
      expect(r.body).toMatchObject({ success: true });
      expect(typeof r.body.messageId).toBe('number');
      for (const [k, l] of lamps.entries()) {
        const topic = `/sys/${pk}/${devs[k]!.deviceName}/broadcast/request/${r.body.messageId}`;
        await waitFor(async () => l.seen.messages.filter((m) => m.topic === topic).map((m) => m.payload), {
          until: (p) => p.includes(`all ${mode}`),
          message: `broadcast at ${k}`,
        });
      }
      const bad = await c.pubBroadcast(
        new $Iot.PubBroadcastRequest({ productKey: pk, messageContent: b64('x'), topicFullName: `/${pk}/x/user/get` }),
      );
      expect(bad.body).toMatchObject({ success: false, code: 'iot.messagebroker.InvalidFormattedTopicName' });
    });

    it('CreateProductTopic answers the numeric TopicId; a second one with the same name is TopicAlreadyFound', async () => {
      const r = await c.createProductTopic(
        new $Iot.CreateProductTopicRequest({
          productKey: pk,
          topicShortName: `cmd_${mode}`,
          operation: 'SUB',
          desc: 'commands',
        }),
      );
      expect(r.body).toMatchObject({ success: true });
      expect(typeof r.body.topicId).toBe('number');
      const again = await c.createProductTopic(
        new $Iot.CreateProductTopicRequest({ productKey: pk, topicShortName: `cmd_${mode}`, operation: 'SUB' }),
      );
      expect(again.body).toMatchObject({ success: false, code: 'iot.messagebroker.TopicAlreadyFound' });
      const topics = await c.queryProductTopic(new $Iot.QueryProductTopicRequest({ productKey: pk }));
      expect(topics.body.data!.productTopicInfo).toContainEqual(
        expect.objectContaining({
          id: String(r.body.topicId),
          topicShortName: `/${pk}/\${deviceName}/user/cmd_${mode}`,
          operation: '1',
          desc: 'commands',
        }),
      );
    });
  });
});
