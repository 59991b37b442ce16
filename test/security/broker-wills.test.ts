import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { query } from '../../src/db/client.ts';
import { putWill } from '../../src/broker/persistence/wills.ts';
import { connectDevice, nextMessage, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';

/**
 * Threat: one instance dies with clients that left wills; every surviving instance publishes them with no client, its
 * authorizePublish refused them, aedes emitted `error` with no listener and the process ended, again at every sweep
 *. Under vitest the old behaviour shows as an unhandled error that fails the run.
 */
describe('wills left by a dead instance', () => {
  // A sweep every 4 heartbeats: 400 ms here instead of 4 minutes.
  const t = usePlatform('pglite', { MQTT_HEARTBEAT_MS: 100 });

  it('publishes a will its device may send as that device, drops the others with a log line, and stays up', async () => {
    const { productKey: pk, devices } = await productWithDevices(t, 2);
    const [a, b] = devices as [DeviceCreds, DeviceCreds];
    const own = `/${pk}/${a.deviceName}/user/update`;
    const database = t.platform.database.db;
    const will = (clientId: string, topic: string) =>
      putWill(database, clientId, 'instance-that-died', {
        cmd: 'publish',
        topic,
        payload: Buffer.from('gone'),
        qos: 1,
        retain: false,
      } as never);
    // Refused: a device that does not exist, another device's topic, a client that is not a device. Allowed: the last.
    await will(`${pk}&${a.deviceName}-gone`, `/${pk}/${a.deviceName}-gone/user/update`);
    await will(`${pk}&${b.deviceName}`, `/${pk}/${a.deviceName}/user/update`);
    await will('plain-mqtt-client', '/anything');
    await will(`${pk}&${a.deviceName}`, own);

    // The sweep meets wills of an instance it never heard from. Each leaves the store (published or dropped), so no
    // later sweep meets them again.
    while ((await query(database, sql`select 1 from mqtt_wills`)).length > 0)
      await new Promise((r) => setTimeout(r, 100));
    const posted = await query<{ device_name: string; topic: string }>(
      database,
      sql`select device_name, data->>'topic' as topic from events where type = 'device.message' order by position`,
    );
    expect(posted).toEqual([{ device_name: a.deviceName, topic: own }]);

    // The platform is up and serves devices on the same instance.
    const c = await connectDevice(t, 'tcp', b);
    const ntp = `/ext/ntp/${pk}/${b.deviceName}/response`;
    await c.subscribeAsync(ntp);
    const reply = nextMessage(c, (topic) => topic === ntp);
    await c.publishAsync(`/ext/ntp/${pk}/${b.deviceName}/request`, JSON.stringify({ deviceSendTime: '1' }), { qos: 1 });
    expect(JSON.parse((await reply).payload.toString())).toMatchObject({ deviceSendTime: '1' });
    await c.endAsync();
  });
});
