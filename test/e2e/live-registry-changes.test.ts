import { beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { useBrokerSpy, liveClientsOf, platformPublish } from '../helpers/aedes-spy.ts';
import { adminLive } from '../helpers/graphql-ws.ts';
import { alinkLogin, connectDevice, nextMessage, productWithDevices } from '../helpers/devices.ts';
import type { DeviceCreds, Transport } from '../helpers/devices.ts';
import { sleep } from '../helpers/wait.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { connackCode, connectPacket, rawConnect, remainingLength } from '../helpers/raw-mqtt.ts';
import { DEVICE_QUERY, watchStatus } from '../helpers/status.ts';
import { describeEachDb } from '../helpers/services-env.ts';

const MAX_PAYLOAD = 2048;

const closedOf = (c: MqttClient) =>
  new Promise<void>((r) => (c.disconnected || !c.connected ? r() : c.once('close', () => r())));

async function subscribeGranted(c: MqttClient, filter: string): Promise<number> {
  const granted = await c.subscribeAsync(filter).catch((e: { packet?: { granted?: number[] } }) => e.packet?.granted);
  const g = Array.isArray(granted) ? granted[0] : undefined;
  return typeof g === 'number' ? g : ((g as { qos: number } | undefined)?.qos ?? -1);
}

async function mutation(t: TestPlatform, name: string, input: Record<string, unknown>, select = ''): Promise<any> {
  const cap = name[0]!.toUpperCase() + name.slice(1);
  const r = await t.gql(`mutation($i: ${cap}Input!) { ${name}(input: $i) { ${select} userErrors { code message } } }`, {
    i: input,
  });
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data[name];
}

describeEachDb('registry changes reach live sessions (%s)', (kind) => {
  const spy = useBrokerSpy();
  const t = usePlatform(kind, { MQTT_MAX_PAYLOAD: MAX_PAYLOAD });
  let pk: string;
  let devs: DeviceCreds[];
  beforeAll(async () => {
    ({ productKey: pk, devices: devs } = await productWithDevices(t, 16));
  });

  describe.each<Transport>(['tcp', 'ws'])('over MQTT/%s', (transport) => {
    const base = transport === 'tcp' ? 0 : 8;

    it('resetDeviceSecret disconnects the live device at once (KICKED); the old secret is then refused with CONNACK 4 and the new one logs in', async () => {
      const dev = devs[base]!;
      const status = await watchStatus(t, pk, dev.deviceName);
      const c = await connectDevice(t, transport, dev);
      const closed = closedOf(c);
      const r = await mutation(t, 'resetDeviceSecret', { productKey: pk, deviceName: dev.deviceName }, 'deviceSecret');
      expect(r.userErrors).toEqual([]);
      await closed;
      expect((await status.waitFor(2)).map((e) => [e.status, e.connectionEpoch, e.reason])).toEqual([
        ['ONLINE', 1, null],
        ['OFFLINE', 1, 'KICKED'],
      ]);
      expect(await connackCode(t, transport, alinkLogin(dev))).toBe(4);
      expect(await connackCode(t, transport, alinkLogin({ ...dev, deviceSecret: r.deviceSecret }))).toBe(0);
      await status.close();
    });

    it('deleteDevice disconnects the live device at once with an OFFLINE KICKED status event, and its credentials are refused with CONNACK 4', async () => {
      const dev = devs[base + 1]!;
      const status = await watchStatus(t, pk, dev.deviceName);
      const c = await connectDevice(t, transport, dev);
      const closed = closedOf(c);
      expect((await mutation(t, 'deleteDevice', { productKey: pk, deviceName: dev.deviceName })).userErrors).toEqual(
        [],
      );
      await closed;
      expect((await status.waitFor(2)).map((e) => [e.status, e.connectionEpoch, e.reason])).toEqual([
        ['ONLINE', 1, null],
        ['OFFLINE', 1, 'KICKED'],
      ]);
      expect(await connackCode(t, transport, alinkLogin(dev))).toBe(4);
      expect(liveClientsOf(spy.broker(), pk, dev.deviceName)).toEqual([]);
      await status.close();
    });

    it('deleting a SUB topic category stops delivery on it at once: the live subscription is removed and re-subscribing gets 0x80', async () => {
      const dev = devs[base + 2]!;
      const shortName = `cmd_${transport}`;
      const topic = `/${pk}/${dev.deviceName}/user/${shortName}`;
      expect(
        (await mutation(t, 'createProductTopic', { productKey: pk, topicShortName: shortName, operation: 'SUB' }))
          .userErrors,
      ).toEqual([]);
      const c = await connectDevice(t, transport, dev);
      expect(await subscribeGranted(c, topic)).toBe(0);
      const received: string[] = [];
      c.on('message', (tp, payload) => tp === topic && received.push(payload.toString()));

      const first = nextMessage(c, (tp) => tp === topic);
      expect(
        (await mutation(t, 'pub', { productKey: pk, topicFullName: topic, payload: 'before' }, 'messageId')).userErrors,
      ).toEqual([]);
      expect((await first).payload.toString()).toBe('before');

      expect(
        (await mutation(t, 'deleteProductTopic', { productKey: pk, topicShortName: shortName })).userErrors,
      ).toEqual([]);
      // The broker drops the subscription when the deletion's event arrives: poll the live session.
      for (let n = 0; n < 100 && liveClientsOf(spy.broker(), pk, dev.deviceName)[0]?.subscriptions[topic]; n++)
        await sleep(10);
      const [live] = liveClientsOf(spy.broker(), pk, dev.deviceName);
      expect(Object.keys(live!.subscriptions)).not.toContain(topic);

      // The pub mutation refuses the topic now; a publish straight into the broker is not delivered either.
      const refused = await mutation(t, 'pub', { productKey: pk, topicFullName: topic, payload: 'after' }, 'messageId');
      expect(refused.userErrors.map((e: { code: string }) => e.code)).toEqual(['TOPIC_NOT_ALLOWED']);
      await platformPublish(spy.broker(), topic, 'after (broker)');
      await sleep(200);
      expect(received).toEqual(['before']);
      expect(await subscribeGranted(c, topic)).toBe(128);
      expect(c.connected).toBe(true); // D7: a refused SUBSCRIBE keeps the connection
      await c.endAsync();
    });

    it('creating a PUB category lets the device publish there and a SUB category lets it subscribe; before, the publish disconnects and the SUBSCRIBE gets 0x80', async () => {
      const dev = devs[base + 3]!;
      const pubTopic = `/${pk}/${dev.deviceName}/user/report_${transport}`;
      const subTopic = `/${pk}/${dev.deviceName}/user/notify_${transport}`;
      const { ws, subscribe } = adminLive(t);
      const msgs = subscribe(
        `subscription($pk: String, $dn: String) { deviceMessages(productKey: $pk, deviceName: $dn) { topic payloadText } }`,
        { pk, dn: dev.deviceName },
      );
      await sleep(200);

      let c = await connectDevice(t, transport, dev);
      expect(await subscribeGranted(c, subTopic)).toBe(128);
      const closed = closedOf(c);
      c.publish(pubTopic, 'too early', { qos: 1 });
      await closed;

      for (const [topicShortName, operation] of [
        [`report_${transport}`, 'PUB'],
        [`notify_${transport}`, 'SUB'],
      ])
        expect(
          (await mutation(t, 'createProductTopic', { productKey: pk, topicShortName, operation })).userErrors,
          topicShortName,
        ).toEqual([]);
      c = await connectDevice(t, transport, dev);
      await c.publishAsync(pubTopic, 'allowed now', { qos: 1 }); // PUBACK: committed
      expect(await subscribeGranted(c, subTopic)).toBe(0);
      const got = await msgs.waitFor(1);
      expect(got.map((m) => m.deviceMessages)).toEqual([{ topic: pubTopic, payloadText: 'allowed now' }]);
      // A PUB category is not subscribable and a SUB category not publishable (D7).
      expect(await subscribeGranted(c, pubTopic)).toBe(128);
      const closed2 = closedOf(c);
      c.publish(subTopic, 'wrong way', { qos: 0 });
      await closed2;
      await sleep(100);
      expect(msgs.items).toHaveLength(1);
      msgs.unsubscribe();
      await ws.dispose();
    });

    it(`a publish larger than MQTT_MAX_PAYLOAD (${MAX_PAYLOAD} bytes) disconnects the publisher and nothing of it is stored (QoS 0 and 1)`, async () => {
      const dev = devs[base + 4]!;
      const topic = `/${pk}/${dev.deviceName}/user/update`;
      const { ws, subscribe } = adminLive(t);
      const msgs = subscribe(
        `subscription($pk: String, $dn: String) { deviceMessages(productKey: $pk, deviceName: $dn) { topic payloadBase64 } }`,
        { pk, dn: dev.deviceName },
      );
      await sleep(200);
      for (const qos of [0, 1] as const) {
        const c = await connectDevice(t, transport, dev);
        const closed = closedOf(c);
        c.publish(topic, Buffer.alloc(MAX_PAYLOAD + 1, 0x61), { qos });
        await closed;
      }
      // Exactly at the limit is accepted, and is the first (and only) message stored.
      const c = await connectDevice(t, transport, dev);
      await c.publishAsync(topic, Buffer.alloc(MAX_PAYLOAD, 0x62), { qos: 1 });
      const got = await msgs.waitFor(1);
      await sleep(100);
      expect(msgs.items).toHaveLength(1);
      expect(Buffer.from(got[0].deviceMessages.payloadBase64, 'base64').equals(Buffer.alloc(MAX_PAYLOAD, 0x62))).toBe(
        true,
      );
      await c.endAsync();
      msgs.unsubscribe();
      await ws.dispose();
    });

    it('a PUBLISH announcing far more than the limit is refused before its body arrives (D18: the broker does not buffer it)', async () => {
      const dev = devs[base + 5]!;
      const status = await watchStatus(t, pk, dev.deviceName);
      const raw = await rawConnect(t, transport);
      raw.write(connectPacket(alinkLogin(dev)));
      await status.waitFor(1);
      const topic = Buffer.from(`/${pk}/${dev.deviceName}/user/update`);
      const announced = 50 * 1024 * 1024; // 50 MB announced, 1 KB sent
      const header = Buffer.concat([
        Buffer.from([0x30]),
        remainingLength(announced),
        Buffer.from([topic.length >> 8, topic.length & 0xff]),
        topic,
      ]);
      raw.write(Buffer.concat([header, Buffer.alloc(1024)]));
      const outcome = await Promise.race([raw.closed.then(() => 'closed'), sleep(2000).then(() => 'still open')]);
      raw.drop();
      expect(outcome).toBe('closed');
      expect((await status.waitFor(2))[1]).toMatchObject({ status: 'OFFLINE' });
      expect((await t.gql(DEVICE_QUERY, { pk, dn: dev.deviceName })).data.device.state).toBe('OFFLINE');
      await status.close();
    });
  });
});
