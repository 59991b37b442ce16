import { beforeAll, describe, expect, it } from 'vitest';
import { autoSubscriptions } from '../../src/broker/broker.ts';
import { useBrokerSpy, liveClientsOf, recordSubacks } from '../helpers/aedes-spy.ts';
import { productWithDevices, sleep, type DeviceCreds, type Transport } from '../helpers/devices.ts';
import { iot, sdkDevice } from '../helpers/link-sdk.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { DEVICE_QUERY, watchStatus } from '../helpers/status.ts';
import { waitFor } from '../helpers/wait.ts';

/** The preset subscriptions of SDK 1.2.8 (lib/thing.js `_subscribePresetTopic`) for a device. */
function sdkPresetTopics(pk: string, dn: string): string[] {
  return [
    `/sys/${pk}/${dn}/thing/event/property/post_reply`,
    `/sys/${pk}/${dn}/thing/service/property/set`,
    `/sys/${pk}/${dn}/thing/event/+/post_reply`,
    `/sys/${pk}/${dn}/thing/deviceinfo/update_reply`,
    `/sys/${pk}/${dn}/thing/deviceinfo/delete_reply`,
    `/sys/${pk}/${dn}/thing/config/get_reply`,
    `/shadow/get/${pk}/${dn}`,
    `/sys/${pk}/${dn}/thing/config/push`,
    `/sys/${pk}/${dn}/thing/config/push_reply`,
    `/sys/${pk}/${dn}/thing/topo/add_reply`,
    `/sys/${pk}/${dn}/thing/topo/delete_reply`,
    `/sys/${pk}/${dn}/thing/topo/get_reply`,
    `/ext/session/${pk}/${dn}/combine/login_reply`,
    `/ext/session/${pk}/${dn}/combine/logout_reply`,
    `/sys/${pk}/${dn}/thing/sub/register_reply`,
    `/sys/${pk}/${dn}/rrpc/request/+`,
  ];
}

async function aclDenied(t: TestPlatform): Promise<number> {
  const body = await (await fetch(`${t.httpUrl}/metrics`)).text();
  return body
    .split('\n')
    .filter((l) => l.startsWith('thingql_mqtt_acl_denied_total{'))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

const ALGORITHMS = ['md5', 'sha1', 'sha256'] as const;

describe('a device built on the Alibaba Node.js Link SDK 1.2.8', () => {
  const spy = useBrokerSpy();
  const t = usePlatform('pglite');
  let pk: string;
  let devs: DeviceCreds[];
  beforeAll(async () => {
    ({ productKey: pk, devices: devs } = await productWithDevices(t, 8));
  });

  const url = (transport: Transport) =>
    transport === 'tcp' ? `mqtt://127.0.0.1:${t.platform.mqttPort}` : `ws://127.0.0.1:${t.platform.httpPort}/mqtt`;

  describe.each<Transport>(['tcp', 'ws'])('over MQTT/%s', (transport) => {
    it.each(ALGORITHMS.map((a, i) => [a, i] as const))(
      'logs in with signAlgorithm %s, all its default subscriptions are granted, and it goes ONLINE then OFFLINE in order',
      async (signAlgorithm, i) => {
        const dev = devs[i + (transport === 'tcp' ? 0 : 3)]!;
        const status = await watchStatus(t, pk, dev.deviceName);
        const subacks = recordSubacks(spy.broker());
        const deniedBefore = await aclDenied(t);

        const sdk = sdkDevice({ ...dev, brokerUrl: url(transport), signAlgorithm });
        await sdk.connected;
        const preset = sdkPresetTopics(pk, dev.deviceName);
        // The SDK sends one SUBSCRIBE per preset topic: wait for all SUBACKs as the device received them.
        await waitFor(() => sdk.subacks.length >= preset.length, { message: 'every preset SUBACK', timeout: 5_000 });
        expect(sdk.subacks.map((s) => s.topic).sort()).toEqual([...preset].sort());
        expect(sdk.subacks.filter((s) => s.qos === 128)).toEqual([]);
        expect(sdk.subacks.every((s) => s.qos === 1)).toBe(true);

        // The broker's view: the SDK's SUBSCRIBEs and the D19 automatic subscriptions, none refused.
        // The session is the device's (`${pk}&${dn}`, whatever timestamp the SDK put in its ClientId).
        const seen = subacks.of(`${pk}&${dev.deviceName}`);
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.filter((s) => s.qos === 128)).toEqual([]);
        const [live] = liveClientsOf(spy.broker(), pk, dev.deviceName);
        expect(live?.client.id).toBe(`${pk}&${dev.deviceName}`);
        expect(Object.keys(live!.subscriptions).sort()).toEqual(
          [...new Set([...preset, ...autoSubscriptions(pk, dev.deviceName)])].sort(),
        );
        expect(await aclDenied(t)).toBe(deniedBefore);

        const online = await status.waitFor(1);
        expect(online[0]).toMatchObject({ status: 'ONLINE', connectionEpoch: 1, clientIp: '127.0.0.1' });
        expect((await t.gql(DEVICE_QUERY, { pk, dn: dev.deviceName })).data.device).toMatchObject({
          state: 'ONLINE',
          connectionEpoch: 1,
        });

        await sdk.end();
        const events = await status.waitFor(2);
        expect(events.map((e) => [e.status, e.connectionEpoch, e.reason])).toEqual([
          ['ONLINE', 1, null],
          ['OFFLINE', 1, 'CLIENT_DISCONNECT'],
        ]);
        expect((await t.gql(DEVICE_QUERY, { pk, dn: dev.deviceName })).data.device.state).toBe('OFFLINE');
        subacks.stop();
        await status.close();
      },
    );
  });

  it('is refused with a wrong secret and keeps the device offline (the SDK retries; nothing is recorded)', async () => {
    const dev = devs[6]!;
    const status = await watchStatus(t, pk, dev.deviceName);
    const sdk = iot.device({ ...dev, deviceSecret: 'x'.repeat(32), brokerUrl: url('tcp') });
    const errors: unknown[] = [];
    sdk.on('error', (args: unknown) => errors.push(args));
    await waitFor(() => errors.length > 0, { message: 'the refused login', timeout: 5_000 });
    sdk.end(true);
    expect(String((errors[0] as unknown[])[0])).toMatch(/Bad username or password/i);
    // No status event may follow a refused login: this window proves a negative, so it is a real delay.
    await sleep(200);
    expect(status.events()).toEqual([]);
    expect((await t.gql(DEVICE_QUERY, { pk, dn: dev.deviceName })).data.device).toMatchObject({
      state: 'UNACTIVE',
      connectionEpoch: 0,
    });
    await status.close();
  });
});
