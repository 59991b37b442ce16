import { Aedes, type AedesOptions, type Client } from 'aedes';
import { canSubscribe } from '../domain/alink/acl.ts';
import { extRegisterTopic } from '../domain/alink/topics.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { DeviceAuthService } from '../services/device-auth.ts';
import type { GatewayService } from '../services/gateway.ts';
import type { IngestPipeline } from '../services/ingest/pipeline.ts';
import type { DevicePublisher } from '../services/ports.ts';
import type { PresenceService } from '../services/presence.ts';
import type { ProductCache } from '../services/product-cache.ts';
import { createAuthenticator } from './authenticate.ts';
import { createPublishAuthorizer } from './authorize.ts';
import { autoSubscriptions } from './auto-subscriptions.ts';
import { consumeDevicePublishes } from './consume-uplinks.ts';
import { corkForSettlement, deliverReply } from './deliver.ts';
import { createGatewaySessions } from './gateway-sessions.ts';
import type { ForwardPacket } from './persistence.ts';
import { createPublishRouter } from './route-publish.ts';
import { retainedRefusedNotice, type RetainedLimits } from './retained-limits.ts';
import { sessionOf, type SessionRegistry } from './sessions.ts';
import { forgetFilters, mayReceive, recordSubscribeDecision, REFUSED_SUBSCRIPTION } from './subscription-acl.ts';
import { authorizeOrphanWill, onBrokerError } from './wills.ts';

export { autoSubscriptions };

export interface BrokerDeps {
  logger: Logger;
  metrics: Metrics;
  deviceAuth: DeviceAuthService;
  presence: PresenceService;
  products: ProductCache;
  ingest: IngestPipeline;
  gateway: GatewayService;
  publisher: DevicePublisher;
  sessions: SessionRegistry;
  maxPayload: number;
  /** Device-side limits (docs/security-device.md); defaults when absent. */
  limits?: {
    maxSubscriptionsPerDevice?: number;
    retained?: Pick<RetainedLimits, 'admit'>;
    maxRetainedPerDevice?: number;
  };
}

/** aedes' typings do not expose its persistence (ours, broker/persistence.ts). */
type PersistencePort = {
  delWill(c: { id: string; brokerId?: string }): Promise<unknown>;
  removeSubscriptions(c: { id: string }, topics: string[]): Promise<void>;
  forwardOnce?(client: Client, packet: ForwardPacket): boolean;
  outgoingUpdate(client: Client, packet: { topic: string; messageId: number }): Promise<void>;
};

/**
 * The aedes instance alone (transport, persistence, mq), before any hook: the publisher and session ports are built
 * on it and given to services, then `attachBroker` installs the hooks that call those services.
 */
export function createAedes(opts: Partial<AedesOptions>): Promise<Aedes> {
  // Alink ClientIds carry the `|securemode=...|` block: far longer than MQTT 3.1's 23 characters.
  // concurrency 0: aedes' default of 100 makes its mqemitter queue every emit past 100 in flight, and that queue drains
  // recursively (mqemitter `released` -> `_do` -> a delivery that completes at once -> `released`...): a backlog of a
  // few thousand messages without a subscriber (every device post: nothing MQTT-subscribes to uplinks) overflows the
  // stack and kills the process. The queue bounds nothing (it is memory either way); the ingest byte budget and the
  // held PUBACKs are the backpressure.
  return Aedes.createBroker({ maxClientsIdLength: 512, concurrency: 0, ...opts });
}

/**
 * The broker as a thin adapter (architecture.md habit 3), in aedes' own style of one small step per concern:
 * CONNECT -> authenticate.ts; PUBLISH -> authorize.ts (ACL only) then route-publish.ts (the uplink pipeline; aedes
 * writes PUBACK when this hook calls back, so only once the message is durable); SUBSCRIBE -> the D7 filter ACL.
 */
export function attachBroker(broker: Aedes, deps: BrokerDeps) {
  const { logger, metrics, presence, sessions } = deps;
  const log = logger.child({ module: 'broker' });
  /** The broker id under which device publishes are numbered (see authorizePublish). */
  const devicePublishId = `${broker.id}/devices`;
  let shuttingDown = false;
  consumeDevicePublishes(broker);
  const gatewaySessions = createGatewaySessions({
    gateway: deps.gateway,
    deviceAuth: deps.deviceAuth,
    products: deps.products,
    publisher: deps.publisher,
    logger: log,
  });
  const authorize = createPublishAuthorizer({ products: deps.products, gateway: gatewaySessions });
  const route = createPublishRouter({ ingest: deps.ingest, metrics });
  const maxSubscriptions = deps.limits?.maxSubscriptionsPerDevice ?? 100;
  const retained: Pick<RetainedLimits, 'admit'> = deps.limits?.retained ?? { admit: async () => true };
  const persistenceOf = () => (broker as unknown as { persistence: PersistencePort }).persistence;
  const willDeps = {
    deviceAuth: deps.deviceAuth,
    products: deps.products,
    ingest: deps.ingest,
    logger: log,
    metrics,
    maxPayload: deps.maxPayload,
    deleteWill: (id: string, brokerId: string | undefined) =>
      persistenceOf().delWill({ id, ...(brokerId ? { brokerId } : {}) }),
  };

  async function onClosed(client: Client): Promise<void> {
    const s = sessionOf(client);
    if (!s || s.ended || s.registration) return;
    s.ended = true;
    sessions.release(client);
    metrics.mqttConnections.dec();
    const reason = shuttingDown ? 'SERVER_SHUTDOWN' : (s.reason ?? 'CLIENT_DISCONNECT');
    await gatewaySessions.closeAll(s, reason);
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

  const auth = createAuthenticator({
    logger: log,
    metrics,
    deviceAuth: deps.deviceAuth,
    presence,
    sessions,
    deliverReply: (client, topic, payload, qos) =>
      deliverReply(
        client,
        topic,
        payload,
        qos,
        (pk) => deps.products.peek(pk)?.categories,
        // Recorded as a reply delivery: the device's PUBACK of it then deletes nothing (persistence/replies.ts).
        (c, packet) =>
          void persistenceOf()
            .outgoingUpdate(c, packet)
            .catch(() => undefined),
      ),
    onLogin: (client) => client.conn.once('close', () => void onClosed(client)),
  });
  broker.preConnect = auth.preConnect;
  broker.authenticate = auth.authenticate;

  broker.authorizePublish = (client, packet, done) => {
    // A will of a client of a dead instance, published by this one with no client (wills.ts).
    if (!client) return void authorizeOrphanWill(willDeps, packet, done);
    const s = sessionOf(client);
    if (!client || !s || s.registration || !s.connection) return done(new Error('not allowed'));
    if (packet.payload.length > deps.maxPayload) {
      metrics.mqttDenied.inc({ op: 'publish_too_large' });
      return done(new Error(`payload larger than ${deps.maxPayload} bytes (D18)`));
    }
    const connection = s.connection;
    // aedes drops, per receiving client and broker id, any packet numbered below the last one it forwarded
    // (its duplicate check runs before authorizeForward). A device publish matches its own subscriptions (D19's
    // `thing/service/+` matches its `_reply` topics) and is never forwarded, yet it would still record its number for
    // the device: a platform command to it, numbered just before and still on its way through persistence, would then
    // be dropped (a lost property set). Device publishes are numbered under an id of their own.
    (packet as { brokerId?: string }).brokerId = devicePublishId;
    authorize(s, packet.topic)
      .then(async (verdict) => {
        if (!verdict.ok && verdict.noSession) {
          gatewaySessions.noSession(s, verdict.noSession);
          return done(null);
        }
        if (!verdict.ok) {
          metrics.mqttDenied.inc({ op: 'publish' });
          log.info({ deviceName: s.device.deviceName, topic: packet.topic }, 'publish denied (D7): disconnecting');
          return done(new Error('publish not allowed'));
        }
        if (packet.retain && packet.payload.length > 0 && !(await retained.admit(verdict.device, packet.topic))) {
          // Past the retained limit (or a topic that is never retained): received, not retained; the device is told.
          packet.retain = false;
          const notice = retainedRefusedNotice(s.device, packet.topic, deps.limits?.maxRetainedPerDevice ?? 0);
          deps.publisher.publish(notice.topic, notice.payload, 0).catch(() => undefined);
        }
        try {
          await route(s, connection, verdict.device, verdict.uplink, packet);
        } catch (err) {
          // Not durable: no PUBACK. Disconnecting makes the device resend (QoS 1) once we can store again.
          log.warn(
            { err, deviceName: s.device.deviceName },
            'could not store a device message; disconnecting the client',
          );
          return done(err instanceof Error ? err : new Error('ingest failed'));
        }
        // One commit settles many messages of a connection at once: their PUBACKs and replies go out in one write.
        corkForSettlement(client);
        done(null);
      })
      .catch((err: unknown) => {
        log.warn({ err, deviceName: s.device.deviceName }, 'publish authorization failed; disconnecting the client');
        done(err instanceof Error ? err : new Error('authorization failed'));
      });
  };

  /**
   * Device publishes are consumed by the platform (stored, streamed, routed by rules and topic routes), never relayed
   * by the broker: a device's own subscriptions (`thing/service/+` of D19) would otherwise echo its replies back to
   * it. aedes stamps the publisher's clientId on the packet; platform publishes carry none. Then the receiver's ACL
   * again (subscription-acl.ts): a stored filter, or a sub-device not logged in over the connection, delivers nothing.
   */
  broker.authorizeForward = (client, packet) => {
    if ((packet as { clientId?: string }).clientId) return null;
    if (!mayReceive(client, packet.topic, (pk) => deps.products.peek(pk)?.categories)) return null;
    // A command still on its way while a persistent session reconnects is both replayed from its queue and sent live:
    // the persistence lets one path have it (persistence/handover.ts).
    return persistenceOf().forwardOnce?.(client, packet) === false ? null : packet;
  };

  broker.authorizeSubscribe = (client, sub, done) => {
    const s = sessionOf(client);
    if (!s || s.registration) return done(null, REFUSED_SUBSCRIPTION);
    gatewaySessions
      .canSubscribeAs(s, sub.topic)
      .then((allowed) => {
        // Recorded so that only granted filters are stored (aedes stores the whole packet), and counted (§7).
        if (recordSubscribeDecision(client, s, sub.topic, allowed, maxSubscriptions)) return done(null, sub);
        metrics.mqttDenied.inc({ op: allowed ? 'subscribe_limit' : 'subscribe' });
        if (!client.clean)
          persistenceOf()
            .removeSubscriptions(client, [sub.topic])
            .catch(() => undefined);
        done(null, REFUSED_SUBSCRIPTION); // SUBACK_FAILURE for this filter; the connection stays (D7)
      })
      .catch(() => {
        recordSubscribeDecision(client, s, sub.topic, false, maxSubscriptions);
        done(null, REFUSED_SUBSCRIPTION);
      });
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
        {
          cmd: 'publish',
          topic: extRegisterTopic('register'),
          payload: Buffer.from(JSON.stringify({ productKey, deviceName, deviceSecret })),
          qos: 0,
          retain: false,
          dup: false,
        },
        () => setTimeout(() => client.close(), 50),
      );
      return;
    }
    // D19/D22: the platform-side subscriptions; the session's publishes wait for them (Session.subscribed).
    const subscribing = s.connection?.subscribeDevice(s.device.productKey, s.device.deviceName) ?? Promise.resolve();
    void subscribing.then(() => s.subscribed?.resolve());
  });

  // Without an `error` listener an emitted error throws (a refused will of a dead instance ended the process).
  (broker as unknown as NodeJS.EventEmitter).on('error', onBrokerError(log));
  broker.on('unsubscribe', (unsubscriptions, client) => forgetFilters(client, unsubscriptions));
  broker.on('clientError', (client, err) => log.debug({ err: err.message, clientId: client.id }, 'client error'));
  broker.on('connectionError', (client, err) =>
    log.debug({ err: err.message, clientId: client?.id }, 'connection error'),
  );

  // A topic category deleted (or changed): live subscriptions it no longer allows are removed at once.
  deps.products.onChange((productKey, what) => {
    if (what.entity !== 'topic' || what.what !== 'deleted') return;
    deps.products
      .get(productKey)
      .then((info) => {
        for (const client of sessions.ofProduct(productKey)) {
          const s = sessionOf(client)!;
          const subs = Object.keys(
            (client as unknown as { subscriptions: Record<string, unknown> }).subscriptions ?? {},
          );
          const gone = subs.filter((f) => !info || !canSubscribe(s.device, f, info.categories));
          // The callback is required: aedes 1.2.0 calls it unconditionally (its typings say optional), and without it
          // the unsubscribe throws "fn is not a function" from a timer, an uncaught exception that ends the process.
          if (gone.length > 0) {
            client.unsubscribe({ unsubscriptions: gone } as never, (err) => {
              if (err)
                log.warn(
                  { err, deviceName: s.device.deviceName },
                  'could not drop a subscription of a deleted topic category',
                );
            });
          }
        }
      })
      .catch((err: unknown) =>
        log.warn({ err, productKey }, 'could not apply a deleted topic category to live sessions'),
      );
  });

  return {
    broker,
    sessions,
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

export type Broker = ReturnType<typeof attachBroker>;
