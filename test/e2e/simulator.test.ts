import { beforeAll, describe, expect, it } from 'vitest';
import { runSimulation, SimulationError, type Summary } from '../../src/sim/simulate.ts';
import { command, serviceHistory } from '../helpers/commands.ts';
import { waitFor } from '../helpers/wait.ts';
import { sleep } from '../helpers/devices.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { lampTsl } from '../helpers/tsl-fixtures.ts';

const DEVICES = ['sim-0001', 'sim-0002', 'sim-0003', 'sim-0004', 'sim-0005'];
const RANGE = () => ({
  from: new Date(Date.now() - 3_600_000).toISOString(),
  to: new Date(Date.now() + 60_000).toISOString(),
});

/** Every post was published, PUBACKed and answered with code 200; nothing failed. */
function expectAllAcked(s: Summary, lostReplies = 0): void {
  expect(s.errorsByKind).toEqual(lostReplies ? { replyTimeout: lostReplies } : {});
  expect(s.acked).toBe(s.sent);
  const answered = s.sent - lostReplies;
  expect(s.replies).toEqual({ ok: answered, other: 0, byCode: answered ? { '200': answered } : {} });
  expect(s.latencyMs.count).toBe(answered);
}

/**
 * aedes 1.2.0 (moscajs/aedes#994): a QoS 0 publish to a client can overtake a QoS 1 publish made just before it, and
 * aedes' per-client dedupe then drops the QoS 1 packet (a post_reply lost behind an RRPC request). The broker now sends
 * a device's publishes one after the other (src/broker/broker.ts), so no reply may be lost.
 */
const AEDES_994_MAX_LOST_REPLIES = 0;

async function historyCount(t: TestPlatform, pk: string, dn: string, kind: 'property' | 'event'): Promise<number> {
  const q =
    kind === 'property'
      ? `query($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!) { h: devicePropertyHistory(productKey: $pk, deviceName: $dn, identifier: "LightSwitch", from: $from, to: $to, first: 500) { edges { node { value } } pageInfo { hasNextPage } } }`
      : `query($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!) { h: deviceEventHistory(productKey: $pk, deviceName: $dn, from: $from, to: $to, first: 500) { edges { node { identifier } } pageInfo { hasNextPage } } }`;
  const r = await t.gql(q, { pk, dn, ...RANGE() });
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  expect(r.data.h.pageInfo.hasNextPage).toBe(false);
  return r.data.h.edges.length;
}

describe('thingql simulate (runSimulation in-process)', () => {
  const t = usePlatform('pglite');
  let pk: string;
  beforeAll(async () => {
    const p = await t.gql(
      `mutation($i: CreateProductInput!) { createProduct(input: $i) { product { productKey } userErrors { code } } }`,
      { i: { name: 'Simulated lamps', tsl: lampTsl } },
    );
    pk = p.data.createProduct.product.productKey;
  });

  const base = () => ({
    graphqlUrl: t.graphqlUrl,
    token: t.adminToken,
    mqttUrl: `mqtt://127.0.0.1:${t.platform.mqttPort}`,
    productKey: pk,
  });

  it('posts at the asked rate, every post acked with 200 and stored, and the devices answer set, services and RRPC', async () => {
    const logs: string[] = [];
    let answers: Promise<Record<string, any>> | undefined;
    const summary = await runSimulation({
      ...base(),
      devices: 5,
      rate: 50,
      durationSeconds: 2,
      drainMs: 15_000, // generous: a loaded machine answers late, but every reply must come
      seed: 7,
      log: (m) => logs.push(m),
      onReady: ({ deviceNames }) => {
        expect(deviceNames).toEqual(DEVICES);
        answers = (async () => {
          await sleep(300);
          const [set, blink, rrpc, reboot] = await Promise.all([
            command(t, 'setDeviceProperty', {
              productKey: pk,
              deviceName: 'sim-0001',
              items: { DeviceLabel: 'from-test', Brightness: 42 },
            }),
            command(t, 'invokeThingService', {
              productKey: pk,
              deviceName: 'sim-0002',
              identifier: 'Blink',
              args: { Times: 2, IntervalMs: 100 },
              timeoutMs: 2000,
            }),
            command(t, 'rrpc', { productKey: pk, deviceName: 'sim-0003', payload: 'ping', timeoutMs: 2000 }),
            command(t, 'invokeThingService', {
              productKey: pk,
              deviceName: 'sim-0004',
              identifier: 'Reboot',
              args: { DelaySeconds: 1 },
            }),
          ]);
          return { set, blink, rrpc, reboot };
        })();
      },
    });
    expect(logs[0]).toContain('5 devices (5 registered, 0 with a new secret)');

    const lost = summary.errorsByKind.replyTimeout ?? 0;
    expect(lost).toBeLessThanOrEqual(AEDES_994_MAX_LOST_REPLIES);
    expectAllAcked(summary, lost);
    expect(summary.devices).toEqual({ requested: 5, connected: 5, loginFailures: 0 });
    expect(summary.sent).toBeGreaterThanOrEqual(60); // ~100 due in 2 s; slack for a busy machine
    expect(summary.sentByKind.setPosts).toBe(1);
    expect(summary.sentByKind.events).toBeGreaterThan(0);
    expect(summary.commands).toEqual({
      propertySets: 1,
      propertyGets: 0,
      asyncServices: 1,
      syncServices: 1,
      rrpcEchoes: 1,
    });

    const a = await answers!;
    expect(a.set.userErrors).toEqual([]);
    expect(a.blink).toMatchObject({ callType: 'SYNC', code: 200, rrpcCode: 'SUCCESS', userErrors: [] });
    expect([0, 1]).toContain(a.blink.output.Done); // the platform checks the output against outputData too
    expect(a.rrpc).toMatchObject({ rrpcCode: 'SUCCESS', payloadText: 'ping', userErrors: [] });
    expect(a.reboot).toMatchObject({ callType: 'ASYNC', userErrors: [] });
    for (const [dn, id] of [
      ['sim-0001', 'set'],
      ['sim-0004', 'Reboot'],
    ] as const) {
      const rows = await waitFor(() => serviceHistory(t, pk, dn), {
        until: (h) => h.some((r) => r.identifier === id && r.status === 'REPLIED'),
        message: `${id} replied`,
      });
      expect(rows.find((r) => r.identifier === id)).toMatchObject({ status: 'REPLIED', code: 200 });
    }

    // Durable before acknowledged: every post PUBACKed is in the history, those whose reply aedes lost included. Each
    // regular property post carries every property (LightSwitch included); the post after the set only what was set.
    let properties = 0;
    let events = 0;
    for (const dn of DEVICES) {
      properties += await historyCount(t, pk, dn, 'property');
      events += await historyCount(t, pk, dn, 'event');
    }
    expect(properties).toBe(summary.sentByKind.properties);
    expect(events).toBe(summary.sentByKind.events);
    // The set value is the device's state from then on: posted right after the set and in every later post.
    const d = await t.gql(
      `query($pk: String!) { device(productKey: $pk, deviceName: "sim-0001") { properties { identifier value } } }`,
      { pk },
    );
    const props = Object.fromEntries(d.data.device.properties.map((p: any) => [p.identifier, p.value]));
    expect(props).toMatchObject({ DeviceLabel: 'from-test', Brightness: 42 });
  });

  it('gives existing devices a new secret and runs over MQTT on WebSocket', async () => {
    const logs: string[] = [];
    const summary = await runSimulation({
      ...base(),
      mqttUrl: `ws://127.0.0.1:${t.platform.httpPort}/mqtt`,
      devices: 2,
      rate: 20,
      durationSeconds: 0.5,
      qos: 0,
      log: (m) => logs.push(m),
    });
    expect(logs[0]).toContain('2 devices (0 registered, 2 with a new secret)');
    expect(summary.qos).toBe(0);
    expect(summary.sent).toBeGreaterThan(0);
    expectAllAcked(summary);
  });

  it('refuses clearly: unknown product, bad token, unreachable platform, a non-ADMIN token for existing devices', async () => {
    const fail = async (o: Partial<Parameters<typeof runSimulation>[0]>) => {
      const e = await runSimulation({ ...base(), devices: 1, rate: 1, durationSeconds: 0.1, ...o }).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(SimulationError);
      return e as SimulationError;
    };
    expect(await fail({ productKey: 'nope' })).toMatchObject({
      code: 'PRODUCT_NOT_FOUND',
      message: expect.stringContaining('product nope not found'),
    });
    expect(await fail({ token: 'wrong' })).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: expect.stringContaining('token was refused'),
    });
    expect(await fail({ graphqlUrl: 'http://127.0.0.1:1/graphql' })).toMatchObject({
      code: 'PLATFORM_UNREACHABLE',
      message: expect.stringContaining('cannot reach the platform at http://127.0.0.1:1/graphql'),
    });

    const key = await t.gql(`mutation { createApiKey(input: { name: "sim operator", role: OPERATOR }) { token } }`);
    const operator = key.data.createApiKey.token as string;
    const forbidden = await fail({ token: operator });
    expect(forbidden.code).toBe('FORBIDDEN');
    expect(forbidden.message).toMatch(/needs an ADMIN token; this token is not ADMIN/);
    // Checked before any device is provisioned: is there a broker, and is it ThingQL (src/sim/broker-check.ts).
    expect(await fail({ mqttUrl: 'mqtt://127.0.0.1:1', prefix: 'fresh-' })).toMatchObject({
      code: 'BROKER_UNREACHABLE',
      message: expect.stringContaining('nothing accepts MQTT connections at mqtt://127.0.0.1:1'),
    });
  });
});
