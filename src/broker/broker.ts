import { Aedes, type AedesOptions, type Client } from 'aedes';
import { canPublish, canSubscribe } from '../domain/alink/acl.ts';
import { parseUsername } from '../domain/auth/client-id.ts';
import { extRegisterTopic } from '../domain/alink/topics.ts';
import type { EventHub } from '../events/hub.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { DeviceAuthService } from '../services/device-auth.ts';
import type { DevicePublisher, IngestService } from '../services/ingest.ts';
import type { PresenceService } from '../services/presence.ts';
import type { ProductCache } from '../services/product-cache.ts';
import type { GatewayService } from '../services/gateway.ts';
import { autoSubscriptions } from './auto-subscriptions.ts';
import { createGatewaySessions } from './gateway-sessions.ts';
import { createOrderedPublisher } from './publisher.ts';

export { autoSubscriptions };
import { attachSession, deviceKey, SessionRegistry, sessionOf, type Session } from './sessions.ts';
import { dropSubDeviceSubscriptions, forgetFilters, mayReceive, recordSubscribeDecision } from './subscription-acl.ts';
import { authorizeOrphanWill, onBrokerError } from './wills.ts';
import { retainedRefusedNotice, type RetainedLimits } from './retained-limits.ts';

export interface BrokerDeps {
  logger: Logger;
  metrics: Metrics;
  deviceAuth: DeviceAuthService;
  presence: PresenceService;
  products: ProductCache;
  ingest: IngestService;
  /** Committed events: a login of the same device on another instance takes over the connection held here. */
  hub: EventHub;
  gateway: GatewayService;
  maxPayload: number;
  /** Device-side limits (docs/security-device.md); defaults when absent. */
  limits?: { maxSubscriptionsPerDevice?: number; retained?: RetainedLimits; maxRetainedPerDevice?: number };
  /** aedes options for scale-out (mq, persistence), set by the composition root. */
  aedes?: Partial<AedesOptions>;
}

const authError = (returnCode: 4 | 5, message: string) => Object.assign(new Error(message), { returnCode });

function clientIpOf(client: Client): string | null {
  const raw = (client.req?.socket?.remoteAddress ?? (client.conn as { remoteAddress?: string }).remoteAddress) || null;
  return raw?.startsWith('::ffff:') ? raw.slice(7) : raw;
}

/**
 * The embedded aedes broker: the one place that adapts its callbacks (architecture.md habit 3). Each hook parses,
 * calls one service, and maps the result to MQTT: CONNACK codes (D1), SUBACK 0x80 or disconnect (D7), PUBACK after
 * commit (durable before acknowledged).
 */
export async function createBroker(deps: BrokerDeps) {
  const { logger, metrics, deviceAuth, presence, products, ingest } = deps;
  const log = logger.child({ module: 'broker' });
  const sessions = new SessionRegistry();
  let shuttingDown = false;

  function kick(client: Client, reason: Session['reason']): void {
    const s = sessionOf(client);
    if (s && !s.reason) s.reason = reason;
    client.close();
  }

  const maxSubscriptions = deps.limits?.maxSubscriptionsPerDevice ?? 100;
  const retained: Pick<RetainedLimits, 'admit'> = deps.limits?.retained ?? { admit: async () => true };
  const willDeps = {
    deviceAuth,
    products,
    ingest,
    logger: log,
    metrics,
    maxPayload: deps.maxPayload,
    deleteWill: (id: string, brokerId: string | undefined) => persistenceOf().delWill({ id, ...(brokerId ? { brokerId } : {}) }),
  };
  /** aedes' typings do not expose its persistence (ours, broker/persistence.ts). */
  type PersistencePort = { delWill(c: { id: string; brokerId?: string }): Promise<unknown>; removeSubscriptions(c: { id: string }, topics: string[]): Promise<void> };
  const persistenceOf = () => (broker as unknown as { persistence: PersistencePort }).persistence;

  const rawClientIds = new WeakMap<Client, string>();
  let publisherRef: DevicePublisher | null = null;
  const gw = createGatewaySessions({
    gateway: deps.gateway,
    deviceAuth,
    products,
    publisher: () => publisherRef!,
    autoSubscriptions,
    logger: log,
  });

  async function onClosed(client: Client): Promise<void> {
    const s = sessionOf(client);
    if (!s || s.ended || s.registration) return;
    s.ended = true;
    sessions.release(client);
    metrics.mqttConnections.dec();
    const reason = shuttingDown ? 'SERVER_SHUTDOWN' : (s.reason ?? 'CLIENT_DISCONNECT');
    await gw.closeAll(s, reason);
    // Taken over (here or on another instance): the newer login's commit already recorded this epoch as TAKEN_OVER,
    // so a disconnect could only miss. Skipping it keeps a reconnect storm from queueing one useless transaction per
    // stale connection in front of the disconnects that count.
    if (reason === 'TAKEN_OVER') return;
    try {
      await presence.disconnect(s.device, s.epoch, reason, s.clientIp);
    } catch (err) {
      // The heartbeat sweep of a restarted instance, or the next connect, converges the state.
      log.warn({ err, deviceName: s.device.deviceName }, 'could not record disconnect');
    }
  }

  const broker = await Aedes.createBroker({
    // Alink ClientIds carry the `|securemode=...|` block: far longer than MQTT 3.1's 23 characters.
    maxClientsIdLength: 512,
    ...deps.aedes,

    /**
     * Sessions belong to the device, not to the ClientId string: the Link SDK puts a fresh `timestamp` in its ClientId
     * at every start, so keyed by the whole ClientId its persistent session (and the QoS 1 commands queued for it) would
     * be lost on each restart. Alink logins (a ClientId with the `|...|` block) are keyed by `${pk}&${dn}`; a second
     * login of the same device then also takes over the first as [MQTT-3.1.4-2] says (D6). The raw ClientId is kept
     * for the signature check.
     */
    preConnect(client, packet, done) {
      const raw = packet.clientId ?? '';
      rawClientIds.set(client, raw);
      const user = parseUsername(packet.username ?? '');
      if (user.ok && raw.includes('|')) packet.clientId = `${user.value.productKey}&${user.value.deviceName}`;
      done(null, true);
    },

    authenticate(client, username, password, done) {
      (async () => {
        const rawClientId = rawClientIds.get(client) ?? client.id;
        const reg = deviceAuth.parseRegisterConnect(rawClientId, username, password);
        if (reg && 'unsupported' in reg) return done(authError(4, `authType ${reg.unsupported} not supported`), false);
        if (reg) {
          const r = await deviceAuth.register(reg);
          if (!r.ok) {
            log.info({ code: r.code, productKey: reg.productKey }, 'dynamic registration refused');
            metrics.mqttLogins.inc({ result: 'register_refused' });
            if (r.code === 429) return done(Object.assign(new Error(r.message), { returnCode: 3 }) as never, false);
            return done(authError(r.code === 6288 || r.code === 6289 || r.code === 6204 ? 5 : 4, r.message), false);
          }
          const device = (await deviceAuth.lookup(r.productKey, r.deviceName))!;
          attachSession(client, { device, clientIp: clientIpOf(client), epoch: -1, reason: null, registration: r, ended: false, ingestTail: Promise.resolve() });
          metrics.mqttLogins.inc({ result: 'registered' });
          return done(null, true);
        }

        const clientIp = clientIpOf(client);
        const result = await deviceAuth.login(rawClientId, username, password, clientIp);
        if (!result.ok) {
          metrics.mqttLogins.inc({ result: result.failure === 'DISABLED' ? 'disabled' : result.failure === 'THROTTLED' ? 'throttled' : 'bad_credentials' });
          log.debug({ why: result.why }, 'login refused');
          if (result.failure === 'THROTTLED') return done(Object.assign(new Error('too many failed logins: try again later'), { returnCode: 3 }) as never, false);
          return done(authError(result.failure === 'DISABLED' ? 5 : 4, result.failure === 'DISABLED' ? 'not authorized' : 'bad user name or password'), false);
        }
        // Guarded: a disable or secret reset committed while this login was in flight refuses it (issue 16).
        const connected = await presence.connect(result.device, clientIp, { secretEnc: result.device.secretEnc });
        if (!connected) return done(authError(4, 'bad user name or password'), false); // deleted meanwhile
        const session: Session = { device: result.device, clientIp, epoch: connected.epoch, reason: null, registration: null, ended: false, ingestTail: Promise.resolve() };
        attachSession(client, session);
        const replaced = sessions.claim(client);
        if (replaced === client) {
          // A newer login of the same device committed first: this one lost the race. Presence already recorded
          // this epoch as TAKEN_OVER (the newer connect did), so there is nothing to record on close.
          session.reason = 'TAKEN_OVER';
          session.ended = true;
          metrics.mqttLogins.inc({ result: 'taken_over' });
          return done(authError(5, 'superseded by a newer connection'), false);
        }
        // D6: the newer login wins even if its own socket is already gone; presence has recorded the older epoch as
        // TAKEN_OVER, so the older connection must not stay open behind it.
        if (replaced) kick(replaced, 'TAKEN_OVER');
        if (client.closed) {
          // The socket went away while we were committing (aedes ignores a late done()): record it at once.
          session.ended = true;
          sessions.release(client);
          await presence.disconnect(result.device, connected.epoch, 'CLIENT_DISCONNECT');
          return;
        }
        metrics.mqttConnections.inc();
        client.conn.once('close', () => void onClosed(client));
        metrics.mqttLogins.inc({ result: 'ok' });
        done(null, true);
      })().catch((err: unknown) => {
        log.error({ err }, 'authenticate failed');
        done(Object.assign(new Error('server unavailable'), { returnCode: 3 }) as never, false);
      });
    },

    authorizePublish(client, packet, done) {
      // A will of a client of a dead instance, published by this one with no client (issue 16, finding 3).
      if (!client) return void authorizeOrphanWill(willDeps, packet, done);
      const s = sessionOf(client);
      if (!client || !s || s.registration) return done(new Error('not allowed'));
      if (packet.payload.length > deps.maxPayload) {
        metrics.mqttDenied.inc({ op: 'publish_too_large' });
        return done(new Error(`payload larger than ${deps.maxPayload} bytes (D18)`));
      }
      (async () => {
        // A gateway's connection carries its sub-devices' traffic too (§1.7): find whom this publish is for.
        const acting = await gw.acting(s, packet.topic);
        if (acting.kind === 'noSession') {
          gw.noSession(s, acting.device);
          return done(null);
        }
        if (!(await gw.canPublishAs(s, acting, packet.topic))) {
          metrics.mqttDenied.inc({ op: 'publish' });
          log.info({ deviceName: s.device.deviceName, topic: packet.topic }, 'publish denied (D7): disconnecting');
          return done(new Error('publish not allowed'));
        }
        const device = acting.kind === 'sub' ? acting.device : s.device;
        if (packet.retain && packet.payload.length > 0 && !(await retained.admit(device, packet.topic))) {
          // Past the retained limit (or a topic that is never retained): received, not retained; the device is told.
          packet.retain = false;
          const notice = retainedRefusedNotice(s.device, packet.topic, deps.limits?.maxRetainedPerDevice ?? 0);
          publisherRef?.publish(notice.topic, notice.payload, 0).catch(() => undefined);
        }
        const payload = Buffer.from(packet.payload);
        // aedes handles the packets of one socket read concurrently: keep the device's order in the log.
        const submitted = s.ingestTail.then(() => ingest.handle(device, { topic: packet.topic, payload, qos: packet.qos, retain: packet.retain }));
        s.ingestTail = submitted.catch(() => {});
        await (await submitted).committed;
        if (acting.kind === 'self' && packet.topic.startsWith('/ext/session/')) await gw.handleSession(client, s, packet.topic, payload);
        metrics.mqttMessagesIn.inc();
        done(null);
      })()
        .catch((err: unknown) => {
          // Not durable: no PUBACK. Disconnecting makes the device resend (QoS 1) once we can store again.
          log.warn({ err, deviceName: s.device.deviceName }, 'could not store a device message; disconnecting the client');
          done(err instanceof Error ? err : new Error('ingest failed'));
        });
    },

    /**
     * Device publishes are consumed by the platform (stored, streamed, routed by rules and topic routes), never relayed
     * by the broker: a device's own subscriptions (`thing/service/+` of D19) would otherwise echo its replies back to
     * it. aedes stamps the publisher's clientId on the packet; platform publishes carry none.
     */
    authorizeForward(client, packet) {
      if ((packet as { clientId?: string }).clientId) return null;
      // The receiver's ACL again (issue 16): a stored filter, or a sub-device no longer logged in, delivers nothing.
      return mayReceive(client, packet.topic, (pk) => products.peek(pk)?.categories) ? packet : null;
    },

    authorizeSubscribe(client, sub, done) {
      const s = sessionOf(client);
      if (!s || s.registration) return done(null, null);
      gw.canSubscribeAs(s, sub.topic)
        .then((allowed) => {
          // Recorded so that only granted filters are stored (aedes stores the whole packet), and counted (§7).
          if (recordSubscribeDecision(client, s, sub.topic, allowed, maxSubscriptions)) return done(null, sub);
          metrics.mqttDenied.inc({ op: allowed ? 'subscribe_limit' : 'subscribe' });
          if (!client.clean) persistenceOf().removeSubscriptions(client, [sub.topic]).catch(() => undefined);
          done(null, null); // SUBACK 0x80 for this filter; the connection stays (D7)
        })
        .catch(() => {
          recordSubscribeDecision(client, s, sub.topic, false, maxSubscriptions);
          done(null, null);
        });
    },
  });

  /**
   * A sub-device leaves a gateway connection: forgotten, and its filters unsubscribed at once (issue 16, finding 7).
   * `sweep`: also when it was not logged in (its topology is gone: filters of a merely bound sub-device go too).
   */
  const dropSub = (c: Client, pk: string, dn: string, reason: Session['reason'], newerEpoch?: number, sweep = false) => {
    const s = sessionOf(c)!;
    const had = s.subs?.has(deviceKey(pk, dn)) ?? false;
    const dropped = gw.drop(s, pk, dn, reason, newerEpoch);
    // drop() forgets the sub-device synchronously when it goes: unsubscribe in the same tick.
    const gone = had && !s.subs?.has(deviceKey(pk, dn));
    if (gone || sweep) dropSubDeviceSubscriptions(c, pk, dn, (err) => log.warn({ err }, 'could not unsubscribe a dropped sub-device'));
    return dropped;
  };

  // D6 across instances: a newer ONLINE of a device connected here (from another instance) takes this connection over.
  deps.hub.subscribe((e) => {
    if (!e.productKey || !e.deviceName) return;
    const { productKey: pk, deviceName: dn } = e as { productKey: string; deviceName: string };
    if (e.type === 'device.status' && e.data.status === 'online') {
      const client = sessions.get(pk, dn);
      const s = client && sessionOf(client);
      if (client && s && s.epoch < Number(e.data.connectionEpoch)) kick(client, 'TAKEN_OVER');
      // A sub-device logged in again elsewhere: forget it here (its old epoch no longer counts).
      for (const c of sessions.all()) void dropSub(c, pk, dn, null, Number(e.data.connectionEpoch));
      return;
    }
    const action = e.type === 'device.lifecycle' ? String(e.data.action) : e.type === 'registry.changed' && e.data.what === 'secretReset' ? 'reset' : null;
    if (action === 'disable' || action === 'delete' || action === 'reset') {
      for (const c of sessions.all()) {
        const s = sessionOf(c)!;
        void dropSub(c, pk, dn, 'KICKED').then((sub) => {
          if (sub && action !== 'reset') publisherRef?.publish(...topoChangeArgs(s, action === 'delete' ? 1 : 8, sub)).catch(() => undefined);
        });
      }
    }
    if (e.type === 'thing.topo.lifecycle' && e.data.action === 'remove') {
      const gwClient = sessions.get(pk, dn);
      for (const d of (e.data.devices as { productKey: string; deviceName: string }[] | undefined) ?? []) if (gwClient) void dropSub(gwClient, d.productKey, d.deviceName, 'KICKED', undefined, true);
    }
  });

  const topoChangeArgs = (s: Session, status: 0 | 1 | 2 | 8, sub: { productKey: string; deviceName: string; iotId: string; id: number }): [string, Buffer, 0 | 1] => {
    const out = deps.gateway.topoChange(s.device, status, [sub], String(Date.now()));
    return [out.topic, out.payload as Buffer, out.qos];
  };

  broker.on('keepaliveTimeout', (client) => {
    const s = sessionOf(client);
    if (s && !s.reason) s.reason = 'KEEPALIVE_TIMEOUT';
  });

  broker.on('clientReady', (client) => {
    const s = sessionOf(client);
    if (!s) return;
    if (s.registration) {
      // §1.6 B: push the result on /ext/register, then close the connection.
      const { productKey, deviceName, deviceSecret } = s.registration;
      client.publish(
        { cmd: 'publish', topic: extRegisterTopic('register'), payload: Buffer.from(JSON.stringify({ productKey, deviceName, deviceSecret })), qos: 0, retain: false, dup: false },
        () => setTimeout(() => client.close(), 50),
      );
      return;
    }
    const { productKey, deviceName } = s.device;
    client.subscribe({ subscriptions: autoSubscriptions(productKey, deviceName).map((topic) => ({ topic, qos: 1 })) }, (err) => {
      if (err) log.warn({ err, deviceName }, 'automatic subscription failed');
    });
  });

  (broker as unknown as NodeJS.EventEmitter).on('error', onBrokerError(log));
  broker.on('unsubscribe', (unsubscriptions, client) => forgetFilters(client, unsubscriptions));
  broker.on('clientError', (client, err) => log.debug({ err: err.message, clientId: client.id }, 'client error'));
  broker.on('connectionError', (client, err) => log.debug({ err: err.message, clientId: client?.id }, 'connection error'));

  // A topic category deleted (or changed): live subscriptions it no longer allows are removed at once.
  products.onChange((productKey, what) => {
    if (what.entity !== 'topic' || what.what !== 'deleted') return;
    products
      .get(productKey)
      .then((info) => {
        for (const client of sessions.ofProduct(productKey)) {
          const s = sessionOf(client)!;
          const subs = Object.keys((client as unknown as { subscriptions: Record<string, unknown> }).subscriptions ?? {});
          const gone = subs.filter((f) => !info || !canSubscribe(s.device, f, info.categories));
          // The callback is required: aedes 1.2.0 calls it unconditionally (its typings say optional), and without it
          // the unsubscribe throws "fn is not a function" from a timer, an uncaught exception that ends the process.
          if (gone.length > 0) {
            client.unsubscribe({ unsubscriptions: gone } as never, (err) => {
              if (err) log.warn({ err, deviceName: s.device.deviceName }, 'could not drop a subscription of a deleted topic category');
            });
          }
        }
      })
      .catch((err: unknown) => log.warn({ err, productKey }, 'could not apply a deleted topic category to live sessions'));
  });

  const publisher = createOrderedPublisher(broker);

  publisherRef = publisher;

  return {
    broker,
    sessions,
    publisher,
    /** Disable, delete and secret reset disconnect the device at once (reason KICKED). */
    kickDevice(productKey: string, deviceName: string): boolean {
      const client = sessions.get(productKey, deviceName);
      if (!client) return false;
      kick(client, 'KICKED');
      return true;
    },
    /** Close every connection, let `drain` finish what they sent (so replies still go out), then stop aedes. */
    async close(drain?: () => Promise<void>): Promise<void> {
      shuttingDown = true;
      const closing = sessions.all().map((c) => new Promise<void>((r) => c.close(() => r())));
      await Promise.all(closing);
      await drain?.();
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}

export type Broker = Awaited<ReturnType<typeof createBroker>>;
