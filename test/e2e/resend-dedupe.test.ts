/**
 * A device that resends a post (same Alink id, same payload: its PUBACK or reply was lost, or it retried too early)
 * has it stored once; the platform still acknowledges and answers every copy. Copies that reach the same group
 * commit as their original are recognised too, and so is a resend that shares its commit with new posts (which path
 * the commit's dedupe check takes there is test/integration/commit-dedupe.test.ts's business).
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectDevice, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { lampTsl, postAndReply, propertyHistory } from '../helpers/thing-posts.ts';
import { describeEachDb } from '../helpers/services-env.ts';
import { waitFor } from '../helpers/wait.ts';

describeEachDb('resent property posts on %s', (kind) => {
  // A longer gathering window makes "same batch" certain for copies published back to back.
  const t = usePlatform(kind, { COMMIT_DELAY_MS: 50 });
  let devs: DeviceCreds[];
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    ({ devices: devs } = await productWithDevices(t, 4, { tsl: lampTsl }));
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync();
  });

  async function device(i: number) {
    const dev = devs[i]!;
    const c = await connectDevice(t, 'tcp', dev);
    clients.push(c);
    const topic = `/sys/${dev.productKey}/${dev.deviceName}/thing/event/property/post`;
    const body = (id: string, label: string, time: number) => ({
      id,
      version: '1.0',
      params: { DeviceLabel: { value: label, time } },
      method: 'thing.event.property.post',
    });
    const labels = async (time: number) =>
      (await propertyHistory(t, dev.productKey, dev.deviceName, 'DeviceLabel', time, time)).map((p) => p.value);
    return { c, topic, body, labels };
  }

  it('stores a copy published right behind its original (same group commit) once, and answers both', async () => {
    const d = await device(0);
    const time = Date.UTC(2026, 2, 1);
    const payload = JSON.stringify(d.body('500', 'twin', time));
    const replies: string[] = [];
    d.c.on('message', (topic, p) => topic === `${d.topic}_reply` && replies.push(JSON.parse(p.toString()).id));
    await Promise.all([d.c.publishAsync(d.topic, payload, { qos: 1 }), d.c.publishAsync(d.topic, payload, { qos: 1 })]);
    await waitFor(() => replies.length >= 2, { message: 'both replies', timeout: 2_000 });
    expect(replies).toEqual(['500', '500']);
    expect(await d.labels(time)).toEqual(['twin']);
  });

  it('stores a resend after the original was committed once', async () => {
    const d = await device(1);
    const time = Date.UTC(2026, 2, 2);
    const first = await postAndReply(d.c, d.topic, d.body('501', 'again', time));
    const second = await postAndReply(d.c, d.topic, d.body('501', 'again', time));
    expect([first.code, second.code]).toEqual([200, 200]);
    expect(await d.labels(time)).toEqual(['again']);
  });

  it('stores a different payload under a reused id as a new post', async () => {
    const d = await device(2);
    const time = Date.UTC(2026, 2, 3);
    await postAndReply(d.c, d.topic, d.body('502', 'one', time));
    await postAndReply(d.c, d.topic, d.body('502', 'two', time));
    expect((await d.labels(time)).sort()).toEqual(['one', 'two']);
  });

  it('stores new posts once and a resend not again when they share a commit', async () => {
    const d = await device(3);
    const [t1, t2, t3] = [Date.UTC(2026, 2, 4), Date.UTC(2026, 2, 5), Date.UTC(2026, 2, 6)];
    expect((await postAndReply(d.c, d.topic, d.body('510', 'kept', t1))).code).toBe(200);
    // Published back to back: one gathering window (COMMIT_DELAY_MS 50), so one commit holds all three.
    const replies = await Promise.all([
      postAndReply(d.c, d.topic, d.body('510', 'kept', t1)),
      postAndReply(d.c, d.topic, d.body('511', 'new-a', t2)),
      postAndReply(d.c, d.topic, d.body('512', 'new-b', t3)),
    ]);
    expect(replies.map((r) => [r.id, r.code])).toEqual([
      ['510', 200],
      ['511', 200],
      ['512', 200],
    ]);
    expect([await d.labels(t1), await d.labels(t2), await d.labels(t3)]).toEqual([['kept'], ['new-a'], ['new-b']]);
  });
});
