import { afterAll, beforeAll, expect, it } from 'vitest';
import { captureBrokers } from '../helpers/aedes-spy.ts';
import { autoSubscribed, command, DOWNLINK_REPLIES, serviceHistory } from '../helpers/commands.ts';
import { waitFor } from '../helpers/wait.ts';
import { productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { Collected, wsClient } from '../helpers/graphql-ws.ts';
import { sdkLamp } from '../helpers/sdk-lamp.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { watchStatus } from '../helpers/status.ts';
import { lampTsl } from '../helpers/thing-posts.ts';
import { describeEachDb } from '../helpers/services-env.ts';

// One spy per file: the broker of the platform a suite started is the latest captured.
const spy = captureBrokers();
afterAll(() => spy.restore());

describeEachDb('commands to Link SDK 1.2.8 devices on %s', (kind) => {
  const t = usePlatform(kind);
  let pk: string;
  let devs: DeviceCreds[];
  let lamps: ReturnType<typeof sdkLamp>[];
  let ws: ReturnType<typeof wsClient>;

  beforeAll(async () => {
    ({ productKey: pk, devices: devs } = await productWithDevices(t, 6, { tsl: lampTsl }));
    lamps = devs.slice(0, 5).map((d) => sdkLamp(d, `mqtt://127.0.0.1:${t.platform.mqttPort}`));
    await Promise.all(lamps.map((l) => l.connected));
    await Promise.all(devs.slice(0, 5).map((d) => autoSubscribed(() => spy.broker(), pk, d.deviceName)));
    ws = wsClient(t.wsUrl, t.adminToken);
  });
  afterAll(async () => {
    await Promise.all((lamps ?? []).map((l) => l.end()));
    await ws?.dispose();
  });

  /**
   * A downlinkReplies subscription that is live. graphql-ws has no "subscribed" acknowledgement, so property sets are
   * sent to the device until the reply of one comes through; what arrived until then is dropped.
   */
  async function liveReplies(dn?: string) {
    const c = Collected.subscribe(ws, DOWNLINK_REPLIES, { pk, ...(dn ? { dn } : {}) });
    const probed = new Set<string>();
    for (let n = 0; !c.items.some((i) => probed.has(i.downlinkReplies.requestId)); n++) {
      if (n > 50 || c.error) throw new Error(`downlinkReplies never became live: ${JSON.stringify(c.error)}`);
      const probe = await command(t, 'setDeviceProperty', {
        productKey: pk,
        deviceName: dn ?? devs[0]!.deviceName,
        items: { WorkingMode: 0 },
      });
      probed.add(probe.messageId);
      await new Promise((r) => setTimeout(r, 100));
    }
    c.items.length = 0;
    return c;
  }

  it('delivers setDeviceProperty to onProps and streams the device reply to a graphql-ws downlinkReplies subscriber', async () => {
    const [dev, lamp] = [devs[0]!, lamps[0]!];
    const replies = await liveReplies(dev.deviceName);
    lamp.seen.props.length = 0;
    const set = await command(t, 'setDeviceProperty', {
      productKey: pk,
      deviceName: dev.deviceName,
      items: { LightSwitch: 1, Brightness: 42 },
    });
    expect(set.userErrors).toEqual([]);
    const [got] = await replies.waitFor(1);
    expect(lamp.seen.props).toEqual([
      {
        id: set.messageId,
        version: '1.0',
        params: { LightSwitch: 1, Brightness: 42 },
        method: 'thing.service.property.set',
      },
    ]);
    expect(got.downlinkReplies).toMatchObject({
      requestId: set.messageId,
      code: 200,
      topic: `/sys/${pk}/${dev.deviceName}/thing/service/property/set`,
      data: {},
      productKey: pk,
      deviceName: dev.deviceName,
    });
    replies.unsubscribe();
  });

  it('round-trips an async service (Reboot) through onService and a sync service (Blink) that returns its code and output', async () => {
    const [dev, lamp] = [devs[1]!, lamps[1]!];
    const replies = await liveReplies(dev.deviceName);
    const reboot = await command(t, 'invokeThingService', {
      productKey: pk,
      deviceName: dev.deviceName,
      identifier: 'Reboot',
      args: { DelaySeconds: 3 },
    });
    expect(reboot).toMatchObject({ callType: 'ASYNC', code: null, output: null, rrpcCode: null, userErrors: [] });
    const [r] = await replies.waitFor(1);
    expect(r.downlinkReplies).toMatchObject({
      requestId: reboot.messageId,
      code: 200,
      topic: `/sys/${pk}/${dev.deviceName}/thing/service/Reboot`,
      data: { Accepted: 1 },
    });
    expect(lamp.seen.reboots).toEqual([
      { id: reboot.messageId, version: '1.0', params: { DelaySeconds: 3 }, method: 'thing.service.Reboot' },
    ]);

    const blink = await command(t, 'invokeThingService', {
      productKey: pk,
      deviceName: dev.deviceName,
      identifier: 'Blink',
      args: { Times: 2, IntervalMs: 100 },
      timeoutMs: 5000,
    });
    expect(blink).toMatchObject({
      callType: 'SYNC',
      code: 200,
      output: { Done: 1 },
      rrpcCode: 'SUCCESS',
      userErrors: [],
    });
    expect(lamp.seen.blinks).toEqual([
      { id: blink.messageId, version: '1.0', params: { Times: 2, IntervalMs: 100 }, method: 'thing.service.Blink' },
    ]);
    // A sync reply is the mutation's answer, not a downlink reply.
    expect(replies.items.map((i) => i.downlinkReplies.requestId)).not.toContain(blink.messageId);

    const hist = (await serviceHistory(t, pk, dev.deviceName)).filter(
      (h) => h.messageId === reboot.messageId || h.messageId === blink.messageId,
    );
    expect(hist.map((h) => [h.identifier, h.callType, h.status, h.code, h.input, h.output])).toEqual([
      ['Reboot', 'ASYNC', 'REPLIED', 200, { DelaySeconds: 3 }, { Accepted: 1 }],
      ['Blink', 'SYNC', 'REPLIED', 200, { Times: 2, IntervalMs: 100 }, { Done: 1 }],
    ]);
    replies.unsubscribe();
  });

  it('round-trips a raw rrpc through the SDK client', async () => {
    const [dev, lamp] = [devs[2]!, lamps[2]!];
    const r = await command(t, 'rrpc', {
      productKey: pk,
      deviceName: dev.deviceName,
      payload: 'raw:hello',
      timeoutMs: 5000,
    });
    expect(r).toMatchObject({
      rrpcCode: 'SUCCESS',
      payloadText: 'pong:hello',
      payloadBase64: Buffer.from('pong:hello').toString('base64'),
      userErrors: [],
    });
    expect(lamp.seen.rrpc).toEqual([
      { topic: `/sys/${pk}/${dev.deviceName}/rrpc/request/${r.messageId}`, payload: 'raw:hello' },
    ]);
  });

  it('sends setDevicesProperty and invokeThingsService to every SDK device with a messageId each, and every reply arrives', async () => {
    const replies = await liveReplies();
    const names = devs.slice(0, 3).map((d) => d.deviceName);
    const set = await command(t, 'setDevicesProperty', {
      productKey: pk,
      deviceNames: names,
      items: { ColorTemperature: 3000 },
    });
    const inv = await command(t, 'invokeThingsService', {
      productKey: pk,
      deviceNames: names,
      identifier: 'Reboot',
      args: { DelaySeconds: 0 },
    });
    for (const r of [set, inv]) {
      expect(r.userErrors).toEqual([]);
      expect(r.results.map((x: any) => [x.deviceName, x.userErrors])).toEqual(names.map((n) => [n, []]));
    }
    const ids = [...set.results, ...inv.results].map((x: any) => x.messageId as string);
    expect(new Set(ids).size).toBe(6);
    const got = await replies.waitFor(6);
    const byId = new Map(got.map((g) => [g.downlinkReplies.requestId, g.downlinkReplies]));
    set.results.forEach((x: any) =>
      expect(byId.get(x.messageId)).toMatchObject({
        deviceName: x.deviceName,
        code: 200,
        topic: `/sys/${pk}/${x.deviceName}/thing/service/property/set`,
      }),
    );
    inv.results.forEach((x: any) =>
      expect(byId.get(x.messageId)).toMatchObject({
        deviceName: x.deviceName,
        code: 200,
        topic: `/sys/${pk}/${x.deviceName}/thing/service/Reboot`,
        data: { Accepted: 1 },
      }),
    );
    lamps.slice(0, 3).forEach((l, k) => {
      expect(l.seen.props.at(-1)).toMatchObject({ id: set.results[k].messageId, params: { ColorTemperature: 3000 } });
      expect(l.seen.reboots.at(-1)).toMatchObject({ id: inv.results[k].messageId, params: { DelaySeconds: 0 } });
    });
    replies.unsubscribe();
  });

  it("sends invokeThingsService of a sync service (Blink) on each device's RRPC topic, as the SDK expects, and records every answer", async () => {
    const names = devs.slice(0, 3).map((d) => d.deviceName);
    for (const l of lamps) l.seen.blinks.length = 0;
    const r = await command(t, 'invokeThingsService', {
      productKey: pk,
      deviceNames: names,
      identifier: 'Blink',
      args: { Times: 3 },
    });
    expect(r.userErrors).toEqual([]);
    const ids = r.results.map((x: any) => x.messageId as string);
    await waitFor(
      async () =>
        Promise.all(
          names.map(async (dn, k) => (await serviceHistory(t, pk, dn)).find((h) => h.messageId === ids[k])?.status),
        ),
      { until: (st) => st.every((s) => s !== 'SENT'), message: 'every Blink answered' },
    );
    for (const [k, dn] of names.entries()) {
      expect(lamps[k]!.seen.blinks).toEqual([
        { id: ids[k], version: '1.0', params: { Times: 3 }, method: 'thing.service.Blink' },
      ]);
      const h = (await serviceHistory(t, pk, dn)).find((x) => x.messageId === ids[k]);
      expect(h).toMatchObject({
        identifier: 'Blink',
        callType: 'SYNC',
        status: 'REPLIED',
        code: 200,
        output: { Done: 1 },
      });
    }
  });

  /** The SDK device goes away (a clean DISCONNECT; its session stays, clean: false), gets a property set and a Reboot
   *  meanwhile (both answered 9201), and comes back through its own client's reconnect (same ClientId: the SDK's
   *  signed timestamp is fixed per device object). Returns what the device and a downlinkReplies subscriber saw. */
  async function awayAndBack(k: number) {
    const [dev, lamp] = [devs[k]!, lamps[k]!];
    const dn = dev.deviceName;
    const status = await watchStatus(t, pk, dn);
    await lamp.end();
    const [offline] = await status.waitFor(1);
    await status.close();
    expect(offline).toMatchObject({ status: 'OFFLINE' });

    const set = await command(t, 'setDeviceProperty', {
      productKey: pk,
      deviceName: dn,
      items: { DeviceLabel: 'desk' },
    });
    const reboot = await command(t, 'invokeThingService', {
      productKey: pk,
      deviceName: dn,
      identifier: 'Reboot',
      args: { DelaySeconds: 1 },
    });
    const replies = Collected.subscribe(ws, DOWNLINK_REPLIES, { pk, dn, after: offline!.cursor });
    expect((await replies.waitFor(2)).map((r) => [r.downlinkReplies.requestId, r.downlinkReplies.code])).toEqual([
      [set.messageId, 9201],
      [reboot.messageId, 9201],
    ]);
    lamp.device._mqttClient.reconnect();
    await waitFor(async () => [lamp.seen.props.length, lamp.seen.reboots.length], {
      until: ([p, r]) => p! > 0 && r! > 0,
      message: 'both commands at the device',
    });
    // Both answers are in: a property post afterwards is stored after them (the device's messages are kept in order).
    await new Promise<void>((resolve, reject) =>
      lamp.device.publish(
        `/sys/${pk}/${dn}/thing/event/property/post`,
        JSON.stringify({ id: '9', version: '1.0', params: { Brightness: 5 }, method: 'thing.event.property.post' }),
        { qos: 1 },
        (err?: Error) => (err ? reject(err) : resolve()),
      ),
    );
    await replies.waitFor(4);
    const back = replies.items.slice(2).map((r) => r.downlinkReplies);
    replies.unsubscribe();
    return { dn, set, reboot, lamp, back };
  }

  it('delivers the property set and async service sent while its client was away (clean: false) when the SDK reconnects, and its answers arrive with 200', async () => {
    const { dn, set, reboot, lamp, back } = await awayAndBack(3);
    expect(back).toContainEqual(
      expect.objectContaining({
        requestId: set.messageId,
        code: 200,
        topic: `/sys/${pk}/${dn}/thing/service/property/set`,
      }),
    );
    expect(back).toContainEqual(
      expect.objectContaining({
        requestId: reboot.messageId,
        code: 200,
        topic: `/sys/${pk}/${dn}/thing/service/Reboot`,
        data: { Accepted: 1 },
      }),
    );
    expect(lamp.seen.props.map((p) => [p.id, p.params])).toContainEqual([set.messageId, { DeviceLabel: 'desk' }]);
    expect(lamp.seen.reboots.map((p) => [p.id, p.params])).toEqual([[reboot.messageId, { DelaySeconds: 1 }]]);
    const hist = (await serviceHistory(t, pk, dn)).filter(
      (h) => h.messageId === set.messageId || h.messageId === reboot.messageId,
    );
    expect(hist.map((h) => [h.identifier, h.status, h.code])).toEqual([
      ['set', 'REPLIED', 200],
      ['Reboot', 'REPLIED', 200],
    ]);
  });

  /**
   * aedes queues one copy of an offline QoS 1 message per matching subscription (aedes.js enqueueOffline ->
   * outgoingEnqueueCombi); the SDK's own property/set subscription and D19's property/+ overlap. The persistence
   * queues one copy per client (src/broker/persistence.ts), so the device applies it once.
   */
  it('delivers each command sent while the SDK device was away exactly once', async () => {
    const { set, reboot, lamp, back } = await awayAndBack(4);
    expect(lamp.seen.props.map((p) => p.id)).toEqual([set.messageId]);
    expect(lamp.seen.reboots.map((p) => p.id)).toEqual([reboot.messageId]);
    expect(back.map((r) => r.requestId)).toEqual([set.messageId, reboot.messageId]);
  });

  /**
   * The SDK puts `timestamp=Date.now()` in its MQTT ClientId, so a restarted device process presents a new ClientId.
   * The broker keys sessions by the device (`${pk}&${dn}`, src/broker/broker.ts preConnect), so the commands queued
   * for it (§7: offline QoS 1 kept for cleanSession=0 devices) still reach it.
   */
  it('delivers commands queued while away to the same device after its process restarts (a new SDK device object)', async () => {
    const dev = devs[5]!;
    const dn = dev.deviceName;
    const url = `mqtt://127.0.0.1:${t.platform.mqttPort}`;
    const first = sdkLamp(dev, url);
    await first.connected;
    await autoSubscribed(() => spy.broker(), pk, dn);
    const status = await watchStatus(t, pk, dn);
    await first.end();
    await status.waitFor(1);
    await status.close();
    const set = await command(t, 'setDeviceProperty', {
      productKey: pk,
      deviceName: dn,
      items: { DeviceLabel: 'after reboot' },
    });
    await new Promise((r) => setTimeout(r, 5)); // a later Date.now(): the restarted process signs a new timestamp
    const restarted = sdkLamp(dev, url);
    try {
      await restarted.connected;
      await waitFor(async () => restarted.seen.props.map((p) => p.id), {
        until: (ids) => ids.includes(set.messageId),
        message: 'the queued property set',
        timeout: 2000,
      });
    } finally {
      await restarted.end();
    }
  });
});
