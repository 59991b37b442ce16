/**
 * cloud-api.md §7.5: "Restarts and instance changes lose nothing: what was unsettled is delivered again." ThingQL runs
 * as a real process, is killed with SIGKILL while a consumer holds unsettled messages and a backlog waits, and comes
 * back on the same database and ports: a consumer written like Alibaba's sample then gets all of it, with the same
 * messageIds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { alibabaConsumer, subscription, type Consumer } from '../helpers/amqp.ts';
import { alinkLogin, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import { freePort, seedPgliteDataDir, spawnPlatform, type PlatformProcess } from '../helpers/platform-process.ts';

describe('AMQP delivery across a ThingQL restart', () => {
  const cleanup: (() => unknown)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('delivers what was unsettled and what waited after a SIGKILL, with the same messageIds', {
    timeout: 120_000,
  }, async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'thingql-amqp-restart-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    await seedPgliteDataDir(dataDir, inject('pgliteTemplate'));
    const ports = { httpPort: await freePort(), mqttPort: await freePort() };
    const amqpPort = await freePort();
    const start = () =>
      spawnPlatform({
        ...ports,
        adminToken: `admin-${'a'.repeat(24)}`,
        database: { dataDir },
        env: { AMQP_PORT: String(amqpPort), AMQP_ACK_TIMEOUT_MS: '1500' },
      });
    let platform: PlatformProcess = await start();
    cleanup.push(() => platform.kill('SIGKILL'));
    const gql = { gql: (q: string, v?: Record<string, unknown>) => platform.gql(q, v) } as unknown as TestPlatform;
    const { productKey: pk, devices } = await productWithDevices(gql, 1);
    const { key, groupId } = await subscription(gql, pk, ['DEVICE_DATA']);
    const consumers: Consumer[] = [];
    cleanup.push(() => Promise.all(consumers.map((c) => c.close().catch(() => undefined))));
    const dev: DeviceCreds = devices[0]!;
    const publish = async (c: MqttClient, from: number, n: number) => {
      for (let i = from; i < from + n; i++)
        await c.publishAsync(`/${pk}/${dev.deviceName}/user/update`, JSON.stringify({ i }), { qos: 1 });
    };
    const connect = () =>
      mqtt.connectAsync(platform.mqttUrl, { ...alinkLogin(dev), reconnectPeriod: 0, connectTimeout: 5000 });

    // Before: a consumer holds 0-9 unsettled when ThingQL is killed (its connection dies with it).
    const holder = alibabaConsumer({ port: amqpPort, key, consumerGroupId: groupId, settle: 'none' });
    consumers.push(holder);
    let device = await connect();
    const held = holder.waitFor(10);
    await publish(device, 0, 10);
    const heldIds = (await held).map((r) => r.messageId);
    await device.endAsync(true);

    await platform.kill('SIGKILL');
    await holder.closed;
    platform = await start();

    // After: one more message, then a consumer like Alibaba's sample receives all eleven, each once, 0-9 with the ids seen before.
    device = await connect();
    await publish(device, 10, 1);
    await device.endAsync();
    const after = alibabaConsumer({ port: amqpPort, key, consumerGroupId: groupId });
    consumers.push(after);
    const got = await after.waitFor(11, 30_000);
    const byI = new Map(got.map((r) => [JSON.parse(r.content).i as number, r]));
    expect([...byI.keys()].sort((a, b) => a - b)).toEqual([...Array(11).keys()]);
    expect(got).toHaveLength(11);
    const first10 = [...Array(10).keys()];
    expect(first10.map((i) => byI.get(i)!.messageId)).toEqual(heldIds);
    expect(first10.every((i) => byI.get(i)!.message.first_acquirer === false)).toBe(true);
    expect(byI.get(10)!.message.first_acquirer).toBe(true);
  });
});
