/**
 * A PostgreSQL outage while devices post QoS 1 (architecture.md "Durable before acknowledged"): devices get
 * no PUBACK for what is not committed, the service stays up, and once the database is back their posts (resent by
 * mqtt.js) are stored, nothing acknowledged is lost and nothing is stored twice. The platform runs as a child
 * process whose connections go through a TCP proxy the test cuts. PostgreSQL only (TEST_DATABASE_URL).
 */
import mqtt, { type MqttClient } from 'mqtt';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { startDbProxy, type DbProxy } from '../helpers/db-proxy.ts';
import { alinkLogin, productWithDevices, sleep, type DeviceCreds } from '../helpers/devices.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import { freePort, scratchPostgres, spawnPlatform, type PlatformProcess } from '../helpers/platform-process.ts';
import { lampTsl } from '../helpers/thing-posts.ts';

const DEVICES = 3;
const PER_DEVICE = 400;
const WINDOW = 10;
/** Long enough for several failed commits and reconnects; postgres.js backs off its reconnects exponentially. */
const OUTAGE_MS = 4000;

const trace = (m: string) => process.env.TRACE_OUTAGE && console.log(`[outage] ${new Date().toISOString()} ${m}`);

interface Ack {
  label: string;
  at: number;
}

describe.skipIf(!process.env.TEST_DATABASE_URL).each(['refuse', 'unreachable', 'blackhole'] as const)(
  'a database outage (%s) while devices post QoS 1',
  (mode) => {
    const cleanup: (() => Promise<unknown> | unknown)[] = [];
    afterAll(async () => {
      for (const c of cleanup.reverse()) await c();
    });

    it('acknowledges nothing uncommitted, stays up, and stores every post exactly once after the database returns', {
      timeout: 120_000,
    }, async () => {
      const pg = await scratchPostgres('thingql_outage');
      cleanup.push(pg.drop);
      const upstream = new URL(process.env.TEST_DATABASE_URL!);
      const proxy: DbProxy = await startDbProxy({ host: upstream.hostname, port: Number(upstream.port || 5432) });
      cleanup.push(() => proxy.close());
      const viaProxy = new URL(pg.url);
      viaProxy.host = `127.0.0.1:${proxy.port}`;
      const platform: PlatformProcess = await spawnPlatform({
        httpPort: await freePort(),
        mqttPort: await freePort(),
        adminToken: `admin-${'o'.repeat(24)}`,
        database: { url: viaProxy.toString() },
      });
      cleanup.push(() => platform.kill('SIGKILL'));
      trace('platform started');
      const { devices } = await productWithDevices(
        { gql: (q: string, v?: Record<string, unknown>) => platform.gql(q, v) } as unknown as TestPlatform,
        DEVICES,
        { tsl: lampTsl },
      );

      // --- devices posting steadily, each with a window of unacknowledged posts ---
      const acks: Ack[] = [];
      const errors: string[] = [];
      const clients: MqttClient[] = [];
      cleanup.push(() => Promise.all(clients.map((c) => c.endAsync(true))));
      for (const dev of devices) {
        // While the login cannot be recorded the platform answers CONNACK 3 "server unavailable"; a device retries
        // (mqtt.js gives up after a refused CONNACK unless told otherwise).
        clients.push(
          await mqtt.connectAsync(platform.mqttUrl, {
            ...alinkLogin(dev),
            clean: true,
            reconnectPeriod: 500,
            connectTimeout: 5000,
            keepalive: 30,
            reconnectOnConnackError: true,
          }),
        );
      }
      const label = (k: number, seq: number) => `o${k}-${seq}`;
      let paced = true;
      const finished = devices.map(
        (dev: DeviceCreds, k) =>
          new Promise<void>((resolve) => {
            let next = 1;
            let done = 0;
            const pump = () => {
              if (next > PER_DEVICE) return;
              const seq = next++;
              const body = {
                id: String(seq),
                version: '1.0',
                params: { Brightness: seq % 101, DeviceLabel: label(k, seq) },
                method: 'thing.event.property.post',
              };
              const send = () =>
                clients[k]!.publish(
                  `/sys/${dev.productKey}/${dev.deviceName}/thing/event/property/post`,
                  JSON.stringify(body),
                  { qos: 1 },
                  (err) => {
                    if (err) errors.push(`${label(k, seq)}: ${err.message}`);
                    else acks.push({ label: label(k, seq), at: Date.now() });
                    if (++done === PER_DEVICE) resolve();
                    else pump();
                  },
                );
              // A steady trickle before and during the outage; full speed once it is over.
              if (paced) setTimeout(send, 20);
              else send();
            };
            for (let w = 0; w < WINDOW; w++) pump();
          }),
      );

      trace('devices connected, posting');
      const warm = setInterval(() => trace(`acked ${acks.length}`), 1000);
      while (acks.length < 150) await sleep(20);
      clearInterval(warm);

      // --- the outage ---
      await proxy.cut(mode);
      const cutAt = Date.now();
      const ackedAtCut = acks.length;
      trace(`cut (${mode}) with ${ackedAtCut} acknowledged`);
      // Readiness is probed alongside: a probe that does not answer within 2 s counts as not ready.
      const readiness = fetch(`${platform.httpUrl}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status,
        () => 'no answer' as const,
      );
      let health = 0;
      while (Date.now() - cutAt < OUTAGE_MS) {
        const h = await fetch(`${platform.httpUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (h.status === 200) health++;
        await sleep(250);
      }
      const ready = await readiness;
      trace(`outage: ${acks.length - ackedAtCut} PUBACKs after the cut, healthz 200 x${health}, readyz ${ready}`);
      // PUBACKs already on the wire at the cut may still arrive; after a second nothing can have been committed.
      const lateAcks = acks.filter((a) => a.at > cutAt + 1000);
      expect(lateAcks, 'PUBACKs while the database was unreachable').toEqual([]);
      expect(acks.length - ackedAtCut).toBeLessThanOrEqual(DEVICES * WINDOW);
      expect(health, 'GET /healthz answered 200 throughout').toBeGreaterThanOrEqual(OUTAGE_MS / 500);
      expect(ready, 'GET /readyz during the outage').not.toBe(200);
      expect(platform.child.exitCode).toBeNull();

      // --- the database returns: devices reconnect, mqtt.js resends, the rest flows ---
      paced = false;
      await proxy.restore();
      const restoredAt = Date.now();
      const progress = setInterval(
        () => trace(`acked ${acks.length}, connected ${clients.filter((c) => c.connected).length}`),
        2000,
      );
      await Promise.race([Promise.all(finished), sleep(60_000)]);
      clearInterval(progress);
      trace(`after the restore: ${acks.length} acknowledged in ${Date.now() - restoredAt} ms`);
      if (acks.length < DEVICES * PER_DEVICE) console.log(platform.output().slice(-4000));
      expect(errors).toEqual([]);
      expect(
        new Set(acks.map((a) => a.label)).size,
        `posts acknowledged ${Date.now() - restoredAt} ms after the restore`,
      ).toBe(DEVICES * PER_DEVICE);
      expect(acks.length).toBe(DEVICES * PER_DEVICE);
      expect((await fetch(`${platform.httpUrl}/readyz`)).status).toBe(200);
      expect(platform.child.exitCode).toBeNull();

      // --- at the source, bypassing the proxy: every post exactly once ---
      const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
      const rows = await sql<
        { label: string; n: number }[]
      >`select value #>> '{}' as label, count(*)::int as n from property_history where identifier = 'DeviceLabel' group by 1`;
      const events = await sql<
        { k: string; n: number }[]
      >`select device_name || ':' || (data->>'requestId') as k, count(*)::int as n from events where type = 'thing.property.post' group by 1`;
      await sql.end();
      const stored = new Map(rows.map((r) => [r.label, r.n]));
      expect(
        acks.filter((a) => !stored.has(a.label)).map((a) => a.label),
        'acknowledged but not stored',
      ).toEqual([]);
      expect(
        rows.filter((r) => r.n !== 1),
        'stored more than once',
      ).toEqual([]);
      expect(stored.size).toBe(DEVICES * PER_DEVICE);
      expect(events.filter((e) => e.n !== 1)).toEqual([]);
      expect(events.length).toBe(DEVICES * PER_DEVICE);
    });
  },
);
