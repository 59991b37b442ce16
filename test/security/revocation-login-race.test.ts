import mqtt, { type MqttClient } from 'mqtt';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, it } from 'vitest';
import { query } from '../../src/db/client.ts';
import { alinkLogin, brokerUrl, connectDevice, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { mutateOk } from '../integration/support.ts';
import { usePlatform } from '../helpers/use-platform.ts';

/**
 * Threat: a login in flight outlives disableDevice / resetDeviceSecret: the login was checked
 * against the old state, the revocation's kick found no session yet, and the login then completed. Now a login
 * commits only if the device is still enabled and still has the secret it was checked with, and a revocation that
 * commits after it kicks the session.
 */
describe('a login in flight does not outlive a revocation', () => {
  // Logins wait up to a second in the group commit: a revocation issued meanwhile lands while the login is in flight.
  const t = usePlatform('pglite', { COMMIT_DELAY_MS: 1000 });
  let devices: DeviceCreds[];
  beforeAll(async () => {
    ({ devices } = await productWithDevices(t, 2));
  });

  const mutate = (name: string, input: Record<string, unknown>) => mutateOk(t, name, input);

  const inFlight = async (d: DeviceCreds, revoke: () => Promise<void>) => {
    const client: MqttClient = mqtt.connect(brokerUrl(t, 'tcp'), {
      ...alinkLogin(d),
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    const ended = new Promise<void>((resolve) => {
      client.once('close', () => resolve());
      client.once('error', () => resolve());
    });
    // Revoke while the login waits in the group commit (up to COMMIT_DELAY_MS after its CONNECT arrived): the pause
    // only places the revocation inside that window; nothing is asserted about time, and if the revocation lands
    // before the login instead, the login is refused, which the test accepts too.
    await new Promise<void>((r) => client.stream.once('connect', () => r()));
    await new Promise((r) => setTimeout(r, 300));
    await revoke();
    await ended;
    client.end(true);
    // Whatever the order in which the login and the revocation committed, the device is not left online.
    for (;;) {
      const [row] = await query<{ online: boolean }>(
        t.platform.database.db,
        sql`select online from devices where product_key = ${d.productKey} and device_name = ${d.deviceName}`,
      );
      if (row && !row.online) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('refuses (or ends at once) a login in flight when the device is disabled meanwhile', async () => {
    const d = devices[0]!;
    await inFlight(d, () => mutate('disableDevice', { productKey: d.productKey, deviceName: d.deviceName }));
  });

  it('refuses (or ends at once) a login in flight when the device secret is reset meanwhile', async () => {
    const d = devices[1]!;
    // A first login warms the credential cache: the in-flight login below is checked against the old secret.
    const warm = await connectDevice(t, 'tcp', d);
    await warm.endAsync();
    await inFlight(d, () => mutate('resetDeviceSecret', { productKey: d.productKey, deviceName: d.deviceName }));
  });
});
