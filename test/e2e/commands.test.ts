import { describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { answerCommands } from '../helpers/commands.ts';
import { adminLive } from '../helpers/graphql-ws.ts';
import { connectDevice, nextMessage, sleep } from '../helpers/devices.ts';
import { usePlatform, useProduct } from '../helpers/use-platform.ts';
import { lampTsl } from '../helpers/tsl-fixtures.ts';

/** A device that answers like a Link SDK device: property set and services reply with code 200; RRPC echoes. */
const answer = (c: MqttClient, pk: string, dn: string) =>
  answerCommands(c, pk, dn, { rawReply: (_id, text) => `echo:${text}`, replyQos: 0 });

describe('cloud-to-device commands', () => {
  const t = usePlatform('pglite');
  const fleet = useProduct(t, 4, { tsl: lampTsl });

  it('round-trips property set, async and sync services and RRPC, and streams async replies as downlinkReplies', async () => {
    const dev = fleet.devs[0]!;
    const c = await connectDevice(t, 'tcp', dev);
    answer(c, fleet.pk, dev.deviceName);
    const { ws, fromNow } = adminLive(t);
    const replies = await fromNow(
      `subscription($pk: String, $after: String) { downlinkReplies(productKey: $pk, after: $after) { requestId code topic data deviceName } }`,
      { pk: fleet.pk },
    );

    const set = await t.gql(
      `mutation($i: SetDevicePropertyInput!) { setDeviceProperty(input: $i) { messageId userErrors { code message field } } }`,
      {
        i: { productKey: fleet.pk, deviceName: dev.deviceName, items: { Brightness: 80, LightSwitch: 1 } },
      },
    );
    expect(set.data.setDeviceProperty.userErrors).toEqual([]);
    const reboot = await t.gql(
      `mutation($i: InvokeThingServiceInput!) { invokeThingService(input: $i) { messageId callType code output rrpcCode userErrors { code } } }`,
      {
        i: { productKey: fleet.pk, deviceName: dev.deviceName, identifier: 'Reboot', args: { DelaySeconds: 5 } },
      },
    );
    expect(reboot.data.invokeThingService).toMatchObject({
      callType: 'ASYNC',
      code: null,
      rrpcCode: null,
      userErrors: [],
    });
    const got = await replies.waitFor(2);
    expect(got.map((r) => r.downlinkReplies)).toEqual([
      {
        requestId: set.data.setDeviceProperty.messageId,
        code: 200,
        topic: `/sys/${fleet.pk}/${dev.deviceName}/thing/service/property/set`,
        data: {},
        deviceName: dev.deviceName,
      },
      {
        requestId: reboot.data.invokeThingService.messageId,
        code: 200,
        topic: `/sys/${fleet.pk}/${dev.deviceName}/thing/service/Reboot`,
        data: { Accepted: 1 },
        deviceName: dev.deviceName,
      },
    ]);

    const blink = await t.gql(
      `mutation($i: InvokeThingServiceInput!) { invokeThingService(input: $i) { callType code output rrpcCode userErrors { code } } }`,
      {
        i: {
          productKey: fleet.pk,
          deviceName: dev.deviceName,
          identifier: 'Blink',
          args: { Times: 3, IntervalMs: 200 },
          timeoutMs: 2000,
        },
      },
    );
    expect(blink.data.invokeThingService).toEqual({
      callType: 'SYNC',
      code: 200,
      output: { Done: 1 },
      rrpcCode: 'SUCCESS',
      userErrors: [],
    });

    const rrpc = await t.gql(
      `mutation($i: RrpcInput!) { rrpc(input: $i) { rrpcCode payloadText payloadBase64 messageId userErrors { code } } }`,
      {
        i: { productKey: fleet.pk, deviceName: dev.deviceName, payload: 'ping', timeoutMs: 2000 },
      },
    );
    expect(rrpc.data.rrpc).toMatchObject({ rrpcCode: 'SUCCESS', payloadText: 'echo:ping', userErrors: [] });

    const hist = await t.gql(
      `query($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!) { deviceServiceHistory(productKey: $pk, deviceName: $dn, from: $from, to: $to, order: ASC) { edges { node { identifier callType code status input output repliedAt } } } }`,
      {
        pk: fleet.pk,
        dn: dev.deviceName,
        from: new Date(Date.now() - 60_000).toISOString(),
        to: new Date(Date.now() + 60_000).toISOString(),
      },
    );
    expect(
      hist.data.deviceServiceHistory.edges.map((e: any) => [
        e.node.identifier,
        e.node.callType,
        e.node.status,
        e.node.code,
      ]),
    ).toEqual([
      ['set', 'ASYNC', 'REPLIED', 200],
      ['Reboot', 'ASYNC', 'REPLIED', 200],
      ['Blink', 'SYNC', 'REPLIED', 200],
    ]);
    replies.unsubscribe();
    await ws.dispose();
    await c.endAsync();
  });

  it('answers OFFLINE at once for an offline device and TIMEOUT for a device that never answers', async () => {
    const [off, mute] = [fleet.devs[1]!, fleet.devs[2]!];
    const t0 = Date.now();
    const r = await t.gql(`mutation($i: RrpcInput!) { rrpc(input: $i) { rrpcCode userErrors { code } } }`, {
      i: { productKey: fleet.pk, deviceName: off.deviceName, payload: 'x', timeoutMs: 1000 },
    });
    expect(r.data.rrpc.rrpcCode).toBe('OFFLINE');
    expect(Date.now() - t0).toBeLessThan(1000);
    const c = await connectDevice(t, 'tcp', mute);
    const t1 = Date.now();
    const r2 = await t.gql(`mutation($i: RrpcInput!) { rrpc(input: $i) { rrpcCode userErrors { code } } }`, {
      i: { productKey: fleet.pk, deviceName: mute.deviceName, payload: 'x', timeoutMs: 1000 },
    });
    expect(r2.data.rrpc.rrpcCode).toBe('TIMEOUT');
    expect(Date.now() - t1).toBeGreaterThanOrEqual(1000);
    await c.endAsync();
  });

  it('refuses invalid commands with userErrors and sends nothing', async () => {
    const dev = fleet.devs[3]!;
    const c = await connectDevice(t, 'tcp', dev);
    const seen: string[] = [];
    c.on('message', (topic) => seen.push(topic));
    await c.subscribeAsync(`/${fleet.pk}/${dev.deviceName}/user/get`);
    const cases: [string, string, Record<string, unknown>, string][] = [
      [
        'setDeviceProperty',
        'SetDevicePropertyInput',
        { productKey: fleet.pk, deviceName: 'nobody-here', items: { Brightness: 1 } },
        'DEVICE_NOT_FOUND',
      ],
      [
        'setDeviceProperty',
        'SetDevicePropertyInput',
        { productKey: fleet.pk, deviceName: dev.deviceName, items: { PowerConsumption: 1.5 } },
        'PROPERTY_NOT_WRITABLE',
      ],
      [
        'setDeviceProperty',
        'SetDevicePropertyInput',
        { productKey: fleet.pk, deviceName: dev.deviceName, items: { Brightness: 'high' } },
        'INVALID_VALUE',
      ],
      [
        'setDeviceProperty',
        'SetDevicePropertyInput',
        { productKey: fleet.pk, deviceName: dev.deviceName, items: { Nope: 1 } },
        'IDENTIFIER_NOT_FOUND',
      ],
      [
        'invokeThingService',
        'InvokeThingServiceInput',
        { productKey: fleet.pk, deviceName: dev.deviceName, identifier: 'Explode' },
        'IDENTIFIER_NOT_FOUND',
      ],
      [
        'invokeThingService',
        'InvokeThingServiceInput',
        { productKey: fleet.pk, deviceName: dev.deviceName, identifier: 'Blink', args: { Times: 99 } },
        'INVALID_VALUE',
      ],
      [
        'pub',
        'PubInput',
        {
          productKey: fleet.pk,
          topicFullName: `/sys/${fleet.pk}/${dev.deviceName}/thing/service/property/set`,
          payload: '{}',
        },
        'TOPIC_NOT_ALLOWED',
      ],
      [
        'pub',
        'PubInput',
        { productKey: fleet.pk, topicFullName: `/${fleet.pk}/${dev.deviceName}/user/update`, payload: '{}' },
        'TOPIC_NOT_ALLOWED',
      ],
      [
        'pub',
        'PubInput',
        {
          productKey: fleet.pk,
          topicFullName: `/${fleet.pk}/${dev.deviceName}/user/get`,
          payload: 'x'.repeat(300 * 1024),
        },
        'PAYLOAD_TOO_LARGE',
      ],
      [
        'rrpc',
        'RrpcInput',
        { productKey: fleet.pk, deviceName: dev.deviceName, payload: 'x', timeoutMs: 500 },
        'TIMEOUT_OUT_OF_RANGE',
      ],
      [
        'rrpc',
        'RrpcInput',
        { productKey: fleet.pk, deviceName: dev.deviceName, payload: 'x', timeoutMs: 9000 },
        'TIMEOUT_OUT_OF_RANGE',
      ],
      [
        'rrpc',
        'RrpcInput',
        { productKey: 'a1NoSuchProd', deviceName: dev.deviceName, payload: 'x' },
        'PRODUCT_NOT_FOUND',
      ],
    ];
    for (const [field, type, input, code] of cases) {
      const r = await t.gql(`mutation($i: ${type}!) { ${field}(input: $i) { userErrors { code message } } }`, {
        i: input,
      });
      expect(
        r.data[field].userErrors.map((e: any) => e.code),
        `${field} ${JSON.stringify(input).slice(0, 120)}`,
      ).toContain(code);
    }
    await t.gql(`mutation($i: DisableDeviceInput!) { disableDevice(input: $i) { userErrors { code } } }`, {
      i: { productKey: fleet.pk, deviceName: dev.deviceName },
    });
    const r = await t.gql(`mutation($i: PubInput!) { pub(input: $i) { userErrors { code } } }`, {
      i: { productKey: fleet.pk, topicFullName: `/${fleet.pk}/${dev.deviceName}/user/get`, payload: 'x' },
    });
    expect(r.data.pub.userErrors[0].code).toBe('DEVICE_DISABLED');
    // Nothing may reach the disabled device: this window proves a negative, so it is a real delay.
    await sleep(200);
    expect(seen).toEqual([]);
    await t.gql(`mutation($i: EnableDeviceInput!) { enableDevice(input: $i) { userErrors { code } } }`, {
      i: { productKey: fleet.pk, deviceName: dev.deviceName },
    });
    await c.endAsync().catch(() => {});
  });

  it('publishes to custom and broadcast topics with pub and pubBroadcast', async () => {
    const dev = fleet.devs[0]!;
    const c = await connectDevice(t, 'ws', dev);
    await c.subscribeAsync([`/${fleet.pk}/${dev.deviceName}/user/get`, `/broadcast/${fleet.pk}/news`]);
    const custom = nextMessage(c, (tp) => tp === `/${fleet.pk}/${dev.deviceName}/user/get`);
    const bin = Buffer.from([1, 2, 3, 250]);
    const r = await t.gql(`mutation($i: PubInput!) { pub(input: $i) { messageId userErrors { code } } }`, {
      i: {
        productKey: fleet.pk,
        topicFullName: `/${fleet.pk}/${dev.deviceName}/user/get`,
        payload: bin.toString('base64'),
        encoding: 'BASE64',
        qos: 1,
      },
    });
    expect(r.data.pub.userErrors).toEqual([]);
    expect((await custom).payload.equals(bin)).toBe(true);
    const news = nextMessage(c, (tp) => tp === `/broadcast/${fleet.pk}/news`);
    await t.gql(`mutation($i: PubBroadcastInput!) { pubBroadcast(input: $i) { messageId userErrors { code } } }`, {
      i: { productKey: fleet.pk, topicFullName: `/broadcast/${fleet.pk}/news`, payload: 'hello all' },
    });
    expect((await news).payload.toString()).toBe('hello all');
    const all = nextMessage(c, (tp) => tp.startsWith(`/sys/${fleet.pk}/${dev.deviceName}/broadcast/request/`));
    const b = await t.gql(
      `mutation($i: PubBroadcastInput!) { pubBroadcast(input: $i) { messageId userErrors { code } } }`,
      { i: { productKey: fleet.pk, payload: 'to every online device' } },
    );
    const m = await all;
    expect(m.topic).toBe(`/sys/${fleet.pk}/${dev.deviceName}/broadcast/request/${b.data.pubBroadcast.messageId}`);
    await c.endAsync();
  });
});
