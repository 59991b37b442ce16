import { createHmac } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, nextMessage, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import type { MqttClient } from 'mqtt';
import { mutateOk } from '../integration/support.ts';
import { usePlatform } from '../helpers/use-platform.ts';

/** `ask` publishes `{ id, params }` on a gateway's topic and resolves with the `code` of its `_reply`; ids from `nextId`. */
function asker(c: MqttClient) {
  let id = 0;
  const nextId = () => String(++id);
  const ask = async (topic: string, params: unknown): Promise<number> => {
    const r = nextMessage(c, (tp) => tp === `${topic}_reply`);
    await c.publishAsync(topic, JSON.stringify({ id: nextId(), params }), { qos: 1 });
    return JSON.parse((await r).payload.toString()).code as number;
  };
  return { ask, nextId };
}

/** A sub-device's signed login params (topo/add, combine/login), signed now with HMAC-SHA1. */
function signedLogin(sub: DeviceCreds) {
  const { productKey: pk, deviceName: dn } = sub;
  const ts = String(Date.now());
  const content = `clientId${pk}&${dn}deviceName${dn}productKey${pk}timestamp${ts}`;
  return {
    productKey: pk,
    deviceName: dn,
    clientId: `${pk}&${dn}`,
    timestamp: ts,
    signmethod: 'hmacsha1',
    sign: createHmac('sha1', sub.deviceSecret).update(content).digest('hex'),
  };
}

/**
 * Threat: access that was revoked goes on (device side). A gateway kept receiving a sub-device's
 * messages after logout, topology delete, disable or takeover; a login in flight outlived disableDevice and
 * resetDeviceSecret (revocation-login-race.test.ts).
 */
describe('revocation on the device side ends access at once', () => {
  const t = usePlatform('pglite');
  let gwPk: string;
  let gw: DeviceCreds;
  let subPk: string;
  let subs: DeviceCreds[];
  beforeAll(async () => {
    ({
      productKey: gwPk,
      devices: [gw],
    } = (await productWithDevices(t, 1, { nodeType: 'GATEWAY' })) as { productKey: string; devices: [DeviceCreds] });
    ({ productKey: subPk, devices: subs } = await productWithDevices(t, 4));
  });

  const mutate = (name: string, input: Record<string, unknown>) => mutateOk(t, name, input);
  const pub = (pk: string, topic: string, payload: string) =>
    mutate('pub', { productKey: pk, topicFullName: topic, payload, qos: 0 });

  it('stops delivering a sub-device’s messages to its gateway after logout, topology delete, disable and takeover', async () => {
    const sub = subs[0]!;
    const subTopic = `/${subPk}/${sub.deviceName}/user/get`;
    const ownTopic = `/${gwPk}/${gw.deviceName}/user/get`;
    const c = await connectDevice(t, 'tcp', gw);
    const replies = [
      `/sys/${gwPk}/${gw.deviceName}/thing/topo/add_reply`,
      `/sys/${gwPk}/${gw.deviceName}/thing/topo/delete_reply`,
      `/ext/session/${gwPk}/${gw.deviceName}/combine/login_reply`,
      `/ext/session/${gwPk}/${gw.deviceName}/combine/logout_reply`,
    ];
    await c.subscribeAsync([...replies, ownTopic]);
    const { ask } = asker(c);
    const signed = () => signedLogin(sub);
    const topoAdd = () => ask(`/sys/${gwPk}/${gw.deviceName}/thing/topo/add`, [signed()]);
    const login = async () => {
      expect(await ask(`/ext/session/${gwPk}/${gw.deviceName}/combine/login`, signed())).toBe(200);
      await c.subscribeAsync(subTopic); // as the Link SDK does after a sub-device login
    };
    /** Publishes to the sub-device, then to the gateway itself: what the gateway gets up to its own message. */
    const delivered = async () => {
      const seen: string[] = [];
      const done = new Promise<void>((resolve) => {
        const on = (topic: string) => {
          if (topic === subTopic) seen.push(topic);
          if (topic === ownTopic) {
            c.removeListener('message', on);
            resolve();
          }
        };
        c.on('message', on);
      });
      await pub(subPk, subTopic, 'for-the-sub-device');
      await pub(gwPk, ownTopic, 'marker');
      await done;
      return seen.length > 0;
    };

    expect(await topoAdd()).toBe(200);
    await login();
    expect(await delivered()).toBe(true);

    // 1. Logout.
    expect(
      await ask(`/ext/session/${gwPk}/${gw.deviceName}/combine/logout`, {
        productKey: subPk,
        deviceName: sub.deviceName,
      }),
    ).toBe(200);
    expect(await delivered()).toBe(false);

    // 2. Topology delete.
    await login();
    expect(await delivered()).toBe(true);
    expect(
      await ask(`/sys/${gwPk}/${gw.deviceName}/thing/topo/delete`, [{ productKey: subPk, deviceName: sub.deviceName }]),
    ).toBe(200);
    expect(await delivered()).toBe(false);

    // 3. Disabled (then enabled again: the sub-device stays logged out until the gateway logs it in again).
    expect(await topoAdd()).toBe(200);
    await login();
    expect(await delivered()).toBe(true);
    await mutate('disableDevice', { productKey: subPk, deviceName: sub.deviceName });
    await mutate('enableDevice', { productKey: subPk, deviceName: sub.deviceName });
    expect(await delivered()).toBe(false);

    // 4. Taken over: the sub-device logs in on its own connection.
    await login();
    expect(await delivered()).toBe(true);
    const direct = await connectDevice(t, 'tcp', sub);
    await direct.subscribeAsync(subTopic);
    const own = nextMessage(direct, (tp) => tp === subTopic);
    expect(await delivered()).toBe(false);
    await own;
    await direct.endAsync();
    await c.endAsync();
  });

  it('stops accepting a gateway’s publishes for a sub-device after logout and disable (cached ACL decisions revoked)', async () => {
    const sub = subs[1]!;
    const c = await connectDevice(t, 'tcp', gw);
    const post = `/sys/${subPk}/${sub.deviceName}/thing/event/property/post`;
    const errTopic = `/ext/error/${gwPk}/${gw.deviceName}`;
    await c.subscribeAsync([
      `/sys/${gwPk}/${gw.deviceName}/thing/topo/add_reply`,
      `/ext/session/${gwPk}/${gw.deviceName}/combine/login_reply`,
      `/ext/session/${gwPk}/${gw.deviceName}/combine/logout_reply`,
      errTopic,
    ]);
    const { ask, nextId } = asker(c);
    const signed = () => signedLogin(sub);
    const login = async () =>
      expect(await ask(`/ext/session/${gwPk}/${gw.deviceName}/combine/login`, signed())).toBe(200);
    /** The gateway posts for the sub-device: 'accepted' (a post_reply) or 'noSession' (520 on /ext/error). */
    const postAsSub = async () => {
      const answer = nextMessage(c, (tp) => tp === `${post}_reply` || tp === errTopic);
      await c.publishAsync(post, JSON.stringify({ id: nextId(), params: {} }), { qos: 1 });
      const m = await answer;
      if (m.topic === errTopic) {
        expect(JSON.parse(m.payload.toString()).code).toBe(520);
        return 'noSession';
      }
      return 'accepted';
    };

    expect(await ask(`/sys/${gwPk}/${gw.deviceName}/thing/topo/add`, [signed()])).toBe(200);
    await login();
    expect(await postAsSub()).toBe('accepted');
    expect(await postAsSub()).toBe('accepted'); // decided from the connection's cache

    expect(
      await ask(`/ext/session/${gwPk}/${gw.deviceName}/combine/logout`, {
        productKey: subPk,
        deviceName: sub.deviceName,
      }),
    ).toBe(200);
    expect(await postAsSub()).toBe('noSession');

    await login();
    expect(await postAsSub()).toBe('accepted');
    await mutate('disableDevice', { productKey: subPk, deviceName: sub.deviceName });
    await mutate('enableDevice', { productKey: subPk, deviceName: sub.deviceName });
    expect(await postAsSub()).toBe('noSession');
    await c.endAsync();
  });
});
