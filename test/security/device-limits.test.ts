import mqtt from 'mqtt';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../../src/db/client.ts';
import { verifyDeviceLogin } from '../../src/domain/auth/signature.ts';
import {
  alinkLogin,
  brokerUrl,
  connectDevice,
  nextMessage,
  productWithDevices,
  type DeviceCreds,
} from '../helpers/devices.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

/**
 * Threat: a device (or anyone who can reach the ports) exhausts resources the reference bounds:
 * subscriptions, retained messages, login attempts, unknown-device logins, dynamic registrations. Each limit is a
 * setting (docs/security-device.md); small values here.
 */
describe('device-side limits', () => {
  let t: TestPlatform;
  let pk: string;
  let devs: DeviceCreds[];
  beforeAll(async () => {
    t = await startTestPlatform('pglite', {
      MQTT_MAX_SUBSCRIPTIONS_PER_DEVICE: 20,
      MQTT_MAX_RETAINED_PER_DEVICE: 2,
      AUTH_MAX_FAILURES_PER_DEVICE: 3,
      AUTH_MAX_FAILURES_PER_SOURCE: 6,
      DYNAMIC_REGISTRATION_PER_MINUTE: 2,
    });
    ({ productKey: pk, devices: devs } = await productWithDevices(t, 4, { dynamicRegistration: true }));
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses subscriptions past the per-device limit with SUBACK 0x80, and counts an unsubscribe back', async () => {
    const d = devs[0]!;
    const c = await connectDevice(t, 'tcp', d);
    const granted: number[] = [];
    // One filter per SUBSCRIBE: 30 of the device's own filters > 20 (its automatic D19/D22 subscriptions do not count).
    for (let i = 0; i < 30; i++) {
      const r = await c.subscribeAsync(`/sys/${pk}/${d.deviceName}/thing/custom/${i}`).then(
        (g) => g[0]!.qos,
        (err: { packet?: { granted?: number[] } }) => err.packet?.granted?.[0] ?? -1,
      );
      granted.push(r);
    }
    const refused = granted.filter((g) => g === 128).length;
    // At most 20 of its own.
    expect(refused).toBe(10);
    expect(granted.slice(granted.indexOf(128)).every((g) => g === 128)).toBe(true);
    // Room again after an UNSUBSCRIBE.
    await c.unsubscribeAsync(`/sys/${pk}/${d.deviceName}/thing/custom/0`);
    const again = await c.subscribeAsync(`/sys/${pk}/${d.deviceName}/thing/custom/extra`);
    expect(again[0]!.qos).toBe(0);
    await c.endAsync();
  });

  it('retains at most the per-device number of messages, and tells the device on /ext/error (429)', async () => {
    const d = devs[1]!;
    const c = await connectDevice(t, 'tcp', d);
    const errors = `/ext/error/${pk}/${d.deviceName}`;
    await c.subscribeAsync(errors);
    const notice = nextMessage(c, (tp) => tp === errors);
    for (const k of ['a', 'b', 'c'])
      await c.publishAsync(`/sys/${pk}/${d.deviceName}/thing/custom/${k}`, `{"v":"${k}"}`, { qos: 1, retain: true });
    expect(JSON.parse((await notice).payload.toString())).toMatchObject({
      code: 429,
      data: { topic: `/sys/${pk}/${d.deviceName}/thing/custom/c` },
    });
    const rows = await query<{ topic: string }>(
      t.platform.database.db,
      sql`select topic from mqtt_retained where starts_with(topic, ${`/sys/${pk}/${d.deviceName}/`}) order by topic`,
    );
    expect(rows.map((r) => r.topic)).toEqual([
      `/sys/${pk}/${d.deviceName}/thing/custom/a`,
      `/sys/${pk}/${d.deviceName}/thing/custom/b`,
    ]);
    // Replacing one it holds is fine; the message that was not retained was still received (stored as a device message).
    await c.publishAsync(`/sys/${pk}/${d.deviceName}/thing/custom/a`, '{"v":"a2"}', { qos: 1, retain: true });
    const stored = await query<{ n: number }>(
      t.platform.database.db,
      sql`select count(*)::int as n from events where type = 'device.message' and device_name = ${d.deviceName}`,
    );
    expect(stored[0]!.n).toBe(4);
    await c.endAsync();
  });

  it('refuses further dynamic registrations of a product past its budget with code 429', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${t.httpUrl}/auth/register/device`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          productKey: pk,
          deviceName: devs[3]!.deviceName,
          random: `r${i}`,
          signMethod: 'hmacsha256',
          sign: 'not-a-valid-sign',
        }).toString(),
      });
      codes.push(((await res.json()) as { code: number }).code);
    }
    expect(codes).toEqual([6600, 6600, 429]);
  });

  // Last: it uses up the failed-login budget of the test's source address.
  it('throttles failed logins per device and per source (CONNACK 3); unknown devices count against the source', async () => {
    const connack = (login: { clientId: string; username: string; password: string }) =>
      mqtt.connectAsync(brokerUrl(t, 'tcp'), { ...login, reconnectPeriod: 0, connectTimeout: 5000 }).then(
        async (c) => {
          await c.endAsync();
          return 0;
        },
        (err: { code?: number }) => err.code ?? -1,
      );
    const target = devs[2]!;
    const bad = { ...target, deviceSecret: 'f'.repeat(32) };
    expect([await connack(alinkLogin(bad)), await connack(alinkLogin(bad)), await connack(alinkLogin(bad))]).toEqual([
      4, 4, 4,
    ]);
    // The device's budget is used up: even its right secret waits for the next minute.
    expect(await connack(alinkLogin(target))).toBe(3);
    // Unknown devices count against the source: 3 more failures use up the source's 6.
    for (let i = 0; i < 3; i++)
      expect(await connack(alinkLogin({ productKey: pk, deviceName: `no-such-${i}`, deviceSecret: 'x' }))).toBe(4);
    expect(await connack(alinkLogin(devs[3]!))).toBe(3);
  });

  it('checks timestamps when a maximum clock skew is set, and refuses a ClientId without one (D2)', () => {
    const d = { productKey: 'a1FVx', deviceName: 'dev1', deviceSecret: 's3cr3t' };
    const fresh = alinkLogin(d, { timestamp: '100000' });
    const base = {
      rawClientId: fresh.clientId,
      username: fresh.username,
      password: fresh.password,
      deviceSecret: d.deviceSecret,
    };
    expect(verifyDeviceLogin(base).ok).toBe(true);
    expect(verifyDeviceLogin({ ...base, maxClockSkewMs: 1000, nowMs: 100_500 }).ok).toBe(true);
    expect(verifyDeviceLogin({ ...base, maxClockSkewMs: 1000, nowMs: 200_000 }).ok).toBe(false);
    const noTs = {
      rawClientId: `${d.productKey}.${d.deviceName}|securemode=3,signmethod=hmacsha256|`,
      username: fresh.username,
      password: 'irrelevant',
      deviceSecret: d.deviceSecret,
    };
    const r = verifyDeviceLogin({ ...noTs, maxClockSkewMs: 1000, nowMs: 100_500 });
    expect(r.ok ? null : r.error.reason).toBe('TIMESTAMP_SKEW');
  });
});
