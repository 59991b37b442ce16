import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { captureBrokers, liveClientsOf } from '../helpers/aedes-spy.ts';
import {
  alinkLogin,
  brokerUrl,
  productWithDevices,
  sleep,
  type DeviceCreds,
  type Transport,
} from '../helpers/devices.ts';
import { dbKinds, startTestPlatform, type DbKind, type TestPlatform } from '../helpers/platform.ts';
import { connectPacket, rawConnect } from '../helpers/raw-mqtt.ts';
import { DEVICE_QUERY, short, statusSequenceViolation, watchStatus, type StatusEvent } from '../helpers/status.ts';

/** Deterministic randomness (mulberry32), so a failing storm can be replayed from its seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
  };
}

type Plan = 'abortDuringLogin' | 'closeSoon' | 'destroySoon' | 'keep';

interface Attempt {
  plan: Plan;
  /** The mqtt.js client (none for a raw login that is dropped on purpose). */
  client: MqttClient | null;
  accepted: boolean;
  closed: boolean;
  settled: Promise<void>;
}

/**
 * One connection of the storm: logs in (a shared or its own ClientId, TCP or WebSocket), then follows its plan:
 * drop the socket a moment after CONNECT left (the broker is still committing the login), DISCONNECT or drop the
 * socket a few ms after CONNACK, or stay open. `settled` resolves once the plan is carried out or the broker ended it.
 */
function attempt(
  t: TestPlatform,
  dev: DeviceCreds,
  r: ReturnType<typeof rng>,
  sharedClientId: boolean,
  transport: Transport,
): Attempt {
  const plan = r.pick<Plan>(['abortDuringLogin', 'closeSoon', 'destroySoon', 'keep', 'keep']);
  const login = alinkLogin(dev, {
    clientId: sharedClientId ? `${dev.productKey}.${dev.deviceName}` : `storm-${r.int(1e9)}`,
  });
  const delay = r.int(25);
  if (plan === 'abortDuringLogin') {
    const a: Attempt = { plan, client: null, accepted: false, closed: false, settled: Promise.resolve() };
    a.settled = rawConnect(t, transport).then(async (raw) => {
      raw.write(connectPacket(login));
      await sleep(r.int(4));
      raw.drop();
      await raw.closed;
      a.closed = true;
    });
    return a;
  }
  const client = mqtt.connect(brokerUrl(t, transport), {
    ...login,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    keepalive: 60,
  });
  const a: Attempt = { plan, client, accepted: false, closed: false, settled: Promise.resolve() };
  a.settled = new Promise<void>((resolve) => {
    client.on('error', () => {}); // CONNACK 5 for a login that lost the race: the 'close' below settles it
    client.on('close', () => {
      a.closed = true;
      resolve();
    });
    client.on('connect', () => {
      a.accepted = true;
      if (plan === 'keep') return resolve();
      setTimeout(() => (plan === 'closeSoon' ? client.end() : client.stream.destroy()), delay);
    });
  });
  return a;
}

/** Fails after `ms` instead of hanging until the test timeout. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)),
  ]);
}

const connectAs = (t: TestPlatform, transport: Transport, dev: DeviceCreds, clientId: string) =>
  mqtt.connectAsync(brokerUrl(t, transport), {
    ...alinkLogin(dev, { clientId }),
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });

/**
 * Waits until the status stream has been quiet for `quietMs`, agrees with the device row, and (when given) shows the
 * state the clients imply: `openClients()` is how many of the device's connections are open client-side (kicks take a
 * moment to land): at most one, and the device is ONLINE exactly when one is. Returns what it saw at the deadline
 * otherwise, for the assertions to report.
 */
async function settledState(
  t: TestPlatform,
  pk: string,
  dn: string,
  status: Awaited<ReturnType<typeof watchStatus>>,
  openClients?: () => number,
  quietMs = 150,
) {
  let seen = -1;
  let since = Date.now();
  const deadline = Date.now() + 15_000;
  for (;;) {
    const events = status.events();
    if (events.length !== seen) {
      seen = events.length;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      const device = (await t.gql(DEVICE_QUERY, { pk, dn })).data.device as { state: string; connectionEpoch: number };
      const last = events.at(-1);
      const agrees = last
        ? (last.status === 'ONLINE') === (device.state === 'ONLINE') &&
          (last.status === 'OFFLINE' || last.connectionEpoch === device.connectionEpoch)
        : device.state !== 'ONLINE';
      const open = openClients?.();
      const expected = open === undefined || (open <= 1 && (device.state === 'ONLINE') === (open === 1));
      if ((agrees && expected) || Date.now() > deadline) return { device, events };
    }
    if (Date.now() > deadline) throw new Error(`status stream never settled: ${events.map(short).join(' ')}`);
    await sleep(20);
  }
}

describe.each<DbKind>(dbKinds())('presence under reconnect races (%s)', (kind) => {
  let t: TestPlatform;
  let pk: string;
  let devs: DeviceCreds[];
  let spy: ReturnType<typeof captureBrokers>;
  beforeAll(async () => {
    spy = captureBrokers();
    t = await startTestPlatform(kind);
    ({ productKey: pk, devices: devs } = await productWithDevices(t, 8));
  });
  afterAll(async () => {
    await t?.close();
    spy?.restore();
  });

  describe.each<Transport>(['tcp', 'ws'])('takeover over MQTT/%s', (transport) => {
    it.each([
      ['a different ClientId', false],
      ['the same ClientId', true],
    ] as const)(
      'a second login with %s kicks the first: OFFLINE TAKEN_OVER for the old epoch, then ONLINE with the new one',
      async (_label, sameId) => {
        const dev = devs[(transport === 'tcp' ? 0 : 2) + (sameId ? 1 : 0)]!;
        const status = await watchStatus(t, pk, dev.deviceName);
        const first = await connectAs(t, transport, dev, 'first');
        const firstClosed = new Promise<void>((r) => first.once('close', () => r()));
        const second = await connectAs(t, transport, dev, sameId ? 'first' : 'second');
        await within(firstClosed, 3000, 'the first connection was not closed');

        const events = await status.waitFor(3);
        expect(events.map((e) => [e.status, e.connectionEpoch, e.reason])).toEqual([
          ['ONLINE', 1, null],
          ['OFFLINE', 1, 'TAKEN_OVER'],
          ['ONLINE', 2, null],
        ]);
        await sleep(150);
        expect(status.events()).toHaveLength(3); // the first connection's late close changes nothing
        expect(second.connected).toBe(true);
        expect((await t.gql(DEVICE_QUERY, { pk, dn: dev.deviceName })).data.device).toMatchObject({
          state: 'ONLINE',
          connectionEpoch: 2,
        });
        expect(liveClientsOf(spy.broker(), pk, dev.deviceName).map((l) => l.session?.epoch)).toEqual([2]);

        await second.endAsync();
        expect((await status.waitFor(4))[3]).toMatchObject({
          status: 'OFFLINE',
          connectionEpoch: 2,
          reason: 'CLIENT_DISCONNECT',
        });
        await status.close();
      },
    );
  });

  it.each<Transport>(['tcp', 'ws'])(
    'a login whose socket (MQTT/%s) drops while the broker commits it still kicks the older connection, which must not stay open behind an OFFLINE device',
    async (transport) => {
      const dev = devs[transport === 'tcp' ? 4 : 5]!;
      const status = await watchStatus(t, pk, dev.deviceName);
      const older = await connectAs(t, transport, dev, 'older');
      const olderClosed = new Promise<void>((r) => older.once('close', () => r()));
      // A newer login of the same device whose socket drops right after CONNECT, while the broker commits the login
      // (epoch 2). D6: the newer login wins, so the older connection goes (TAKEN_OVER) whatever became of the newer.
      const newer = await rawConnect(t, transport);
      newer.write(connectPacket(alinkLogin(dev, { clientId: 'newer' })));
      await sleep(1);
      newer.drop();
      const { device, events } = await settledState(t, pk, dev.deviceName, status, () => (older.connected ? 1 : 0));
      expect(statusSequenceViolation(events)).toBeNull();
      await within(olderClosed, 3000, 'the older connection was not closed');
      expect(device.state).toBe('OFFLINE');
      expect(liveClientsOf(spy.broker(), pk, dev.deviceName)).toEqual([]);
      expect(events.map((e) => [e.status, e.connectionEpoch, e.reason])).toEqual([
        ['ONLINE', 1, null],
        ['OFFLINE', 1, 'TAKEN_OVER'],
        ['ONLINE', 2, null],
        ['OFFLINE', 2, 'CLIENT_DISCONNECT'],
      ]);
      older.end(true);
      await status.close();
    },
  );

  it('300 logins of one device in concurrent storms (takeovers, aborted logins, random closes) end ONLINE with the winner, then OFFLINE, with a consistent status sequence', async () => {
    const dev = devs[6]!;
    const seed = Number(process.env.STORM_SEED ?? Date.now() % 100_000);
    const r = rng(seed);
    const why = `storm seed ${seed} (replay with STORM_SEED=${seed})`;
    const status = await watchStatus(t, pk, dev.deviceName);
    const all: Attempt[] = [];
    const WAVES = 6;
    const PER_WAVE = 50;
    for (let w = 0; w < WAVES; w++) {
      const wave: Attempt[] = [];
      // Many at once and in quick succession: bursts of a few, a millisecond or two apart.
      for (let i = 0; i < PER_WAVE; i++) {
        wave.push(attempt(t, dev, r, r.next() < 0.5, r.next() < 0.8 ? 'tcp' : 'ws'));
        if (r.next() < 0.3) await sleep(r.int(3));
      }
      all.push(...wave);
      await Promise.all(wave.map((a) => a.settled));
      const openNow = () => all.filter((a) => !a.closed && a.client?.connected);
      const { device, events } = await settledState(t, pk, dev.deviceName, status, () => openNow().length);
      expect(statusSequenceViolation(events), why).toBeNull();

      // D6: at most one connection of the device survives, and it is the one with the device's current epoch.
      const open = openNow();

      const live = liveClientsOf(spy.broker(), pk, dev.deviceName);
      expect(open.length, why).toBeLessThanOrEqual(1);
      expect(live.length, why).toBe(open.length);
      if (open.length === 1) {
        expect(device.state, why).toBe('ONLINE');
        expect(live[0]!.session!.epoch, why).toBe(device.connectionEpoch);
        const maxOnline = Math.max(...events.filter((e) => e.status === 'ONLINE').map((e) => e.connectionEpoch));
        expect(device.connectionEpoch, why).toBe(maxOnline);
        // No OFFLINE was ever recorded for the epoch that is still connected.
        expect(
          events.filter((e) => e.status === 'OFFLINE' && e.connectionEpoch === device.connectionEpoch),
          why,
        ).toEqual([]);
      } else {
        expect(device.state, `${why}, wave ${w}, last events: ${events.slice(-6).map(short).join(' ')}`).toBe(
          'OFFLINE',
        );
      }

      // Close what is left in random order (every other wave keeps its winner into the next storm).
      if (w % 2 === 1 || w === WAVES - 1) {
        for (const a of open.sort(() => r.next() - 0.5)) a.client!.end(r.next() < 0.5);
      }
    }

    await within(
      Promise.all(
        all.map((a) =>
          a.settled.then(() =>
            a.closed ? undefined : new Promise<void>((res) => a.client!.once('close', () => res())),
          ),
        ),
      ),
      10_000,
      `some connections never closed (${why})`,
    );
    const { device, events } = await settledState(t, pk, dev.deviceName, status, () => 0);
    expect(device.state, why).toBe('OFFLINE');
    expect(liveClientsOf(spy.broker(), pk, dev.deviceName), why).toEqual([]);
    expect(statusSequenceViolation(events), why).toBeNull();
    const onlines = events.filter((e: StatusEvent) => e.status === 'ONLINE');
    // Every committed login is exactly one ONLINE event; the last event closes the last epoch.
    expect(onlines.length, why).toBe(device.connectionEpoch);
    expect(events.at(-1), why).toMatchObject({ status: 'OFFLINE', connectionEpoch: device.connectionEpoch });
    expect(all.filter((a) => a.accepted).length, why).toBeGreaterThanOrEqual(WAVES / 2);
    await status.close();
  }, 60_000);
});
