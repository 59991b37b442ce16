import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceState } from '../helpers/commands.ts';
import { waitFor } from '../helpers/wait.ts';
import { productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { iot } from '../helpers/link-sdk.ts';
import { PythonWireDevice } from '../helpers/python-wire.ts';

const SHADOW_QUERY = `query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { shadow { version reported desired metadata document } } }`;
const UPDATE = `mutation($i: UpdateDeviceShadowInput!) { updateDeviceShadow(input: $i) { shadow { version desired reported } userErrors { code field } } }`;

/**
 * The device shadow (alink-protocol.md §2.4) with the Python Link SDK's wire form (`thing_update_shadow`,
 * `thing_get_shadow`: QoS 1 publishes on /shadow/update, answers dispatched from /shadow/get without a SUBSCRIBE).
 */
describe('the device shadow', () => {
  const t = usePlatform('pglite');
  let dev: DeviceCreds;
  let nodeDev: DeviceCreds;
  let d: PythonWireDevice;

  beforeAll(async () => {
    [dev, nodeDev] = (await productWithDevices(t, 2)).devices as [DeviceCreds, DeviceCreds];
    d = await PythonWireDevice.connect(t, dev);
    await deviceState(t, dev.productKey, dev.deviceName, 'ONLINE');
  });
  afterAll(async () => {
    await d?.end().catch(() => {});
  });

  const send = async (body: unknown) => {
    const reply = d.next(`/shadow/get/${dev.productKey}/${dev.deviceName}`);
    await d.publish(`/shadow/update/${dev.productKey}/${dev.deviceName}`, body, 1);
    return reply;
  };
  const shadow = async () => (await t.gql(SHADOW_QUERY, { pk: dev.productKey, dn: dev.deviceName })).data.device.shadow;

  it('answers get before any write with 407, then keeps reported state with versions and metadata', async () => {
    expect(await send({ method: 'get' })).toMatchObject({
      method: 'reply',
      payload: { status: 'error', content: { errorcode: '407' } },
    });
    expect(await shadow()).toBeNull();

    const r1 = await send({ state: { reported: { color: 'red', level: 3 } }, method: 'update', version: 1 });
    expect(r1).toEqual({ method: 'reply', payload: { status: 'success', version: 1 }, timestamp: expect.any(Number) });
    expect(String(r1.timestamp)).toHaveLength(10); // seconds, as the reference sends them
    const got = await send({ method: 'get' });
    expect(got).toMatchObject({
      method: 'reply',
      payload: { status: 'success', state: { reported: { color: 'red', level: 3 } } },
      version: 1,
    });
    expect(got.payload.metadata.reported.color.timestamp).toEqual(expect.any(Number));
    expect(got.payload.state.desired).toBeUndefined();
  });

  it('refuses a version that is not greater (409) and malformed messages with the reference codes, changing nothing', async () => {
    const conflict = await send({ state: { reported: { color: 'blue' } }, method: 'update', version: 1 });
    expect(conflict).toMatchObject({ method: 'reply', payload: { status: 'error', content: { errorcode: '409' } } });
    expect((await send('not json')).payload.content.errorcode).toBe('400');
    expect((await send({ state: { reported: { a: 1 } }, version: 9 })).payload.content.errorcode).toBe('401');
    expect((await send({ method: 'update', version: 9 })).payload.content.errorcode).toBe('402');
    expect(
      (await send({ method: 'update', state: { reported: { a: 1 } }, version: 'x' })).payload.content.errorcode,
    ).toBe('403');
    expect((await send({ method: 'update', state: {}, version: 9 })).payload.content.errorcode).toBe('404');
    expect((await send({ method: 'update', state: { reported: {} }, version: 9 })).payload.content.errorcode).toBe(
      '405',
    );
    expect((await send({ method: 'patch', state: { reported: { a: 1 } }, version: 9 })).payload.content.errorcode).toBe(
      '406',
    );
    expect(await shadow()).toMatchObject({ version: 1, reported: { color: 'red', level: 3 } });
  });

  it('pushes a cloud change of desired to the device as control, and the device clears it after applying', async () => {
    const control = d.next(`/shadow/get/${dev.productKey}/${dev.deviceName}`);
    const stale = await t.gql(UPDATE, {
      i: { productKey: dev.productKey, deviceName: dev.deviceName, desired: { color: 'green' }, version: 1 },
    });
    expect(stale.data.updateDeviceShadow).toEqual({
      shadow: null,
      userErrors: [{ code: 'VERSION_CONFLICT', field: ['input', 'version'] }],
    });
    const ok = await t.gql(UPDATE, {
      i: { productKey: dev.productKey, deviceName: dev.deviceName, desired: { color: 'green' }, version: 2 },
    });
    expect(ok.data.updateDeviceShadow).toEqual({
      shadow: { version: 2, desired: { color: 'green' }, reported: { color: 'red', level: 3 } },
      userErrors: [],
    });
    expect(await control).toMatchObject({
      method: 'control',
      payload: { status: 'success', state: { reported: { color: 'red', level: 3 }, desired: { color: 'green' } } },
      version: 2,
    });

    // The device applies it, reports the new value and clears desired (C SDK SHADOW_PAYLOAD_CLEAN_FMT).
    expect((await send({ state: { reported: { color: 'green' } }, method: 'update', version: 3 })).payload).toEqual({
      status: 'success',
      version: 3,
    });
    expect((await send({ state: { desired: 'null' }, method: 'update', version: 4 })).payload).toEqual({
      status: 'success',
      version: 4,
    });
    expect(await shadow()).toMatchObject({
      version: 4,
      reported: { color: 'green', level: 3 },
      desired: {},
      document: { state: { reported: { color: 'green', level: 3 } }, version: 4 },
    });
  });

  it('deletes attributes, then the whole reported section, and -1 resets the shadow to version 0', async () => {
    expect((await send({ method: 'delete', state: { reported: { level: 'null' } }, version: 5 })).payload).toEqual({
      status: 'success',
      version: 5,
    });
    expect(await shadow()).toMatchObject({ version: 5, reported: { color: 'green' } });
    expect(
      (await send({ method: 'delete', state: { reported: { color: 'null' } }, version: 5 })).payload.content.errorcode,
    ).toBe('409');
    expect((await send({ method: 'delete', state: { reported: 'null' }, version: 6 })).payload).toEqual({
      status: 'success',
      version: 6,
    });
    expect(await shadow()).toMatchObject({ version: 6, reported: {}, metadata: { reported: {} } });
    expect((await send({ state: { reported: { color: 'white' } }, method: 'update', version: -1 })).payload).toEqual({
      status: 'success',
      version: 0,
    });
    expect((await send({ state: { reported: { color: 'white' } }, method: 'update', version: 1 })).payload).toEqual({
      status: 'success',
      version: 1,
    });
    expect(await shadow()).toMatchObject({ version: 1, reported: { color: 'white' } });
    // Every answer came on /shadow/get without the device subscribing to anything.
    expect(new Set(d.topics)).toEqual(new Set([`/shadow/get/${dev.productKey}/${dev.deviceName}`]));
  });

  it('works with the Node Link SDK 1.2.8 shadow API (postShadow, getShadow, deleteShadow; version = Date.now())', async () => {
    const device = iot.device({ ...nodeDev, brokerUrl: `mqtt://127.0.0.1:${t.platform.mqttPort}` }) as ReturnType<
      typeof iot.device
    > & {
      onShadow(cb: (res: any) => void): void;
      postShadow(reported: unknown): void;
      getShadow(): void;
      deleteShadow(keys?: string | string[]): void;
    };
    await new Promise<void>((r) => device.once('connect', () => r()));
    const answers: any[] = [];
    device.onShadow((res) => answers.push(res));
    const nextAnswer = async () => {
      const n = answers.length;
      await waitFor(async () => answers.length, { until: (len) => len > n, message: 'a shadow answer' });
      return answers[n];
    };
    try {
      device.postShadow({ mode: 'eco' });
      expect(await nextAnswer()).toMatchObject({
        method: 'reply',
        payload: { status: 'success', version: expect.any(Number) },
      });
      device.getShadow();
      expect(await nextAnswer()).toMatchObject({
        method: 'reply',
        payload: { status: 'success', state: { reported: { mode: 'eco' } } },
      });
      device.deleteShadow('mode');
      expect((await nextAnswer()).payload.status).toBe('success');
      const q = await t.gql(SHADOW_QUERY, { pk: nodeDev.productKey, dn: nodeDev.deviceName });
      expect(q.data?.device?.shadow?.reported, JSON.stringify({ q, answers })).toEqual({});
    } finally {
      await new Promise<void>((r) => device.end(false, () => r()));
    }
  });
});
