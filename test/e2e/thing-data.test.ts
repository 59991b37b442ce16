import { expect, it } from 'vitest';
import { adminLive } from '../helpers/graphql-ws.ts';
import { connectDevice, nextMessage, sleep, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform, useProduct } from '../helpers/use-platform.ts';
import { describeEachDb } from '../helpers/services-env.ts';
import { lampTsl } from '../helpers/tsl-fixtures.ts';

describeEachDb('thing model data on %s', (kind) => {
  const t = usePlatform(kind);
  const fleet = useProduct(t, 4, { tsl: lampTsl });

  async function post(
    c: Awaited<ReturnType<typeof connectDevice>>,
    dev: DeviceCreds,
    suffix: string,
    body: unknown,
    qos: 0 | 1 = 1,
  ) {
    const topic = `/sys/${fleet.pk}/${dev.deviceName}/${suffix}`;
    const reply = nextMessage(c, (tp) => tp === `${topic}_reply`);
    await c.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos });
    return JSON.parse((await reply).payload.toString());
  }

  it('stores property posts, replies 200 after commit, streams them and answers history and series queries', async () => {
    const dev = fleet.devs[0]!;
    const { ws, fromNow } = adminLive(t);
    const posted = await fromNow(
      `subscription($pk: String, $after: String) { devicePropertyPosted(productKey: $pk, after: $after) { deviceName requestId items checkFailedData cursor } }`,
      { pk: fleet.pk },
    );
    const c = await connectDevice(t, 'tcp', dev);
    const base = Date.UTC(2026, 0, 1, 0, 0, 0);
    for (let i = 0; i < 6; i++) {
      const r = await post(c, dev, 'thing/event/property/post', {
        id: String(100 + i),
        version: '1.0',
        params: {
          Brightness: { value: 10 * i, time: base + i * 60_000 },
          LightSwitch: { value: i % 2, time: base + i * 60_000 },
        },
        method: 'thing.event.property.post',
      });
      expect(r).toMatchObject({ id: String(100 + i), code: 200, data: {}, method: 'thing.event.property.post' });
    }
    const short = await post(c, dev, 'thing/event/property/post', {
      id: '7',
      params: { DeviceLabel: 'desk', Brightness: 101 },
      method: 'thing.event.property.post',
    });
    expect(short.code).toBe(200);
    expect(short.data).toEqual({ Brightness: expect.stringContaining('Brightness') });
    const events = await posted.waitFor(7);
    expect(events[0].devicePropertyPosted).toMatchObject({
      deviceName: dev.deviceName,
      requestId: '100',
      items: { Brightness: { value: 0, time: base } },
    });
    expect(events[6].devicePropertyPosted.checkFailedData.Brightness).toMatchObject({ value: 101, code: 6316 });

    const hist = await t.gql(
      `query($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!, $after: String) { devicePropertyHistory(productKey: $pk, deviceName: $dn, identifier: "Brightness", from: $from, to: $to, first: 4, after: $after, order: ASC) { edges { node { value time } } pageInfo { hasNextPage endCursor } } }`,
      {
        pk: fleet.pk,
        dn: dev.deviceName,
        from: new Date(base).toISOString(),
        to: new Date(base + 3600_000).toISOString(),
      },
    );
    expect(hist.data.devicePropertyHistory.edges.map((e: any) => e.node.value)).toEqual([0, 10, 20, 30]);
    const page2 = await t.gql(
      `query($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!, $after: String) { devicePropertyHistory(productKey: $pk, deviceName: $dn, identifier: "Brightness", from: $from, to: $to, first: 4, after: $after, order: ASC) { edges { node { value } } pageInfo { hasNextPage } } }`,
      {
        pk: fleet.pk,
        dn: dev.deviceName,
        from: new Date(base).toISOString(),
        to: new Date(base + 3600_000).toISOString(),
        after: hist.data.devicePropertyHistory.pageInfo.endCursor,
      },
    );
    expect(page2.data.devicePropertyHistory.edges.map((e: any) => e.node.value)).toEqual([40, 50]);
    expect(page2.data.devicePropertyHistory.pageInfo.hasNextPage).toBe(false);

    const series = await t.gql(
      `query($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!) { devicePropertySeries(productKey: $pk, deviceName: $dn, identifier: "Brightness", from: $from, to: $to, interval: "2m", aggregations: [AVG, MIN, MAX, COUNT, FIRST, LAST]) { start count avg min max sum first last } }`,
      {
        pk: fleet.pk,
        dn: dev.deviceName,
        from: new Date(base).toISOString(),
        to: new Date(base + 3600_000).toISOString(),
      },
    );
    expect(series.data.devicePropertySeries).toEqual([
      { start: new Date(base).toISOString(), count: 2, avg: 5, min: 0, max: 10, sum: 10, first: 0, last: 10 },
      {
        start: new Date(base + 120_000).toISOString(),
        count: 2,
        avg: 25,
        min: 20,
        max: 30,
        sum: 50,
        first: 20,
        last: 30,
      },
      {
        start: new Date(base + 240_000).toISOString(),
        count: 2,
        avg: 45,
        min: 40,
        max: 50,
        sum: 90,
        first: 40,
        last: 50,
      },
    ]);

    const latest = await t.gql(
      `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { properties { identifier value time } } }`,
      { pk: fleet.pk, dn: dev.deviceName },
    );
    const props = Object.fromEntries(latest.data.device.properties.map((p: any) => [p.identifier, p.value]));
    expect(props).toEqual({ Brightness: 50, LightSwitch: 1, DeviceLabel: 'desk' });
    await c.endAsync();
    posted.unsubscribe();
    await ws.dispose();
  });

  it('stores event posts with their TSL type and streams them', async () => {
    const dev = fleet.devs[1]!;
    const { ws, fromNow } = adminLive(t);
    const stream = await fromNow(
      `subscription($pk: String, $after: String) { deviceEventPosted(productKey: $pk, eventType: ALERT, after: $after) { identifier type value name } }`,
      { pk: fleet.pk },
    );
    const c = await connectDevice(t, 'tcp', dev);
    const r = await post(c, dev, 'thing/event/OverHeat/post', {
      id: '1',
      params: { value: { Temperature: 88.5 } },
      method: 'thing.event.OverHeat.post',
    });
    expect(r.code).toBe(200);
    const f = await post(c, dev, 'thing/event/Fault/post', {
      id: '2',
      params: { value: { ErrorCode: 7, Detail: 'fan' } },
      method: 'thing.event.Fault.post',
    });
    expect(f.code).toBe(200);
    const ev = await stream.waitFor(1);
    expect(ev[0].deviceEventPosted).toEqual({
      identifier: 'OverHeat',
      type: 'ALERT',
      value: { Temperature: 88.5 },
      name: 'Over-temperature alert',
    });
    const h = await t.gql(
      `query($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!) { deviceEventHistory(productKey: $pk, deviceName: $dn, from: $from, to: $to) { edges { node { identifier eventType output } } } }`,
      {
        pk: fleet.pk,
        dn: dev.deviceName,
        from: new Date(Date.now() - 60_000).toISOString(),
        to: new Date(Date.now() + 60_000).toISOString(),
      },
    );
    expect(h.data.deviceEventHistory.edges.map((e: any) => [e.node.identifier, e.node.eventType])).toEqual([
      ['Fault', 'ERROR'],
      ['OverHeat', 'ALERT'],
    ]);
    // Nothing more may arrive: this window proves a negative, so it is a real delay.
    await sleep(100);
    expect(stream.items).toHaveLength(1);
    await c.endAsync();
    stream.unsubscribe();
    await ws.dispose();
  });

  it('answers malformed JSON with 460, a wrong method with 6300, 201 properties with 6104, and stores nothing', async () => {
    const dev = fleet.devs[2]!;
    const c = await connectDevice(t, 'tcp', dev);
    const bad = await post(c, dev, 'thing/event/property/post', '{"id":"5","params":');
    expect(bad.code).toBe(460);
    const wrong = await post(c, dev, 'thing/event/property/post', {
      id: '6',
      params: { Brightness: 1 },
      method: 'thing.event.Fault.post',
    });
    expect(wrong).toMatchObject({ id: '6', code: 6300 });
    const many = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`P${i}`, i]));
    const tooMany = await post(c, dev, 'thing/event/property/post', {
      id: '7',
      params: many,
      method: 'thing.event.property.post',
    });
    expect(tooMany).toMatchObject({ id: '7', code: 6104 });
    const latest = await t.gql(
      `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { properties { identifier } } }`,
      { pk: fleet.pk, dn: dev.deviceName },
    );
    expect(latest.data.device.properties).toEqual([]);
    await c.endAsync();
  });

  it('echoes string ids with the Node SDK suffix exactly and honours sys.ack = 0', async () => {
    const dev = fleet.devs[3]!;
    const c = await connectDevice(t, 'tcp', dev);
    const id = `42|exp-topic|/sys/${fleet.pk}/${dev.deviceName}/thing/event/property/post_reply`;
    const r = await post(c, dev, 'thing/event/property/post', {
      id,
      params: { Brightness: 3 },
      method: 'thing.event.property.post',
    });
    expect(r.id).toBe(id);
    const replies: string[] = [];
    c.on('message', (topic) => replies.push(topic));
    await c.publishAsync(
      `/sys/${fleet.pk}/${dev.deviceName}/thing/event/property/post`,
      JSON.stringify({ id: '43', sys: { ack: 0 }, params: { Brightness: 4 }, method: 'thing.event.property.post' }),
      { qos: 1 },
    );
    // No reply may come (sys.ack = 0): this window proves a negative, so it is a real delay.
    await sleep(300);
    expect(replies).toEqual([]);
    const latest = await t.gql(
      `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { properties { identifier value } } }`,
      { pk: fleet.pk, dn: dev.deviceName },
    );
    expect(latest.data.device.properties).toEqual([{ identifier: 'Brightness', value: 4 }]);
    await c.endAsync();
  });
});
