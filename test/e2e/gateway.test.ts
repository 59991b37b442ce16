import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminLive } from '../helpers/graphql-ws.ts';
import { connectDevice, nextMessage, productWithDevices, sleep, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { lampTsl } from '../helpers/tsl-fixtures.ts';
import { waitFor } from '../helpers/wait.ts';

const iot = createRequire(import.meta.url)('alibabacloud-iot-device-sdk') as any;

/** Call an SDK method taking a callback and resolve with what the callback receives. */
const call = <T = any>(fn: (cb: (r: T) => void) => void, ms = 5000) =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('SDK callback never came')), ms);
    fn((r) => {
      clearTimeout(t);
      resolve(r);
    });
  });

describe('gateways and sub-devices with the Link SDK gateway API', () => {
  const t = usePlatform('pglite');
  let gwPk: string;
  let gws: DeviceCreds[];
  let subPk: string;
  let subs: DeviceCreds[];
  beforeAll(async () => {
    ({ productKey: gwPk, devices: gws } = await productWithDevices(t, 2, { nodeType: 'GATEWAY' }));
    ({ productKey: subPk, devices: subs } = await productWithDevices(t, 3, {
      tsl: lampTsl,
      dynamicRegistration: true,
    }));
    // thing/sub/register needs the sub-device product to allow the gateway's product (docs/security-device.md).
    await t.gql(
      `mutation($i: SetSubDeviceGatewaysInput!) { setSubDeviceGateways(input: $i) { userErrors { code } } }`,
      { i: { productKey: subPk, gatewayProductKeys: [gwPk] } },
    );
  });

  it('brings two sub-devices online through a gateway, carries their posts and services, and takes them offline with it', async () => {
    const [gw] = gws;
    const { ws, fromNow } = adminLive(t);
    const status = await fromNow(
      `subscription($pk: String, $after: String) { deviceStatusChanged(productKey: $pk, after: $after) { status deviceName reason } }`,
      { pk: subPk },
    );
    const topo = await fromNow(
      `subscription($pk: String, $after: String) { topologyChanged(productKey: $pk, after: $after) { action gwDeviceName devices { productKey deviceName iotId } } }`,
      { pk: gwPk },
    );

    const gateway = iot.gateway({
      productKey: gwPk,
      deviceName: gw!.deviceName,
      deviceSecret: gw!.deviceSecret,
      brokerUrl: `mqtt://127.0.0.1:${t.platform.mqttPort}`,
    });
    await new Promise<void>((r) => gateway.once('connect', () => r()));
    // A second sub-device registered by the gateway itself (thing/sub/register, dynamic registration).
    const reg = await call((cb) => gateway.regiestSubDevice([{ productKey: subPk, deviceName: 'sub-registered' }], cb));
    expect(reg.code).toBe(200);
    const registered = {
      productKey: subPk,
      deviceName: 'sub-registered',
      deviceSecret: reg.data[0].deviceSecret as string,
    };
    const first = subs[0]!;
    const added = await call((cb) => gateway.addTopo([first, registered], cb));
    expect(added.code).toBe(200);
    const bound = await t.gql(
      `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { subDevices { deviceName } } }`,
      { pk: gwPk, dn: gw!.deviceName },
    );
    expect(bound.data.device.subDevices.map((d: any) => d.deviceName).sort()).toEqual(
      [first.deviceName, 'sub-registered'].sort(),
    );

    const logins: any[] = [];
    const subA = gateway.login(first, (r: any) => logins.push(r));
    const subB = gateway.login(registered, (r: any) => logins.push(r));
    await waitFor(() => logins.length >= 2, { message: 'both sub-device logins answered', timeout: 2_500 });
    expect(logins.map((r) => r.code)).toEqual([200, 200]);
    const online = await status.waitFor(2);
    expect(online.map((e) => e.deviceStatusChanged.status)).toEqual(['ONLINE', 'ONLINE']);

    await sleep(200); // the SDK subscribes the sub-devices' topics after login
    const post = await call((cb) => subA.postProps({ Brightness: 42 }, cb));
    expect(post.code).toBe(200);
    subB.onService('Blink', (_req: unknown, reply: (r: unknown, mode: string) => void) =>
      reply({ code: 200, data: { Done: 1 } }, 'sync'),
    );
    await sleep(200);
    const blink = await t.gql(
      `mutation($i: InvokeThingServiceInput!) { invokeThingService(input: $i) { rrpcCode code output } }`,
      {
        i: {
          productKey: subPk,
          deviceName: 'sub-registered',
          identifier: 'Blink',
          args: { Times: 2 },
          timeoutMs: 3000,
        },
      },
    );
    expect(blink.data.invokeThingService).toEqual({ rrpcCode: 'SUCCESS', code: 200, output: { Done: 1 } });
    const props = await t.gql(
      `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { properties { identifier value } gateway { deviceName } } }`,
      { pk: subPk, dn: first.deviceName },
    );
    expect(props.data.device).toEqual({
      properties: [{ identifier: 'Brightness', value: 42 }],
      gateway: { deviceName: gw!.deviceName },
    });

    const topoEvents = await topo.waitFor(1);
    expect(topoEvents[0].topologyChanged).toMatchObject({ action: 'add', gwDeviceName: gw!.deviceName });
    expect(topoEvents[0].topologyChanged.devices).toHaveLength(2);

    await new Promise<void>((r) => gateway.end(false, () => r()));
    const all = await status.waitFor(4);
    expect(all.slice(2).map((e) => e.deviceStatusChanged.status)).toEqual(['OFFLINE', 'OFFLINE']);
    for (const c of [status, topo]) c.unsubscribe();
    await ws.dispose();
  });

  it('answers bad signatures, foreign sub-devices and sub-devices without a session with the reference codes, changing nothing', async () => {
    const [gwA, gwB] = gws;
    const sub = subs[1]!;
    const other = subs[2]!;
    const c = await connectDevice(t, 'tcp', gwA!);
    await c.subscribeAsync([
      `/sys/${gwPk}/${gwA!.deviceName}/thing/topo/add_reply`,
      `/ext/session/${gwPk}/${gwA!.deviceName}/combine/login_reply`,
      `/ext/error/${gwPk}/${gwA!.deviceName}`,
    ]);
    const sign = (d: DeviceCreds, secret = d.deviceSecret) => {
      const ts = String(Date.now());

      return {
        productKey: d.productKey,
        deviceName: d.deviceName,
        clientId: `${d.productKey}&${d.deviceName}`,
        timestamp: ts,
        signmethod: 'hmacsha1',
        sign: createHmac('sha1', secret)
          .update(
            `clientId${d.productKey}&${d.deviceName}deviceName${d.deviceName}productKey${d.productKey}timestamp${ts}`,
          )
          .digest('hex'),
      };
    };
    const ask = async (topic: string, replyTopic: string, body: unknown) => {
      const r = nextMessage(c, (tp) => tp === replyTopic);
      await c.publishAsync(topic, JSON.stringify(body), { qos: 1 });
      return JSON.parse((await r).payload.toString());
    };
    const topoAdd = `/sys/${gwPk}/${gwA!.deviceName}/thing/topo/add`;
    expect(
      (
        await ask(topoAdd, `${topoAdd}_reply`, {
          id: '1',
          params: [sign(sub, 'f'.repeat(32))],
          method: 'thing.topo.add',
        })
      ).code,
    ).toBe(401);
    const login = `/ext/session/${gwPk}/${gwA!.deviceName}/combine/login`;
    // Not bound yet: no login.
    expect((await ask(login, `${login}_reply`, { id: '2', params: sign(sub) })).code).toBe(6401);
    expect(
      (await ask(topoAdd, `${topoAdd}_reply`, { id: '3', params: [sign(sub)], method: 'thing.topo.add' })).code,
    ).toBe(200);
    expect((await ask(login, `${login}_reply`, { id: '4', params: sign(sub, '0'.repeat(32)) })).code).toBe(6287);
    // A second gateway cannot take a sub-device bound to the first.
    const c2 = await connectDevice(t, 'tcp', gwB!);
    await c2.subscribeAsync(`/sys/${gwPk}/${gwB!.deviceName}/thing/topo/add_reply`);
    const r2 = nextMessage(c2, () => true);
    await c2.publishAsync(
      `/sys/${gwPk}/${gwB!.deviceName}/thing/topo/add`,
      JSON.stringify({ id: '5', params: [sign(sub)], method: 'thing.topo.add' }),
      { qos: 1 },
    );
    expect(JSON.parse((await r2).payload.toString()).code).toBe(6619);
    // Traffic for a bound sub-device that is not logged in: 520 on /ext/error, the gateway stays connected.
    const err = nextMessage(c, (tp) => tp === `/ext/error/${gwPk}/${gwA!.deviceName}`);
    await c.publishAsync(
      `/sys/${subPk}/${sub.deviceName}/thing/event/property/post`,
      JSON.stringify({ id: '6', params: { Brightness: 1 }, method: 'thing.event.property.post' }),
      { qos: 1 },
    );
    expect(JSON.parse((await err).payload.toString())).toMatchObject({
      code: 520,
      data: { productKey: subPk, deviceName: sub.deviceName },
    });
    // A device that is not its sub-device at all: denied (disconnect, D7).
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish(`/sys/${subPk}/${other.deviceName}/thing/event/property/post`, '{}', { qos: 1 });
    await closed;
    const state = await t.gql(
      `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { state properties { identifier } } }`,
      { pk: subPk, dn: sub.deviceName },
    );
    expect(state.data.device).toEqual({ state: 'UNACTIVE', properties: [] });
    await c2.endAsync();
  });

  it('stores a pack post of a gateway for its bound sub-devices, and refuses one for a device it is not bound to', async () => {
    const gw = gws[1]!;
    const sub = subs[2]!;
    const c = await connectDevice(t, 'tcp', gw);
    await c.subscribeAsync([
      `/sys/${gwPk}/${gw.deviceName}/thing/topo/add_reply`,
      `/sys/${gwPk}/${gw.deviceName}/thing/event/property/pack/post_reply`,
    ]);
    const ts = String(Date.now());
    const sign = createHmac('sha1', sub.deviceSecret)
      .update(`deviceName${sub.deviceName}productKey${subPk}timestamp${ts}`)
      .digest('hex');
    const topoAdd = `/sys/${gwPk}/${gw.deviceName}/thing/topo/add`;
    const added = nextMessage(c, (tp) => tp === `${topoAdd}_reply`);
    await c.publishAsync(
      topoAdd,
      JSON.stringify({
        id: '1',
        params: [
          { productKey: subPk, deviceName: sub.deviceName, timestamp: Number(ts), signMethod: 'HmacSha1', sign },
        ],
        method: 'thing.topo.add',
      }),
      { qos: 1 },
    );
    expect(JSON.parse((await added).payload.toString()).code).toBe(200);
    const pack = `/sys/${gwPk}/${gw.deviceName}/thing/event/property/pack/post`;
    const ask = async (body: unknown) => {
      const r = nextMessage(c, (tp) => tp === `${pack}_reply`);
      await c.publishAsync(pack, JSON.stringify(body), { qos: 1 });
      return JSON.parse((await r).payload.toString());
    };
    const ok = await ask({
      id: '2',
      params: {
        subDevices: [
          {
            identity: { productKey: subPk, deviceName: sub.deviceName },
            properties: { Brightness: { value: 33, time: Date.now() } },
            events: { Fault: { value: { ErrorCode: 3, Detail: 'x' } } },
          },
        ],
      },
      method: 'thing.event.property.pack.post',
    });
    expect(ok.code).toBe(200);
    const stranger = await ask({
      id: '3',
      params: {
        subDevices: [
          { identity: { productKey: subPk, deviceName: subs[1]!.deviceName }, properties: { Brightness: 1 } },
        ],
      },
      method: 'thing.event.property.pack.post',
    });
    expect(stranger.code).toBe(6401);
    const d = await t.gql(
      `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { properties { identifier value } } }`,
      { pk: subPk, dn: sub.deviceName },
    );
    expect(d.data.device.properties).toEqual([{ identifier: 'Brightness', value: 33 }]);
    await c.endAsync();
  });
});
