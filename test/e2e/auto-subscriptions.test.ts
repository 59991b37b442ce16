import type { Aedes } from 'aedes';
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { autoSubscriptions, autoSysFilter } from '../../src/broker/auto-subscriptions.ts';
import { liveClientsOf, useBrokerSpy } from '../helpers/aedes-spy.ts';
import { autoSubscribed } from '../helpers/commands.ts';
import { connectDevice, useProductDevices, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * D19/D22 platform-side subscriptions held as one wide `/sys` filter (broker/auto-subscriptions.ts): a device gets
 * each platform message once however its own filters overlap it, gets through it only the D19/D22 topics, and its own
 * UNSUBSCRIBE of one of them still removes it.
 */
describe('automatic subscriptions as one wide /sys filter', () => {
  const spy = useBrokerSpy();
  const t = usePlatform('pglite');
  const fx = useProductDevices(t, 4);

  const sys = (d: DeviceCreds, path: string) => `/sys/${fx.pk}/${d.deviceName}/${path}`;

  /** A platform publish (no publishing client), as the DevicePublisher makes it. */
  function platformPublish(broker: Aedes, topic: string, payload: string): Promise<void> {
    return new Promise((resolve, reject) =>
      broker.publish(
        { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }

  /** Connect, wait for the automatic subscriptions, and record every message the device receives. */
  async function device(d: DeviceCreds): Promise<{ c: MqttClient; got: { topic: string; payload: string }[] }> {
    const c = await connectDevice(t, 'tcp', d, { clean: true });
    fx.open.push(c);
    const got: { topic: string; payload: string }[] = [];
    c.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
    await autoSubscribed(() => spy.broker(), fx.pk, d.deviceName);
    return { c, got };
  }

  /**
   * Publish `payloads` in order, then a marker on a D19 topic; resolve with what arrived up to the marker. Deliveries
   * to one clean session keep their order, so a duplicate of an earlier message would have arrived before it.
   */
  async function sendThenMarker(
    d: DeviceCreds,
    got: { topic: string; payload: string }[],
    payloads: [topic: string, payload: string][],
  ) {
    const marker = `marker-${Math.random()}`;
    for (const [topic, payload] of payloads) await platformPublish(spy.broker(), topic, payload);
    await platformPublish(spy.broker(), sys(d, 'thing/model/down_raw'), marker);
    await waitFor(() => got.some((m) => m.payload === marker), { message: 'the marker' });
    const upTo = got.findIndex((m) => m.payload === marker);
    return got.splice(0, upTo + 1).slice(0, -1);
  }

  it('holds one /sys filter and the non-/sys topics of D19/D22, none counted as the device’s own', async () => {
    const d = fx.devices[0]!;
    await device(d);
    const live = liveClientsOf(spy.broker(), fx.pk, d.deviceName)[0]!;
    expect(Object.keys(live.subscriptions).sort()).toEqual([...autoSubscriptions(fx.pk, d.deviceName)].sort());
    expect(Object.keys(live.subscriptions)).toContain(autoSysFilter(fx.pk, d.deviceName));
  });

  it('delivers a platform message once to a device whose own filters also match it', async () => {
    const d = fx.devices[1]!;
    const { c, got } = await device(d);
    // Overlapping the wide filter three ways: the exact topic, a D19 filter string, and the device's whole namespace.
    await c.subscribeAsync([sys(d, 'thing/service/property/set'), sys(d, 'thing/service/+'), sys(d, '#')], { qos: 1 });
    const set = sys(d, 'thing/service/property/set');
    const reboot = sys(d, 'thing/service/Reboot');
    expect(
      await sendThenMarker(d, got, [
        [set, 'set-1'],
        [reboot, 'reboot-1'],
        [set, 'set-2'],
      ]),
    ).toEqual([
      { topic: set, payload: 'set-1' },
      { topic: reboot, payload: 'reboot-1' },
      { topic: set, payload: 'set-2' },
    ]);
  });

  it('carries only D19/D22 topics; another /sys topic reaches a device only through a filter of its own', async () => {
    const d = fx.devices[2]!;
    const { c, got } = await device(d);
    const other = sys(d, 'thing/event/property/post');
    const deep = sys(d, 'thing/service/property/set/extra');
    expect(
      await sendThenMarker(d, got, [
        [other, 'not-listed'],
        [deep, 'too-deep'],
        [sys(d, 'thing/topo/change'), 'listed'],
      ]),
    ).toEqual([{ topic: sys(d, 'thing/topo/change'), payload: 'listed' }]);

    await c.subscribeAsync(sys(d, 'thing/event/#'), { qos: 1 });
    expect(await sendThenMarker(d, got, [[other, 'own-filter']])).toEqual([{ topic: other, payload: 'own-filter' }]);
  });

  it('stops delivering a D19 topic the device unsubscribed from, until it subscribes again (D19)', async () => {
    const d = fx.devices[3]!;
    const { c, got } = await device(d);
    const reboot = sys(d, 'thing/service/Reboot');
    const set = sys(d, 'thing/service/property/set');
    await c.unsubscribeAsync(sys(d, 'thing/service/+'));
    // `thing/service/property/+` is a D19 filter of its own: still delivered.
    expect(
      await sendThenMarker(d, got, [
        [reboot, 'after-unsubscribe'],
        [set, 'still-listed'],
      ]),
    ).toEqual([{ topic: set, payload: 'still-listed' }]);

    await c.subscribeAsync(sys(d, 'thing/service/+'), { qos: 1 });
    expect(await sendThenMarker(d, got, [[reboot, 'subscribed-again']])).toEqual([
      { topic: reboot, payload: 'subscribed-again' },
    ]);
  });
});
