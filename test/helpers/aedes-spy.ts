import { Aedes, type Client } from 'aedes';
import { afterAll, beforeAll, vi } from 'vitest';
import { sessionOf, type Session } from '../../src/broker/sessions.ts';

/**
 * The platform does not expose its embedded aedes instance (server.ts returns no broker), so a test that needs to
 * look inside it (a client's subscriptions, SUBACK results, a platform-side publish to a device) records every broker
 * `Aedes.createBroker` makes. aedes is loaded once by Node (vitest externalises node_modules), so the class the
 * platform calls is this one. Call in beforeAll before `startTestPlatform`; `restore()` in afterAll.
 */
export function captureBrokers() {
  // Install in beforeAll and restore in afterAll: two captures at once would wrap the same spy (vitest reuses it).
  if (vi.isMockFunction(Aedes.createBroker))
    throw new Error('captureBrokers: already capturing (restore the previous capture first)');
  const brokers: Aedes[] = [];
  const original = Aedes.createBroker.bind(Aedes);
  const spy = vi.spyOn(Aedes, 'createBroker').mockImplementation(async (opts) => {
    const b = await original(opts);
    brokers.push(b);
    const seen = new Set<Client>();
    seenClients.set(b, seen);
    b.on('client', (c) => seen.add(c));
    b.on('clientDisconnect', (c) => seen.delete(c));
    return b;
  });
  return {
    brokers,
    /** The broker of the n-th platform started since capture (default: the latest). */
    broker(n = brokers.length - 1): Aedes {
      const b = brokers[n];
      if (!b) throw new Error('no broker captured: call captureBrokers() before starting the platform');
      return b;
    },
    restore: () => spy.mockRestore(),
  };
}

/**
 * captureBrokers for one suite: installed in its beforeAll, restored in its afterAll. Call it before usePlatform, so
 * its beforeAll captures that platform's broker and its afterAll restores after the platform closed.
 */
export function useBrokerSpy(): Pick<ReturnType<typeof captureBrokers>, 'broker'> {
  let spy: ReturnType<typeof captureBrokers> | undefined;
  beforeAll(() => {
    spy = captureBrokers();
  });
  afterAll(() => spy?.restore());
  return {
    broker(n?: number) {
      if (!spy) throw new Error('useBrokerSpy: broker read before beforeAll installed the capture');
      return spy.broker(n);
    },
  };
}

export interface LiveClient {
  client: Client;
  session: Session | undefined;
  subscriptions: Record<string, { qos: number }>;
}

/**
 * Every client each captured broker registered (aedes 'client' event). Not `broker.clients`: that map is keyed by
 * ClientId, and aedes 1.2.0 deletes the entry of a newer client when an older client with the same ClientId closes
 * after the newer one registered (client.js close(): `if (broker.clients[id]) broker.unregisterClient(this)`).
 */
const seenClients = new WeakMap<Aedes, Set<Client>>();

/** The broker's open clients (not closed) that are logged in as this device. */
export function liveClientsOf(broker: Aedes, productKey: string, deviceName: string): LiveClient[] {
  const clients = [...(seenClients.get(broker) ?? [])];
  return clients
    .filter((c) => !(c as unknown as { closed: boolean }).closed)
    .map((client) => ({
      client,
      session: sessionOf(client),
      subscriptions: (client as unknown as { subscriptions: Record<string, { qos: number }> }).subscriptions,
    }))
    .filter((l) => l.session?.device.productKey === productKey && l.session.device.deviceName === deviceName);
}

/** A publish from the platform side straight into the broker (there is no `pub` mutation yet). */
export function platformPublish(broker: Aedes, topic: string, payload: string | Buffer, qos: 0 | 1 = 0): Promise<void> {
  return new Promise((resolve, reject) =>
    broker.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false }, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}

/** SUBACK results as the broker computed them (`subscribe` event: granted QoS, 128 = refused), per client id. */
export function recordSubacks(broker: Aedes): {
  of(clientIdPrefix: string): { topic: string; qos: number }[];
  stop(): void;
} {
  const seen: { clientId: string; topic: string; qos: number }[] = [];
  const onSubscribe = (subs: { topic: string; qos: number }[], client: Client) => {
    for (const s of subs) seen.push({ clientId: client.id, topic: s.topic, qos: s.qos });
  };
  broker.on('subscribe', onSubscribe);
  return {
    of: (prefix) => seen.filter((s) => s.clientId.startsWith(prefix)).map(({ topic, qos }) => ({ topic, qos })),
    stop: () => broker.removeListener('subscribe', onSubscribe),
  };
}
