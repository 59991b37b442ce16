import mqtt, { type MqttClient } from 'mqtt';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { query } from '../../src/db/client.ts';
import { enqueueOutgoing } from '../../src/broker/persistence/queues.ts';
import { alinkLogin, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';

/**
 * Threat: a device reads another device's downstream messages through its persistent session.
 * aedes stored every filter of a SUBSCRIBE once one was granted, and queued offline QoS 1 messages for the denied ones.
 */
describe('persistent subscriptions never bypass the topic ACL', () => {
  const t = usePlatform('pglite');
  let pk: string;
  let a: DeviceCreds;
  let b: DeviceCreds;
  const clientIdOf = (d: DeviceCreds) => `${d.productKey}&${d.deviceName}`;
  const connect = (d: DeviceCreds) => {
    const login = alinkLogin(d, { clientId: clientIdOf(d) });
    return mqtt.connectAsync(`mqtt://127.0.0.1:${t.platform.mqttPort}`, {
      ...login,
      clean: false,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
  };
  const pub = async (topic: string, payload: string) => {
    const r = await t.gql(`mutation($i: PubInput!) { pub(input: $i) { messageId userErrors { code message } } }`, {
      i: { productKey: pk, topicFullName: topic, payload, qos: 1 },
    });
    expect(r.data.pub.userErrors).toEqual([]);
  };
  /** Everything the client receives until a message on `until` arrives (sent after the others, delivered in order). */
  const collectUntil = (c: MqttClient, until: string) =>
    new Promise<string[]>((resolve) => {
      const seen: string[] = [];
      const on = (topic: string) => {
        seen.push(topic);
        if (topic === until) {
          c.removeListener('message', on);
          resolve(seen);
        }
      };
      c.on('message', on);
    });
  const storedFilters = async (d: DeviceCreds) =>
    (
      await query<{ topic: string }>(
        t.platform.database.db,
        sql`select topic from mqtt_subscriptions where client_id = ${clientIdOf(d)}`,
      )
    ).map((r) => r.topic);

  beforeAll(async () => {
    let devices: DeviceCreds[];
    ({ productKey: pk, devices } = await productWithDevices(t, 2));
    [a, b] = devices as [DeviceCreds, DeviceCreds];
  });

  it('stores only the granted filters of a SUBSCRIBE and delivers nothing of another device, live or after reconnecting', async () => {
    const own = `/${pk}/${a.deviceName}/user/get`;
    const other = `/${pk}/${b.deviceName}/user/get`;
    let c = await connect(a);
    // One SUBSCRIBE packet with four filters; mqtt.js rejects when any is refused, with the SUBACK attached.
    const suback = await c
      .subscribeAsync({ [own]: { qos: 1 }, [other]: { qos: 1 }, '#': { qos: 1 }, [`/${pk}/+/user/get`]: { qos: 1 } })
      .then(
        () => null,
        (err: { packet?: { granted?: number[] } }) => err.packet,
      );
    expect(suback?.granted).toEqual([1, 128, 128, 128]);
    const stored = await storedFilters(a);
    expect(stored).toContain(own);
    expect(stored).not.toContain(other);
    expect(stored).not.toContain('#');
    expect(stored).not.toContain(`/${pk}/+/user/get`);

    // Live: the other device's message is not delivered; our own, sent after it, is.
    let seen = collectUntil(c, own);
    await pub(other, 'secret-live');
    await pub(own, 'mine-live');
    expect(await seen).toEqual([own]);

    // Offline (persistent session): nothing of the other device is queued for us.
    await c.endAsync();
    await pub(other, 'secret-offline');
    await pub(own, 'mine-offline');
    const queued = await query<{ topic: string }>(
      t.platform.database.db,
      sql`select packet->>'topic' as topic from mqtt_outgoing where client_id = ${clientIdOf(a)}`,
    );
    expect(queued.map((r) => r.topic)).toEqual([own]);
    c = await connect(a);
    seen = collectUntil(c, own);
    expect(await seen).toEqual([own]);
    await c.endAsync();
  });

  it('re-checks the receiver when forwarding: a queued message the ACL does not allow is dropped, not delivered', async () => {
    const own = `/${pk}/${a.deviceName}/user/get`;
    const other = `/${pk}/${b.deviceName}/user/get`;
    // A leftover in the offline queue (stored by an older version, or by any bug upstream of forwarding).
    await enqueueOutgoing(t.platform.database.db, [clientIdOf(a)], {
      cmd: 'publish',
      topic: other,
      payload: Buffer.from('leftover'),
      qos: 1,
      retain: false,
      dup: false,
      brokerId: 'old',
      brokerCounter: 1,
    } as never);
    await enqueueOutgoing(t.platform.database.db, [clientIdOf(a)], {
      cmd: 'publish',
      topic: own,
      payload: Buffer.from('mine'),
      qos: 1,
      retain: false,
      dup: false,
      brokerId: 'old',
      brokerCounter: 2,
    } as never);
    const login = alinkLogin(a, { clientId: clientIdOf(a) });
    const c = mqtt.connect(`mqtt://127.0.0.1:${t.platform.mqttPort}`, { ...login, clean: false, reconnectPeriod: 0 });
    const seen = await collectUntil(c, own);
    expect(seen).toEqual([own]);
    await c.endAsync();
  });
});
