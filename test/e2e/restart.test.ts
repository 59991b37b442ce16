import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import {
  childGql,
  seedDataDir,
  startChildPlatform,
  withDataDir,
  type ChildPlatform,
} from '../helpers/child-platform.ts';
import { connectDevice, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import { DEVICE_QUERY, watchStatus } from '../helpers/status.ts';

/** What the shared device helpers need of a platform (ports and an admin GraphQL call). */
function asTestPlatform(c: ChildPlatform): TestPlatform {
  return {
    platform: { mqttPort: c.mqttPort, httpPort: c.httpPort },
    httpUrl: c.httpUrl,
    wsUrl: c.wsUrl,
    adminToken: c.adminToken,
    gql: async (query: string, variables?: Record<string, unknown>) => ({
      status: 200,
      data: await childGql(c, query, variables),
    }),
  } as unknown as TestPlatform;
}

const closedOf = (c: MqttClient) => new Promise<void>((r) => (c.connected ? c.once('close', () => r()) : r()));

describe('presence across server restarts (embedded database in DATA_DIR, `thingql serve` in a child process)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'thingql-restart-'));
  const env = { DATA_DIR: dataDir, ADMIN_TOKEN: `admin-${randomBytes(12).toString('hex')}` };
  let current: ChildPlatform | null = null;
  let pk: string;
  let dev: DeviceCreds;

  beforeAll(async () => {
    await seedDataDir(dataDir, inject('pgliteTemplate'));
    current = await startChildPlatform(env);
    const t = asTestPlatform(current);
    const created = await productWithDevices(t, 1);
    pk = created.productKey;
    dev = created.devices[0]!;
  });
  afterAll(async () => {
    if (current && current.process.exitCode === null && current.process.signalCode === null)
      await current.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a device left ONLINE by a server killed with SIGKILL is set OFFLINE (SERVER_RESTART) as soon as the server is back', async () => {
    const before = asTestPlatform(current!);
    const status = await watchStatus(before, pk, dev.deviceName);
    const device = await connectDevice(before, 'tcp', dev);
    const [online] = await status.waitFor(1);
    expect(online).toMatchObject({ status: 'ONLINE', connectionEpoch: 1 });
    await status.close();

    const lost = closedOf(device);
    expect(await current!.kill('SIGKILL')).toBe('SIGKILL');
    await lost;
    device.end(true);
    // However slow the restart, the killed instance's heartbeat must not be what sets the device offline: make it
    // look fresh for the next hour (a shared database would wait for it to expire; the embedded one must not).
    await withDataDir(dataDir, (db) =>
      db.query(`update instances set heartbeat_at = now() + interval '1 hour' where stopped_at is null`),
    );

    current = await startChildPlatform(env);
    const after = asTestPlatform(current);
    // No waiting for a heartbeat to expire: the embedded database is one process, so the previous one is gone.
    expect((await after.gql(DEVICE_QUERY, { pk, dn: dev.deviceName })).data.device).toMatchObject({
      state: 'OFFLINE',
      connectionEpoch: 1,
    });
    const replay = await watchStatus(after, pk, dev.deviceName, online!.cursor);
    const [offline] = await replay.waitFor(1);
    expect(offline).toMatchObject({ status: 'OFFLINE', connectionEpoch: 1, reason: 'SERVER_RESTART' });
    await replay.close();
  });

  it('a graceful shutdown (SIGTERM) records SERVER_SHUTDOWN for the connected devices and marks the instance stopped', async () => {
    const t = asTestPlatform(current!);
    const status = await watchStatus(t, pk, dev.deviceName);
    const device = await connectDevice(t, 'tcp', dev);
    const [online] = await status.waitFor(1);
    expect(online).toMatchObject({ status: 'ONLINE', connectionEpoch: 2 });
    await status.close();

    const closed = closedOf(device);
    expect(await current!.kill('SIGTERM')).toBe(0);
    await closed;
    device.end(true);
    current = null;

    // Read what the stopped server committed, at the source (starting a third server would take seconds).
    const stored = await withDataDir(dataDir, async (db) => ({
      device: (
        await db.query<{ online: boolean; connection_epoch: number }>(
          'select online, connection_epoch from devices where product_key = $1 and device_name = $2',
          [pk, dev.deviceName],
        )
      ).rows[0],
      status: (
        await db.query<{ data: { status: string; connectionEpoch: number; reason: string | null } }>(
          `select data from events where type = 'device.status' and product_key = $1 and device_name = $2 order by position`,
          [pk, dev.deviceName],
        )
      ).rows.map((r) => [r.data.status, r.data.connectionEpoch, r.data.reason]),
      running: (await db.query<{ n: number }>('select count(*)::int as n from instances where stopped_at is null'))
        .rows[0]!.n,
    }));
    expect(stored.device).toEqual({ online: false, connection_epoch: 2 });
    expect(stored.status).toEqual([
      ['online', 1, null],
      ['offline', 1, 'SERVER_RESTART'],
      ['online', 2, null],
      ['offline', 2, 'SERVER_SHUTDOWN'],
    ]);
    expect(stored.running).toBe(0);
  });
});
