import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeCursor } from '../../src/events/cursor.ts';
import { captureBrokers } from '../helpers/aedes-spy.ts';
import {
  autoSubscribed,
  command,
  commandRows,
  deviceState,
  DOWNLINK_REPLIES,
  persistentDevice,
  replyOk,
  serviceHistory,
  type Received,
} from '../helpers/commands.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectDevice, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { Collected, wsClient } from '../helpers/graphql-ws.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { watchStatus } from '../helpers/status.ts';
import { lampTsl } from '../helpers/thing-posts.ts';
import { describeEachDb } from '../helpers/services-env.ts';

const spy = captureBrokers();
afterAll(() => spy.restore());

const isCommand = (m: Received) => /\/thing\/service\/[^/]+(\/set)?$/.test(m.topic);

describeEachDb('command delivery on %s', (kind) => {
  const t = usePlatform(kind);
  let pk: string;
  let devs: DeviceCreds[];
  let ws: ReturnType<typeof wsClient>;
  beforeAll(async () => {
    ({ productKey: pk, devices: devs } = await productWithDevices(t, 6, { tsl: lampTsl }));
    ws = wsClient(t.wsUrl, t.adminToken);
  });
  afterAll(async () => {
    await ws?.dispose();
  });

  /** Connect once so the broker holds a persistent session with the D19 subscriptions (and `subscribe`), then leave. */
  async function leaveWithSession(dev: DeviceCreds, subscribe: string[] = []) {
    const d = persistentDevice(t, dev);
    const status = await watchStatus(t, pk, dev.deviceName);
    await d.connect();
    await autoSubscribed(() => spy.broker(), pk, dev.deviceName);
    if (subscribe.length > 0) await d.client.subscribeAsync(subscribe, { qos: 1 });
    await d.disconnect();
    const [, offline] = await status.waitFor(2);
    await status.close();
    expect(offline).toMatchObject({ status: 'OFFLINE', reason: 'CLIENT_DISCONNECT' });
    return { d, cursor: offline!.cursor };
  }

  it('answers commands to an offline persistent-session device with 9201 and delivers them at QoS 1 when it comes back; its replies arrive with 200', async () => {
    const dev = devs[0]!;
    const dn = dev.deviceName;
    const { d, cursor } = await leaveWithSession(dev);

    const set = await command(t, 'setDeviceProperty', {
      productKey: pk,
      deviceName: dn,
      items: { LightSwitch: 0, Brightness: 10 },
    });
    const reboot = await command(t, 'invokeThingService', {
      productKey: pk,
      deviceName: dn,
      identifier: 'Reboot',
      args: { DelaySeconds: 60 },
    });
    expect(set).toMatchObject({ messageId: expect.stringMatching(/^\d+$/), userErrors: [] });
    expect(reboot).toMatchObject({ messageId: expect.stringMatching(/^\d+$/), callType: 'ASYNC', userErrors: [] });

    // Resumed right after the device's OFFLINE event: nothing in between is missed, however late this subscribes.
    const replies = Collected.subscribe(ws, DOWNLINK_REPLIES, { pk, dn, after: cursor });
    const offline = (await replies.waitFor(2)).map((r) => r.downlinkReplies);
    expect(offline).toMatchObject([
      { requestId: set.messageId, code: 9201, topic: `/sys/${pk}/${dn}/thing/service/property/set`, deviceName: dn },
      { requestId: reboot.messageId, code: 9201, topic: `/sys/${pk}/${dn}/thing/service/Reboot`, deviceName: dn },
    ]);

    const { sessionPresent } = await d.connect(replyOk);
    expect(sessionPresent).toBe(true);
    const online = (await replies.waitFor(4)).slice(2).map((r) => r.downlinkReplies);
    expect(online).toMatchObject([
      { requestId: set.messageId, code: 200, topic: `/sys/${pk}/${dn}/thing/service/property/set`, data: {} },
      { requestId: reboot.messageId, code: 200, topic: `/sys/${pk}/${dn}/thing/service/Reboot`, data: { Accepted: 1 } },
    ]);
    expect(d.received.filter(isCommand).map((m) => [m.session, m.topic, m.qos, JSON.parse(m.payload)])).toEqual([
      [
        2,
        `/sys/${pk}/${dn}/thing/service/property/set`,
        1,
        {
          id: set.messageId,
          version: '1.0',
          params: { LightSwitch: 0, Brightness: 10 },
          method: 'thing.service.property.set',
        },
      ],
      [
        2,
        `/sys/${pk}/${dn}/thing/service/Reboot`,
        1,
        { id: reboot.messageId, version: '1.0', params: { DelaySeconds: 60 }, method: 'thing.service.Reboot' },
      ],
    ]);
    const hist = await serviceHistory(t, pk, dn);
    expect(hist.map((h) => [h.messageId, h.status, h.code])).toEqual([
      [set.messageId, 'REPLIED', 200],
      [reboot.messageId, 'REPLIED', 200],
    ]);
    replies.unsubscribe();
    await d.disconnect();
  });

  it('broadcasts to online devices only, in both modes, and an offline device does not get the broadcast when it comes back', async () => {
    const [a, b, c] = [devs[1]!, devs[2]!, devs[3]!];
    const news = `/broadcast/${pk}/news`;
    const { d: away } = await leaveWithSession(c, [news]);
    const online = await Promise.all(
      [a, b].map(async (dev) => {
        const m = persistentDevice(t, dev);
        await m.connect();
        await autoSubscribed(() => spy.broker(), pk, dev.deviceName);
        await m.client.subscribeAsync(news, { qos: 1 });
        return m;
      }),
    );

    const all = await command(t, 'pubBroadcast', { productKey: pk, payload: 'to every online lamp' });
    const topical = await command(t, 'pubBroadcast', {
      productKey: pk,
      topicFullName: news,
      payload: 'news for subscribers',
    });
    expect([all.userErrors, topical.userErrors]).toEqual([[], []]);
    for (const [k, m] of online.entries()) {
      const dn = [a, b][k]!.deviceName;
      await waitFor(async () => m.received.length, { until: (n) => n >= 2, message: `${dn} got both broadcasts` });
      expect(m.received.map((r) => [r.topic, r.payload, r.qos])).toEqual([
        [`/sys/${pk}/${dn}/broadcast/request/${all.messageId}`, 'to every online lamp', 0],
        [news, 'news for subscribers', 0],
      ]);
    }

    // A QoS 1 command sent after the broadcasts is queued for the offline device: when it arrives on return, anything
    // queued before it would have arrived first.
    const set = await command(t, 'setDeviceProperty', {
      productKey: pk,
      deviceName: c.deviceName,
      items: { WorkingMode: 2 },
    });
    await away.connect(replyOk);
    await waitFor(async () => away.received.length, { until: (n) => n >= 1, message: 'the queued command' });
    expect(away.received.map((r) => [r.session, r.topic])).toEqual([
      [2, `/sys/${pk}/${c.deviceName}/thing/service/property/set`],
    ]);
    expect(JSON.parse(away.received[0]!.payload).id).toBe(set.messageId);
    await Promise.all([...online, away].map((m) => m.disconnect()));
  });

  it('refuses setDevicesProperty and invokeThingsService with one invalid item or argument before sending anything to any device', async () => {
    const targets = [devs[4]!, devs[5]!];
    const names = targets.map((d) => d.deviceName);
    const clients = await Promise.all(targets.map((d) => connectDevice(t, 'tcp', d)));
    const seen: string[][] = targets.map(() => []);
    clients.forEach((c, k) => c.on('message', (topic) => seen[k]!.push(topic)));
    await Promise.all(names.map((dn) => autoSubscribed(() => spy.broker(), pk, dn)));
    const before = (await commandRows(t, pk)).length;

    const cases: [Parameters<typeof command>[1], Record<string, unknown>, string[]][] = [
      ['setDevicesProperty', { items: { Brightness: 50, PowerConsumption: 1.5 } }, ['PROPERTY_NOT_WRITABLE']],
      ['setDevicesProperty', { items: { Brightness: 500, WorkingMode: 1 } }, ['INVALID_VALUE']],
      ['setDevicesProperty', { items: { LightSwitch: 1, Nope: 1 } }, ['IDENTIFIER_NOT_FOUND']],
      ['invokeThingsService', { identifier: 'Reboot', args: { DelaySeconds: -1 } }, ['INVALID_VALUE']],
      ['invokeThingsService', { identifier: 'Explode', args: {} }, ['IDENTIFIER_NOT_FOUND']],
    ];
    for (const [name, input, codes] of cases) {
      const r = await command(t, name, { productKey: pk, deviceNames: names, ...input });
      expect(r.results, `${name} ${JSON.stringify(input)}`).toEqual([]);
      expect(
        r.userErrors.map((e: { code: string }) => e.code),
        `${name} ${JSON.stringify(input)}`,
      ).toEqual(codes);
    }
    expect((await commandRows(t, pk)).length).toBe(before);

    // A valid batch afterwards reaches both devices: each one's first command is it.
    const ok = await command(t, 'setDevicesProperty', {
      productKey: pk,
      deviceNames: names,
      items: { Brightness: 50 },
    });
    expect(ok.results.map((r: { userErrors: unknown[] }) => r.userErrors)).toEqual([[], []]);
    await waitFor(async () => seen.map((s) => s.length), {
      until: (n) => n.every((x) => x >= 1),
      message: 'the valid batch',
    });
    expect(seen).toEqual(names.map((dn) => [`/sys/${pk}/${dn}/thing/service/property/set`]));
    await Promise.all(clients.map((c) => c.endAsync()));
  });

  it('keeps the batch going past a device that cannot take the command, with that device’s userError in its result', async () => {
    const names = [devs[4]!.deviceName, 'no-such-lamp', devs[5]!.deviceName];
    await Promise.all([devs[4]!, devs[5]!].map((d) => deviceState(t, pk, d.deviceName, 'OFFLINE')));
    const r = await command(t, 'invokeThingsService', {
      productKey: pk,
      deviceNames: names,
      identifier: 'Reboot',
      args: { DelaySeconds: 1 },
    });
    expect(r.userErrors).toEqual([]);
    expect(
      r.results.map((x: any) => [
        x.deviceName,
        x.messageId === null,
        x.userErrors.map((e: { code: string }) => e.code),
      ]),
    ).toEqual([
      [names[0], false, []],
      ['no-such-lamp', true, ['DEVICE_NOT_FOUND']],
      [names[2], false, []],
    ]);

    // A sync service in a batch is sent on the RRPC topic and not kept for an offline device: 9201 says so.
    const cursor = encodeCursor(t.platform.hub.position);
    const blink = await command(t, 'invokeThingsService', {
      productKey: pk,
      deviceNames: [names[0]],
      identifier: 'Blink',
      args: { Times: 2 },
    });
    const id = blink.results[0].messageId;
    const replies = Collected.subscribe(ws, DOWNLINK_REPLIES, { pk, dn: names[0], after: cursor });
    expect((await replies.waitFor(1))[0].downlinkReplies).toMatchObject({
      requestId: id,
      code: 9201,
      topic: `/sys/${pk}/${names[0]}/thing/service/Blink`,
    });
    replies.unsubscribe();
    expect((await serviceHistory(t, pk, names[0]!)).find((h) => h.messageId === id)).toMatchObject({
      identifier: 'Blink',
      callType: 'SYNC',
      status: 'OFFLINE',
    });
  });
});
