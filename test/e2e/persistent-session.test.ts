import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { alinkLogin, productWithDevices, sleep } from '../helpers/devices.ts';
import { persistentDatabase, startOn } from './rules-support.ts';
import { lampTsl } from '../helpers/tsl-fixtures.ts';

describe('persistent sessions across a restart', () => {
  it('delivers QoS 1 commands sent while a clean:false device was offline, after the platform restarted', async () => {
    const db = await persistentDatabase('pglite');
    const token = 'persistent-session-admin-token';
    let t = await startOn(db.settings, token);
    const { productKey: pk, devices } = await productWithDevices(t, 1, { tsl: lampTsl });
    const dev = devices[0]!;
    const login = alinkLogin(dev, { clientId: `${pk}&${dev.deviceName}` });
    const opts = { ...login, clientId: login.clientId, clean: false, reconnectPeriod: 0 };
    // First connection: creates the session and its automatic subscriptions (D19), then goes away.
    const first = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.platform.mqttPort}`, opts);
    await sleep(200);
    await first.endAsync();
    await sleep(200);
    const set = await t.gql(
      `mutation($i: SetDevicePropertyInput!) { setDeviceProperty(input: $i) { messageId userErrors { code } } }`,
      { i: { productKey: pk, deviceName: dev.deviceName, items: { Brightness: 77 } } },
    );
    expect(set.data.setDeviceProperty.userErrors).toEqual([]);
    const messageId = set.data.setDeviceProperty.messageId;
    await t.close();

    t = await startOn(db.settings, token);
    const received: { topic: string; body: any }[] = [];
    const again = mqtt.connect(`mqtt://127.0.0.1:${t.platform.mqttPort}`, opts);
    again.on('message', (topic, payload) => received.push({ topic, body: JSON.parse(payload.toString()) }));
    for (let i = 0; i < 50 && received.length === 0; i++) await sleep(100);
    expect(received).toEqual([
      {
        topic: `/sys/${pk}/${dev.deviceName}/thing/service/property/set`,
        body: expect.objectContaining({
          id: messageId,
          params: { Brightness: 77 },
          method: 'thing.service.property.set',
        }),
      },
    ]);
    await again.endAsync();
    await t.close();
    await db.drop();
  });
});
