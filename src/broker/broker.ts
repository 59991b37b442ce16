import { Aedes, type AedesOptions, type Client } from 'aedes';
import { canPublish, canSubscribe } from '../domain/alink/acl.ts';
import { parseUsername } from '../domain/auth/client-id.ts';
import { clientFlags } from '../domain/auth/client-flags.ts';
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
import { attachSession, SessionRegistry, sessionOf, type Session } from './sessions.ts';

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
            return done(authError(r.code === 6288 || r.code === 6289 || r.code === 6204 ? 5 : 4, r.message), false);
          }
          const device = (await deviceAuth.lookup(r.productKey, r.deviceName))!;
          attachSession(client, { device, clientIp: clientIpOf(client), epoch: -1, reason: null, registration: r, ended: false, ingestTail: Promise.resolve() });
          metrics.mqttLogins.inc({ result: 'registered' });
          return done(null, true);
        }

        const result = await deviceAuth.login(rawClientId, username, password);
        if (!result.ok) {
          metrics.mqttLogins.inc({ result: result.failure === 'DISABLED' ? 'disabled' : 'bad_credentials' });
          log.debug({ why: result.why }, 'login refused');
          return done(authError(result.failure === 'DISABLED' ? 5 : 4, result.failure === 'DISABLED' ? 'not authorized' : 'bad user name or password'), false);
        }
        const clientIp = clientIpOf(client);
        // D21: the ClientId says how this session takes sync services and RRPC.
        const connected = await presence.connect(result.device, clientIp, { rrpcForm: clientFlags(result.params).extRrpc ? 'ext' : 'sys' });
        if (!connected) return done(authError(4, 'bad user name or password'), false); // deleted meanwhile
        let subscribedNow!: () => void;
        const subscribed = { promise: new Promise<void>((r) => (subscribedNow = r)), resolve: () => subscribedNow() };
        const session: Session = { device: result.device, clientIp, epoch: connected.epoch, reason: null, registration: null, ended: false, ingestTail: Promise.resolve(), subscribed };
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
        const payload = Buffer.from(packet.payload);
        // aedes handles the packets of one socket read concurrently: keep the device's order in the log.
        // D22: replies go out only once the platform-side subscriptions exist (see Session.subscribed).
        const submitted = s.ingestTail.then(() => s.subscribed?.promise).then(() => ingest.handle(device, { topic: packet.topic, payload, qos: packet.qos, retain: packet.retain }));
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
    authorizeForward(_client, packet) {
      return (packet as { clientId?: string }).clientId ? null : packet;
    },

    authorizeSubscribe(client, sub, done) {
      const s = sessionOf(client);
      if (!s || s.registration) return done(null, null);
      gw.canSubscribeAs(s, sub.topic)
        .then((allowed) => {
          if (allowed) return done(null, sub);
          metrics.mqttDenied.inc({ op: 'subscribe' });
          done(null, null); // SUBACK 0x80 for this filter; the connection stays (D7)
        })
        .catch(() => done(null, null));
    },
  });

  // D6 across instances: a newer ONLINE of a device connected here (from another instance) takes this connection over.
  deps.hub.subscribe((e) => {
    if (!e.productKey || !e.deviceName) return;
    const { productKey: pk, deviceName: dn } = e as { productKey: string; deviceName: string };
    if (e.type === 'device.status' && e.data.status === 'online') {
      const client = sessions.get(pk, dn);
      const s = client && sessionOf(client);
      if (client && s && s.epoch < Number(e.data.connectionEpoch)) kick(client, 'TAKEN_OVER');
      // A sub-device logged in again elsewhere: forget it here (its old epoch no longer counts).
      for (const c of sessions.all()) void gw.drop(sessionOf(c)!, pk, dn, null, Number(e.data.connectionEpoch));
      return;
    }
    const action = e.type === 'device.lifecycle' ? String(e.data.action) : e.type === 'registry.changed' && e.data.what === 'secretReset' ? 'reset' : null;
    if (action === 'disable' || action === 'delete' || action === 'reset') {
      for (const c of sessions.all()) {
        const s = sessionOf(c)!;
        void gw.drop(s, pk, dn, 'KICKED').then((sub) => {
          if (sub && action !== 'reset') publisherRef?.publish(...topoChangeArgs(s, action === 'delete' ? 1 : 8, sub)).catch(() => undefined);
        });
      }
    }
    if (e.type === 'thing.topo.lifecycle' && e.data.action === 'remove') {
      const gwClient = sessions.get(pk, dn);
      const s = gwClient && sessionOf(gwClient);
      for (const d of (e.data.devices as { productKey: string; deviceName: string }[] | undefined) ?? []) if (s) void gw.drop(s, d.productKey, d.deviceName, 'KICKED');
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
      s.subscribed?.resolve();
    });
  });

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
