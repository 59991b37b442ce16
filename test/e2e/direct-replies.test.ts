import type { IPublishPacket } from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { useBrokerSpy } from '../helpers/aedes-spy.ts';
import { autoSubscribed } from '../helpers/commands.ts';
import { connectDevice, useProductDevices, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Replies are written straight to the connection that asked (broker/deliver.ts), not published through aedes: the
 * connection's own subscriptions and the ACL still decide, as for any delivery.
 */
describe('replies written to the requesting connection', () => {
  const spy = useBrokerSpy();
  const t = usePlatform('pglite');
  const fx = useProductDevices(t, 3);

  const sys = (d: DeviceCreds, path: string) => `/sys/${fx.pk}/${d.deviceName}/${path}`;

  async function device(d: DeviceCreds, clean = true) {
    const c = await connectDevice(t, 'tcp', d, { clean });
    fx.open.push(c);
    const got: IPublishPacket[] = [];
    c.on('message', (_topic, _payload, packet) => got.push(packet));
    await autoSubscribed(() => spy.broker(), fx.pk, d.deviceName);
    return { c, got };
  }

  const post = (c: MqttClient, d: DeviceCreds, id: string) =>
    c.publishAsync(
      sys(d, 'thing/event/property/post'),
      JSON.stringify({ id, version: '1.0', params: {}, method: 'thing.event.property.post' }),
      { qos: 1 },
    );
  const idOf = (p: IPublishPacket) => (JSON.parse(p.payload.toString()) as { id: string }).id;

  it('answers at the request QoS with a packet id of its own, on a clean and on a persistent session', async () => {
    for (const [d, clean] of [
      [fx.devices[0]!, true],
      [fx.devices[1]!, false],
    ] as const) {
      const { c, got } = await device(d, clean);
      await post(c, d, '11');
      await post(c, d, '12');
      await waitFor(() => got.length >= 2);
      expect(got.map((p) => [p.topic, idOf(p), p.qos])).toEqual([
        [sys(d, 'thing/event/property/post_reply'), '11', 1],
        [sys(d, 'thing/event/property/post_reply'), '12', 1],
      ]);
      expect(got[0]!.messageId).toBeGreaterThan(0);
      expect(got[1]!.messageId).not.toBe(got[0]!.messageId);
    }
  });

  it('follows the connection: no reply once unsubscribed, then at the QoS of its own filter', async () => {
    const d = fx.devices[2]!;
    const { c, got } = await device(d);
    // Both D19 filters that carry a property post's reply.
    await c.unsubscribeAsync([sys(d, 'thing/event/+/post_reply'), sys(d, 'thing/event/property/post_reply')]);
    await post(c, d, '21');
    // A request whose reply is still subscribed (thing/deviceinfo/+), sent after: replies to one connection keep
    // their order, so the post's reply, had it been sent, would have arrived first.
    await c.publishAsync(
      sys(d, 'thing/deviceinfo/update'),
      JSON.stringify({ id: '22', version: '1.0', params: [], method: 'thing.deviceinfo.update' }),
      { qos: 1 },
    );
    await waitFor(() => got.length >= 1);
    expect(got.map((p) => [p.topic, idOf(p)])).toEqual([[sys(d, 'thing/deviceinfo/update_reply'), '22']]);

    await c.subscribeAsync(sys(d, 'thing/event/property/post_reply'), { qos: 0 });
    await post(c, d, '23');
    await waitFor(() => got.length >= 2);
    expect([got[1]!.topic, idOf(got[1]!), got[1]!.qos]).toEqual([sys(d, 'thing/event/property/post_reply'), '23', 0]);
  });
});
