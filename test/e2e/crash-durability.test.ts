/**
 * Durable before acknowledged (architecture.md): the platform process is killed with SIGKILL in the middle of
 * 6,000 QoS 1 property posts (hundreds in flight at the kill: the count is not the point). After a restart on the
 * same database every post whose PUBACK a device received is in history exactly once, and so is every post the
 * devices resent after reconnecting (mqtt.js resends what was not acknowledged; the platform recognises what it had
 * committed but not acknowledged).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { alinkLogin, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { dbKinds, type TestPlatform } from '../helpers/platform.ts';
import {
  freePort,
  openPgliteDataDir,
  scratchPostgres,
  seedPgliteDataDir,
  spawnPlatform,
  type PlatformProcess,
} from '../helpers/platform-process.ts';
import { lampTsl } from '../helpers/thing-posts.ts';

const DEVICES = 8;
const PER_DEVICE = 750;
/**
 * Posts a device keeps waiting for their PUBACK (the reference's limit, alink-protocol.md §7). mqtt.js resends its
 * unacknowledged posts one at a time after a reconnect, so the window also bounds the resend after the restart.
 */
const WINDOW = 100;
const TOTAL = DEVICES * PER_DEVICE;
/** Kill once this many posts were acknowledged: well inside the run. */
const KILL_AT = Math.floor(TOTAL * 0.4);

const trace = (m: string) => process.env.TRACE_CRASH && console.log(`[crash] ${new Date().toISOString()} ${m}`);
const label = (device: number, seq: number) => `d${device}-${seq}`;

interface Counts {
  /** DeviceLabel value → rows in property_history. */
  history: Map<string, number>;
  /** `${deviceName}:${requestId}` → thing.property.post events in the log. */
  events: Map<string, number>;
}

function tally(history: { label: string; n: string | number }[], events: { k: string; n: string | number }[]): Counts {
  return {
    history: new Map(history.map((r) => [r.label, Number(r.n)])),
    events: new Map(events.map((r) => [r.k, Number(r.n)])),
  };
}

const HISTORY_SQL = `select value #>> '{}' as label, count(*) as n from property_history where identifier = 'DeviceLabel' group by 1`;
const EVENTS_SQL = `select device_name || ':' || (data->>'requestId') as k, count(*) as n from events where type = 'thing.property.post' group by 1`;

describe.each(dbKinds())('a SIGKILL during 6,000 QoS 1 property posts on %s', (kind) => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('loses no acknowledged post and stores every post exactly once after the restart', {
    timeout: 180_000,
  }, async () => {
    // --- a database of its own, and the platform as a child process on fixed ports ---
    let database: { url: string } | { dataDir: string };
    if (kind === 'postgres') {
      const pg = await scratchPostgres('thingql_crash');
      cleanup.push(pg.drop);
      database = { url: pg.url };
    } else {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'thingql-crash-'));
      cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
      await seedPgliteDataDir(dataDir, inject('pgliteTemplate'));
      database = { dataDir };
    }
    const ports = { httpPort: await freePort(), mqttPort: await freePort() };
    const adminToken = `admin-${'k'.repeat(24)}`;
    const start = () => spawnPlatform({ ...ports, adminToken, database });
    let platform: PlatformProcess = await start();
    cleanup.push(async () => {
      await platform.kill('SIGKILL');
    });

    const { devices } = await productWithDevices(
      { gql: (q: string, v?: Record<string, unknown>) => platform.gql(q, v) } as unknown as TestPlatform,
      DEVICES,
      { tsl: lampTsl },
    );

    // --- devices: automatic reconnect and resend of unacknowledged QoS 1 (mqtt.js resends its outgoing store on
    // every connect, clean or not). Clean sessions: with persistent ones every QoS 1 `_reply` is also written to and
    // deleted from the broker's session tables (src/broker/persistence), which makes this run several times slower
    // without changing what it proves. ---
    const clients: MqttClient[] = [];
    cleanup.push(() => Promise.all(clients.map((c) => c.endAsync(true))).then(() => {}));
    const acked = new Set<string>();
    const failed: string[] = [];
    let ackedBeforeKill: Set<string> | null = null;
    let onAck: () => void = () => {};
    for (const dev of devices) {
      const c = await mqtt.connectAsync(platform.mqttUrl, {
        ...alinkLogin(dev),
        clean: true,
        reconnectPeriod: 300,
        connectTimeout: 5000,
        keepalive: 30,
      });
      clients.push(c);
    }

    const post = (c: MqttClient, dev: DeviceCreds, k: number, seq: number, then: () => void) => {
      const body = {
        id: String(seq),
        version: '1.0',
        params: { Brightness: seq % 101, LightSwitch: seq % 2, DeviceLabel: label(k, seq) },
        method: 'thing.event.property.post',
      };
      c.publish(
        `/sys/${dev.productKey}/${dev.deviceName}/thing/event/property/post`,
        JSON.stringify(body),
        { qos: 1 },
        (err) => {
          if (err) failed.push(`${label(k, seq)}: ${err.message}`);
          else {
            acked.add(label(k, seq));
            onAck();
          }
          then();
        },
      );
    };
    const killed = new Promise<void>((resolve) => {
      onAck = () => {
        if (acked.size >= KILL_AT && ackedBeforeKill === null) {
          // SIGKILL the server process itself: no shutdown hooks, no flush.
          process.kill(platform.pid, 'SIGKILL');
          ackedBeforeKill = new Set(acked);
          resolve();
        }
      };
    });
    devices.forEach((dev, k) => {
      let next = 1;
      const pump = () => {
        if (next <= PER_DEVICE) post(clients[k]!, dev, k, next++, pump);
      };
      for (let w = 0; w < WINDOW; w++) pump();
    });

    const t0 = Date.now();
    const progress = setInterval(
      () => trace(`acked ${acked.size}, connected ${clients.filter((c) => c.connected).length}`),
      2000,
    );
    cleanup.push(() => clearInterval(progress));
    await killed;
    const beforeKill = ackedBeforeKill! as Set<string>;
    trace(`killed at ${beforeKill.size} acknowledged, after ${Date.now() - t0} ms`);
    expect(await platform.exited).toBe('SIGKILL');
    // Genuinely in the middle: some posts were acknowledged, many were not.
    expect(beforeKill.size).toBeGreaterThanOrEqual(KILL_AT);
    expect(beforeKill.size).toBeLessThan(TOTAL);

    // --- restart on the same database and ports; the devices reconnect and resend on their own ---
    platform = await start();
    trace(`restarted after ${Date.now() - t0} ms`);
    const deadline = Date.now() + 120_000;
    while (acked.size < TOTAL && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(failed).toEqual([]);
    expect(acked.size, `acknowledged after the restart (of ${TOTAL})`).toBe(TOTAL);

    // --- through the API: every device's labels, all pages ---
    const seen = new Map<string, number>();
    for (const dev of devices) {
      let after: string | null = null;
      for (;;) {
        const r: { data: any; errors?: any[] } = await platform.gql(
          `query($pk: String!, $dn: String!, $after: String) { devicePropertyHistory(productKey: $pk, deviceName: $dn, identifier: "DeviceLabel", from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z", order: ASC, first: 500, after: $after) { edges { node { value } } pageInfo { hasNextPage endCursor } } }`,
          { pk: dev.productKey, dn: dev.deviceName, after },
        );
        expect(r.errors).toBeUndefined();
        for (const e of r.data.devicePropertyHistory.edges) seen.set(e.node.value, (seen.get(e.node.value) ?? 0) + 1);
        if (!r.data.devicePropertyHistory.pageInfo.hasNextPage) break;
        after = r.data.devicePropertyHistory.pageInfo.endCursor;
      }
    }
    const lost = [...beforeKill].filter((l) => !seen.has(l));
    expect(lost, 'acknowledged before the kill but not in history').toEqual([]);
    expect(
      [...seen].filter(([, n]) => n !== 1),
      'stored more than once',
    ).toEqual([]);
    expect(seen.size).toBe(TOTAL);

    // --- at the source: history rows and the event log, after a graceful stop ---
    for (const c of clients) await c.endAsync();
    clients.length = 0;
    expect(await platform.kill('SIGTERM')).toBe(0);
    let counts: Counts;
    if ('url' in database) {
      const sql = postgres(database.url, { max: 1, onnotice: () => {} });
      counts = tally(await sql.unsafe(HISTORY_SQL), await sql.unsafe(EVENTS_SQL));
      await sql.end();
    } else {
      counts = await openPgliteDataDir(database.dataDir, async (db) =>
        tally(
          (await db.query<{ label: string; n: number }>(HISTORY_SQL)).rows,
          (await db.query<{ k: string; n: number }>(EVENTS_SQL)).rows,
        ),
      );
    }
    expect(counts.history.size).toBe(TOTAL);
    expect([...counts.history].filter(([, n]) => n !== 1)).toEqual([]);
    expect(counts.events.size).toBe(TOTAL);
    expect([...counts.events].filter(([, n]) => n !== 1)).toEqual([]);
  });
});
