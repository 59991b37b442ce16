/**
 * Closed-loop device load: mqtt.js devices logged in with the Alink signature post smart-lamp properties (3 of them)
 * with QoS 1, each keeping `window` posts in flight; a PUBACK (sent by ThingQL once the post is committed:
 * architecture.md "durable before acknowledged") lets the next one go. Throughput = PUBACKs per second.
 */
import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { alinkLogin } from '../../test/helpers/devices.ts';
import type { DeviceCreds } from './gql.ts';
import { latency, type Latency } from './stats.ts';

export interface LoadDevice {
  creds: DeviceCreds;
  client: MqttClient;
  nextId: number;
}

/** Log every device in (Alink signature), `concurrency` at a time; device i goes to `urlOf(i)`. */
export async function connectDevices(
  creds: DeviceCreds[],
  urlOf: (i: number) => string,
  concurrency = 50,
): Promise<LoadDevice[]> {
  const out: LoadDevice[] = new Array(creds.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, creds.length) }, async () => {
      while (next < creds.length) {
        const i = next++;
        const c = creds[i]!;
        const client = await mqtt.connectAsync(urlOf(i), {
          ...alinkLogin(c),
          reconnectPeriod: 0,
          keepalive: 600,
          connectTimeout: 60_000,
        });
        client.on('error', () => {});
        out[i] = { creds: c, client, nextId: 1 };
      }
    }),
  );
  return out;
}

export async function disconnectDevices(devices: LoadDevice[]): Promise<void> {
  await Promise.all(devices.map((d) => d.client.endAsync().catch(() => {})));
}

export interface LoadResult {
  acked: number;
  failed: number;
  seconds: number;
  postsPerSecond: number;
  pubackLatencyMs: Latency;
}

/**
 * Run the closed loop: warm up for `warmupMs`, then measure `seconds`; `onWindow('start'|'end')` runs at both ends of
 * the measurement (e.g. to read the servers' CPU). The loop then stops and in-flight posts drain.
 */
export async function closedLoop(
  devices: LoadDevice[],
  opts: { window: number; seconds: number; warmupMs?: number; onWindow?: (edge: 'start' | 'end') => Promise<void> },
): Promise<LoadResult> {
  let running = true;
  let measuring = false;
  let acked = 0;
  let failed = 0;
  let inFlight = 0;
  const lat: number[] = [];
  const post = (d: LoadDevice) => {
    const k = d.nextId++;
    const payload = JSON.stringify({
      id: String(k),
      version: '1.0',
      params: { LightSwitch: k % 2, Brightness: k % 101, ColorTemperature: 2700 + (k % 39) * 100 },
      method: 'thing.event.property.post',
    });
    const sent = performance.now();
    inFlight++;
    d.client.publish(
      `/sys/${d.creds.productKey}/${d.creds.deviceName}/thing/event/property/post`,
      payload,
      { qos: 1 },
      (err) => {
        inFlight--;
        if (measuring) {
          if (err) failed++;
          else {
            acked++;
            lat.push(performance.now() - sent);
          }
        }
        if (running && !err) post(d);
      },
    );
  };
  for (const d of devices) for (let i = 0; i < opts.window; i++) post(d);
  await new Promise((r) => setTimeout(r, opts.warmupMs ?? 1000));
  await opts.onWindow?.('start');
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, opts.seconds * 1000));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const result = { acked, failed };
  await opts.onWindow?.('end');
  running = false;
  const until = performance.now() + 30_000;
  while (inFlight > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  return { ...result, seconds, postsPerSecond: Math.round(result.acked / seconds), pubackLatencyMs: latency(lat) };
}
