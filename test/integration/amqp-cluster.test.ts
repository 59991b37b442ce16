import { afterAll, describe, expect, it } from 'vitest';
import { alibabaConsumer, subscription, type Consumer } from '../helpers/amqp.ts';
import { connectDevice, productWithDevices } from '../helpers/devices.ts';
import { useCluster } from '../helpers/use-platform.ts';
import { requireService } from '../helpers/services-env.ts';

const enabled = requireService('TEST_REDIS_URL', 'TEST_DATABASE_URL');

/** cloud-api.md §7.5: clients of one consumer group on different instances compete; no message goes out twice at once. */
describe.runIf(enabled)('AMQP consumer groups across two instances', () => {
  const { a, b } = useCluster({ AMQP_PORT: 0 });
  const consumers: Consumer[] = [];
  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.close().catch(() => undefined)));
  });

  it('shares one group between a client on each instance, every message to exactly one of them', async () => {
    const { productKey: pk, devices } = await productWithDevices(a, 1);
    const { key, groupId } = await subscription(a, pk, ['DEVICE_DATA']);
    const onA = alibabaConsumer({ port: a.platform.amqpPort!, key, consumerGroupId: groupId, clientId: 'on-a' });
    const onB = alibabaConsumer({ port: b.platform.amqpPort!, key, consumerGroupId: groupId, clientId: 'on-b' });
    consumers.push(onA, onB);
    for (const [t, id] of [
      [a, 'on-a'],
      [b, 'on-b'],
    ] as const) {
      for (;;) {
        const r = await t.gql(`query($g: String!) { consumerGroup(groupId: $g) { clients { clientId } } }`, {
          g: groupId,
        });
        if (r.data.consumerGroup.clients.some((c: { clientId: string }) => c.clientId === id)) break;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    const device = await connectDevice(a, 'tcp', devices[0]!);
    for (let i = 0; i < 60; i++)
      await device.publishAsync(`/${pk}/${devices[0]!.deviceName}/user/update`, JSON.stringify({ i }), { qos: 1 });
    await device.endAsync();
    for (;;) {
      if (onA.received.length + onB.received.length >= 60) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const all = [...onA.received, ...onB.received].map((r) => JSON.parse(r.content).i as number);
    expect(all).toHaveLength(60);
    expect(new Set(all).size).toBe(60);
    expect(onA.received.length).toBeGreaterThan(0);
    expect(onB.received.length).toBeGreaterThan(0);
  });
});
