import { sql } from 'drizzle-orm';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { query } from '../../src/db/client.ts';
import { command, deviceState } from '../helpers/commands.ts';
import { alinkLogin, productWithDevices, sleep } from '../helpers/devices.ts';
import { persistentDatabase, startOn } from './rules-support.ts';
import { lampTsl } from '../helpers/tsl-fixtures.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { waitFor } from '../helpers/wait.ts';

/** A property set to the lamp (queued for a persistent session that is away), accepted without user errors. */
async function setBrightness(t: Parameters<typeof command>[0], pk: string, deviceName: string, value: number) {
  const set = await command(t, 'setDeviceProperty', { productKey: pk, deviceName, items: { Brightness: value } });
  expect(set.userErrors).toEqual([]);
  return set;
}

describe('persistent sessions across a restart', () => {
  // Two platform starts on one data directory: slow on a loaded machine.
  it('delivers QoS 1 commands sent while a clean:false device was offline, after the platform restarted', {
    timeout: 90_000,
  }, async () => {
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
    await deviceState(t, pk, dev.deviceName, 'OFFLINE');
    const { messageId } = await setBrightness(t, pk, dev.deviceName, 77);
    await t.close();

    t = await startOn(db.settings, token);
    const received: { topic: string; body: any }[] = [];
    const again = mqtt.connect(`mqtt://127.0.0.1:${t.platform.mqttPort}`, opts);
    again.on('message', (topic, payload) => received.push({ topic, body: JSON.parse(payload.toString()) }));
    await waitFor(() => received.length > 0, { timeout: 30_000, message: 'the queued command' });
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

describe('replies to a persistent session', () => {
  const t = usePlatform('pglite');

  it('answers a clean:false device at QoS 1 without queueing the replies, and still queues its commands', async () => {
    const { productKey: pk, devices } = await productWithDevices(t, 1, { tsl: lampTsl });
    const dev = devices[0]!;
    const login = alinkLogin(dev, { clientId: `${pk}&${dev.deviceName}` });
    const opts = { ...login, clientId: login.clientId, clean: false, reconnectPeriod: 0 };
    const url = `mqtt://127.0.0.1:${t.platform.mqttPort}`;
    const outgoing = async () =>
      (
        await query<{ n: number }>(
          t.platform.database.db,
          sql`select count(*)::int as n from mqtt_outgoing where client_id = ${`${pk}&${dev.deviceName}`}`,
        )
      )[0]!.n;
    // This device never acknowledges what it receives: a queued packet would stay queued.
    const client = await mqtt.connectAsync(url, { ...opts, customHandleAcks: () => {} });
    const replies: { topic: string; qos: number; id: string }[] = [];
    client.on('message', (topic, payload, packet) =>
      replies.push({ topic, qos: packet.qos, id: (JSON.parse(payload.toString()) as { id: string }).id }),
    );
    const post = `/sys/${pk}/${dev.deviceName}/thing/event/property/post`;
    for (let i = 1; i <= 5; i++)
      await client.publishAsync(
        post,
        JSON.stringify({
          id: String(i),
          version: '1.0',
          params: { Brightness: i },
          method: 'thing.event.property.post',
        }),
        { qos: 1 },
      );
    await waitFor(() => replies.length === 5);
    expect(replies).toEqual(['1', '2', '3', '4', '5'].map((id) => ({ topic: `${post}_reply`, qos: 1, id })));
    expect(await outgoing(), 'replies queued for offline delivery').toBe(0);
    await client.endAsync();
    await deviceState(t, pk, dev.deviceName, 'OFFLINE');

    // A command to the device while it is away is queued, and is all that arrives when it comes back.
    await setBrightness(t, pk, dev.deviceName, 9);
    expect(await outgoing()).toBe(1);
    const received: string[] = [];
    const again = mqtt.connect(url, opts);
    again.on('message', (topic) => received.push(topic));
    await waitFor(() => received.length > 0);
    await waitFor(async () => (await outgoing()) === 0);
    expect(received).toEqual([`/sys/${pk}/${dev.deviceName}/thing/service/property/set`]);
    await again.endAsync();
  });
});
