import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { captureBrokers } from '../helpers/aedes-spy.ts';
import { answerCommands, autoSubscribed, command, commandRow, serviceHistory, wsCommand } from '../helpers/commands.ts';
import { wsClient } from '../helpers/graphql-ws.ts';
import { connectDevice, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { lampTsl } from '../helpers/thing-posts.ts';
import { describeEachDb } from '../helpers/services-env.ts';

const DEVICES = 100;
const CALLS = 1000;

const spy = captureBrokers();
afterAll(() => spy.restore());

describeEachDb('RRPC on %s', (kind) => {
  const t = usePlatform(kind);
  let pk: string;
  let devs: DeviceCreds[];
  beforeAll(async () => {
    ({ productKey: pk, devices: devs } = await productWithDevices(t, DEVICES + 2, { tsl: lampTsl }));
  });

  it(`answers ${CALLS} concurrent RRPC calls across ${DEVICES} devices, each with its own device's answer to it`, async () => {
    // Logins in waves of 25: a login is a durable presence commit, and a shared CI box may be slow to CONNACK 100 at once.
    const clients: MqttClient[] = [];
    for (let k = 0; k < DEVICES; k += 25)
      clients.push(
        ...(await Promise.all(
          devs.slice(k, k + 25).map((d) => connectDevice(t, 'tcp', d, { connectTimeout: 30_000 })),
        )),
      );
    try {
      const devices = clients.map((c, k) => answerCommands(c, pk, devs[k]!.deviceName));
      await Promise.all(devs.slice(0, DEVICES).map((d) => autoSubscribed(() => spy.broker(), pk, d.deviceName)));
      const calls = Array.from({ length: CALLS }, (_, k) => ({
        dn: devs[k % DEVICES]!.deviceName,
        marker: `call-${k}-${Math.random().toString(36).slice(2)}`,
      }));
      // All calls in flight at once on one graphql-ws socket.
      const ws = wsClient(t.wsUrl, t.adminToken);
      const results = await Promise.all(
        calls.map((c) =>
          wsCommand(ws, 'rrpc', { productKey: pk, deviceName: c.dn, payload: c.marker, timeoutMs: 8000 }),
        ),
      ).finally(() => ws.dispose());
      // The device answers `${messageId from its request topic}:${payload}`: a crossed wire shows in either half.
      const wrong = results
        .map((r, k) => ({ r, c: calls[k]! }))
        .filter(
          ({ r, c }) =>
            r.rrpcCode !== 'SUCCESS' || r.userErrors.length > 0 || r.payloadText !== `${r.messageId}:${c.marker}`,
        );
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(new Set(results.map((r) => r.messageId)).size).toBe(CALLS);
      // Each request reached its own device only, once.
      devices.forEach((d, k) => {
        const dn = devs[k]!.deviceName;
        const mine = results.filter((_, i) => calls[i]!.dn === dn);
        expect(d.received.map((m) => m.topic).sort()).toEqual(
          mine.map((r) => `/sys/${pk}/${dn}/rrpc/request/${r.messageId}`).sort(),
        );
      });
      const rows = await Promise.all(results.slice(0, 50).map((r) => commandRow(t, r.messageId)));
      expect(rows.map((row) => row?.status)).toEqual(Array(50).fill('REPLIED'));
    } finally {
      await Promise.all(clients.map((c) => c.endAsync()));
    }
  });

  /** A device that keeps every request it gets, to answer when the test says so. */
  async function holdingDevice(dev: DeviceCreds) {
    const c = await connectDevice(t, 'tcp', dev);
    await autoSubscribed(() => spy.broker(), pk, dev.deviceName);
    const held: { topic: string; payload: string }[] = [];
    c.on('message', (topic, payload) => held.push({ topic, payload: payload.toString() }));
    /** Publish at QoS 0 (as RRPC answers are, §2.5), then a QoS 1 property post: the device's messages are stored in
     *  order, so its PUBACK means the answer is in the database too. */
    const answer = async (topic: string, payload: string) => {
      await c.publishAsync(topic, payload, { qos: 0 });
      await c.publishAsync(
        `/sys/${pk}/${dev.deviceName}/thing/event/property/post`,
        JSON.stringify({ id: '1', version: '1.0', params: { Brightness: 1 }, method: 'thing.event.property.post' }),
        { qos: 1 },
      );
    };
    return { c, held, answer };
  }

  it('round-trips a custom-topic RRPC on /ext/rrpc/${messageId}${topic}, answered on the same topic (single- and double-slash forms)', async () => {
    const dev = devs[DEVICES]!;
    const dn = dev.deviceName;
    const { c, held } = await holdingDevice(dev);
    try {
      // D7/D13: the device may subscribe to RRPC on its own custom topic, not on another device's (SUBACK 0x80).
      expect(await c.subscribeAsync(`/ext/rrpc/+/${pk}/${dn}/user/get`)).toEqual([
        { topic: `/ext/rrpc/+/${pk}/${dn}/user/get`, qos: 0 },
      ]);
      const other = await c
        .subscribeAsync(`/ext/rrpc/+/${pk}/${devs[0]!.deviceName}/user/get`)
        .catch((e: { packet?: { granted?: number[] } }) => e.packet?.granted);
      expect(other).toEqual([128]);
      c.on('message', (topic, payload) => {
        if (!topic.startsWith('/ext/rrpc/')) return;
        const id = topic.split('/')[3]!;
        const [form, text] = payload.toString().split('|');
        const answerTopic = form === 'double' ? `/ext/rrpc/${id}//${pk}/${dn}/user/get` : topic;
        void c.publishAsync(answerTopic, `answer:${text}`, { qos: 0 });
      });
      for (const form of ['single', 'double']) {
        const r = await command(t, 'rrpc', {
          productKey: pk,
          deviceName: dn,
          topic: `/${pk}/${dn}/user/get`,
          payload: `${form}|${form}-hello`,
          timeoutMs: 5000,
        });
        expect(r).toMatchObject({ rrpcCode: 'SUCCESS', payloadText: `answer:${form}-hello`, userErrors: [] });
        expect(held.at(-1)).toEqual({
          topic: `/ext/rrpc/${r.messageId}/${pk}/${dn}/user/get`,
          payload: `${form}|${form}-hello`,
        });
        expect(await commandRow(t, r.messageId)).toMatchObject({
          kind: 'RRPC',
          status: 'REPLIED',
          topic: `/ext/rrpc/${r.messageId}/${pk}/${dn}/user/get`,
        });
      }
    } finally {
      await c.endAsync();
    }
  });

  it('discards an answer that comes after TIMEOUT: the custom-topic RRPC and the sync service stay TIMEOUT', async () => {
    const dev = devs[DEVICES + 1]!;
    const dn = dev.deviceName;
    const { c, held, answer } = await holdingDevice(dev);
    try {
      await c.subscribeAsync(`/ext/rrpc/+/${pk}/${dn}/user/get`);
      const rrpc = await command(t, 'rrpc', {
        productKey: pk,
        deviceName: dn,
        topic: `/${pk}/${dn}/user/get`,
        payload: 'slow',
        timeoutMs: 1000,
      });
      expect(rrpc).toMatchObject({ rrpcCode: 'TIMEOUT', payloadBase64: null, userErrors: [] });
      const blink = await command(t, 'invokeThingService', {
        productKey: pk,
        deviceName: dn,
        identifier: 'Blink',
        args: { Times: 1 },
        timeoutMs: 1000,
      });
      expect(blink).toMatchObject({ callType: 'SYNC', rrpcCode: 'TIMEOUT', code: null, output: null, userErrors: [] });

      // Both requests did reach the device; it answers now, too late.
      const rrpcTopic = `/ext/rrpc/${rrpc.messageId}/${pk}/${dn}/user/get`;
      const blinkTopic = `/sys/${pk}/${dn}/rrpc/request/${blink.messageId}`;
      expect(held.map((h) => h.topic)).toEqual([rrpcTopic, blinkTopic]);
      await answer(rrpcTopic, 'late answer');
      await answer(
        `/sys/${pk}/${dn}/rrpc/response/${blink.messageId}`,
        JSON.stringify({ id: blink.messageId, code: 200, data: { Done: 1 } }),
      );

      expect(await commandRow(t, rrpc.messageId)).toMatchObject({
        status: 'TIMEOUT',
        code: null,
        replyPayload: null,
        repliedAt: null,
      });
      const hist = (await serviceHistory(t, pk, dn)).find((h) => h.messageId === blink.messageId);
      expect(hist).toMatchObject({
        identifier: 'Blink',
        callType: 'SYNC',
        status: 'TIMEOUT',
        code: null,
        output: null,
        repliedAt: null,
        input: { Times: 1 },
      });
    } finally {
      await c.endAsync();
    }
  });
});
