import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import type { Config } from './config.ts';
import { createDatabase, type Database } from './db/client.ts';
import { EventHub } from './events/hub.ts';
import { EventLog } from './events/log.ts';
import { createBroker } from './broker/broker.ts';
import { startListeners } from './broker/listeners.ts';
import { createPgPersistence } from './broker/persistence.ts';
import { createRetainedLimits } from './broker/retained-limits.ts';
import { GroupCommitter } from './events/committer.ts';
import { createGraphQLServer } from './http/graphql.ts';
import { registerRoute } from './http/register.ts';
import { createHttpServer } from './http/server.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { loadClusterId, loadSecretKey } from './services/bootstrap.ts';
import { startRedisFanout } from './events/redis-fanout.ts';
import mqemitterRedis from 'mqemitter-redis';
import { Redis } from 'ioredis';
import { CommandTracker, createReplyHandlers, registerCommandSinks, replyRoute } from './services/command-replies.ts';
import { createDeviceAuthService } from './services/device-auth.ts';
import { createGatewayService, gatewayTopicRoute } from './services/gateway.ts';
import { registerShadowSinks, shadowRoute } from './services/device-shadow.ts';
import { startRetention } from './services/retention.ts';
import { createIngestService, type DevicePublisher } from './services/ingest.ts';
import { MessageIds } from './services/message-ids.ts';
import { createPresenceService } from './services/presence.ts';
import { createProductCache } from './services/product-cache.ts';
import { createThingDataHandlers, registerThingDataSinks, thingDataRoute } from './services/thing-data.ts';
import { createServices, type Services } from './services/index.ts';
import { defaultBaseUrl } from './services/ota/index.ts';
import { SecretBox } from './services/secrets.ts';

export interface Platform {
  config: Config;
  logger: Logger;
  database: Database;
  services: Services;
  log: EventLog;
  hub: EventHub;
  instanceId: string;
  /** The platform key (device secrets at rest, derived keys such as the firmware link key). */
  secrets: SecretBox;
  /** Bound ports (useful with PORT=0 / MQTT_PORT=0). */
  httpPort: number;
  mqttPort: number;
  mqttsPort: number | null;
  /** Generated admin token, only on the very first start without ADMIN_TOKEN. */
  generatedAdminToken: string | null;
  close(): Promise<void>;
}

export interface PlatformOptions {
  logger?: Logger;
  /** Tests: start the embedded database from a migrated template. */
  pgliteLoadDataDir?: Blob;
}

/**
 * The composition root (architecture.md habit 1): config -> logger -> db -> services -> broker -> yoga + graphql-ws
 * -> listen; close() undoes it in reverse.
 */
export async function startPlatform(config: Config, opts: PlatformOptions = {}): Promise<Platform> {
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  const instanceId = randomUUID();
  const metrics = createMetrics();
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (err) {
        logger.error({ err }, 'error while shutting down');
      }
    }
  };

  try {
    const database = await createDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, pgliteLoadDataDir: opts.pgliteLoadDataDir });
    closers.push(() => database.close());
    await database.migrate();

    const log = new EventLog(database);
    const hub = new EventHub(log, logger.child({ module: 'hub' }));
    await hub.start();
    log.onCommit((events) => {
      for (const e of events) metrics.eventsAppended.inc({ type: e.type });
      hub.offer(events);
    });
    closers.push(() => hub.close());

    const secrets = new SecretBox(await loadSecretKey(config, database, logger));
    if (config.REDIS_URL) {
      // Several instances: events fan out through Redis, MQTT routing through aedes' mqemitter-redis (below).
      const fanout = await startRedisFanout({ url: config.REDIS_URL, clusterId: await loadClusterId(database), instanceId, log, hub, logger });
      closers.push(() => fanout.close());
    }
    const base = { config, database, log, hub, logger, secrets, instanceId };

    // Ingest: group commit, presence, device login, the upstream pipeline and the embedded broker.
    const committer = new GroupCommitter(database, log, logger.child({ module: 'committer' }), {
      delayMs: config.COMMIT_DELAY_MS,
      maxBatch: 1000,
      maxQueue: 50_000,
      onBatch: (n) => metrics.commitBatchSize.observe(n),
    });
    closers.push(() => committer.close());
    const ids = new MessageIds(database);
    const productCache = createProductCache(base);
    const tracker = new CommandTracker(hub);
    let publisher: DevicePublisher | null = null;
    let boundHttpPort = config.PORT;
    const services = createServices({
      ...base,
      committer,
      ids,
      tracker,
      productCache,
      metrics,
      publisher: () => publisher!,
      ota: { baseUrl: () => config.PUBLIC_URL ?? defaultBaseUrl(config.HOST, boundHttpPort) },
    });
    const generatedAdminToken = await services.apiKeys.ensureAdminToken();
    const presence = createPresenceService(base, committer);
    const deviceAuth = createDeviceAuthService(base);
    const ingest = createIngestService({ committer, ids, publisher: () => publisher!, logger: logger.child({ module: 'ingest' }) });
    registerThingDataSinks(committer);
    let gatewayRef: ReturnType<typeof createGatewayService> | null = null;
    const thingData = createThingDataHandlers({ products: productCache, subDevice: (gw, pk, dn) => gatewayRef!.boundSubDevice(gw, pk, dn) });
    ingest.use((t) => thingDataRoute(t) === 'pack', thingData.packPost);
    ingest.use((t) => thingDataRoute(t) === 'property', thingData.propertyPost);
    ingest.use((t) => thingDataRoute(t) === 'history', thingData.historyPost);
    ingest.use((t) => thingDataRoute(t) === 'event', thingData.eventPost);
    registerCommandSinks(committer);
    const replies = createReplyHandlers();
    ingest.use((t) => replyRoute(t) === 'rrpc', replies.rrpc);
    ingest.use((t) => replyRoute(t) === 'downlink', replies.downlink);
    const ota = services.runtime.ota;
    ingest.use((t) => ota.route(t) === 'inform', ota.handlers.inform);
    ingest.use((t) => ota.route(t) === 'progress', ota.handlers.progress);
    ingest.use((t) => ota.route(t) === 'request', ota.handlers.request);
    await presence.start();
    closers.push(() => presence.stop());
    const gateway = createGatewayService({ ...base, committer, ids, tracker, productCache, publisher: () => publisher!, presence, deviceAuth });
    gatewayRef = gateway;
    ingest.use((t) => gatewayTopicRoute(t), gateway.topo);
    registerShadowSinks(committer);
    ingest.use((t) => shadowRoute(t), services.shadow.handler);
    // Own connections for mqemitter-redis: without a ready check, a PSUBSCRIBE queued before the connection is up can
    // put it in subscriber mode before ioredis' INFO ready check, which then throws (an uncaught error at startup).
    const mq = config.REDIS_URL
      ? mqemitterRedis({
          subConn: new Redis(config.REDIS_URL, { enableReadyCheck: false }),
          pubConn: new Redis(config.REDIS_URL, { enableReadyCheck: false, enableAutoPipelining: true }),
        } as never)
      : undefined;
    // Persistent sessions (the Link SDK connects with clean: false), offline QoS 1 queues, retained messages and wills
    // live in the platform database: they survive restarts and move between instances.
    const persistence = createPgPersistence(database, {
      logger: logger.child({ module: 'mqtt-persistence' }),
      resyncIntervalMs: config.REDIS_URL ? 60_000 : 0,
      exclusive: !config.REDIS_URL,
    });
    closers.push(() => persistence.destroy());
    // Device-side limits (docs/security-device.md).
    const retainedLimits = createRetainedLimits({ db: database.db, maxPerDevice: config.MQTT_MAX_RETAINED_PER_DEVICE, ttlSeconds: config.MQTT_RETAINED_TTL_SECONDS, logger: logger.child({ module: 'retained' }) });
    closers.push(() => retainedLimits.stop());
    const broker = await createBroker({
      logger,
      metrics,
      deviceAuth,
      presence,
      products: productCache,
      ingest,
      hub,
      gateway,
      maxPayload: config.MQTT_MAX_PAYLOAD,
      limits: { maxSubscriptionsPerDevice: config.MQTT_MAX_SUBSCRIPTIONS_PER_DEVICE, retained: retainedLimits, maxRetainedPerDevice: config.MQTT_MAX_RETAINED_PER_DEVICE },
      aedes: { id: instanceId, persistence, heartbeatInterval: config.MQTT_HEARTBEAT_MS, ...(mq ? { mq } : {}) },
    });
    publisher = broker.publisher;
    closers.push(() => broker.close(() => committer.idle()));
    hub.subscribe((e) => {
      // Disabling, deleting or resetting the secret of a device disconnects it at once, on whichever instance holds it.
      const kick =
        (e.type === 'device.lifecycle' && (e.data.action === 'disable' || e.data.action === 'delete')) ||
        (e.type === 'registry.changed' && e.data.entity === 'device' && e.data.what === 'secretReset');
      if (kick && e.productKey && e.deviceName) broker.kickDevice(e.productKey, e.deviceName);
    });
    // Data forwarding: rules and M2M topic routes consume the event log (after the broker exists: they publish).
    services.runtime.ruleEngine.start();
    services.topicRoutes.start();
    ota.start();
    closers.push(() => ota.stop());
    closers.push(async () => {
      await services.topicRoutes.stop();
      await services.runtime.ruleEngine.stop();
      await services.runtime.actions.close();
    });
    const retention = startRetention({ config, log, history: services.history, logger: logger.child({ module: 'retention' }) });
    closers.push(() => retention.stop());
    const listeners = await startListeners(broker.broker, {
      host: config.HOST,
      port: config.MQTT_PORT,
      maxPayload: config.MQTT_MAX_PAYLOAD,
      tls: config.MQTT_TLS_CERT && config.MQTT_TLS_KEY ? { cert: config.MQTT_TLS_CERT, key: config.MQTT_TLS_KEY, port: config.MQTTS_PORT } : undefined,
    });
    closers.push(() => listeners.close());

    const graphqlWss = new WebSocketServer({ noServer: true });
    const gql = createGraphQLServer({ services, logger, metrics, wss: graphqlWss });
    hub.subscribe((e) => {
      if (e.type === 'registry.changed' && e.data.entity === 'apiKey' && e.data.what === 'revoked') gql.closeKey(Number(e.data.id));
    });

    const register = registerRoute(deviceAuth);
    const http = createHttpServer({
      logger,
      metrics,
      graphql: gql.yoga,
      graphqlWss,
      mqttWss: listeners.wss,
      routes: (req, res) => register(req, res) || ota.firmwareRoute(req, res),
      // Not ready when the database does not answer within a second (e.g. during an outage).
      ready: () => Promise.race([database.ping().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref())]),
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(config.PORT, config.HOST, () => resolve());
    });
    closers.push(async () => {
      // Stop accepting, close live sockets, let in-flight HTTP requests finish.
      const done = new Promise<void>((r) => http.close(() => r()));
      for (const ws of graphqlWss.clients) ws.close(1001, 'server shutting down');
      await gql.dispose();
      http.closeIdleConnections();
      await Promise.race([done, new Promise((r) => setTimeout(r, 5000).unref())]);
      http.closeAllConnections();
    });
    const httpPort = (http.address() as AddressInfo).port;
    boundHttpPort = httpPort;
    const shownHost = config.HOST === '0.0.0.0' ? 'localhost' : config.HOST;
    logger.info({ port: httpPort, host: config.HOST }, `GraphQL on http://${shownHost}:${httpPort}/graphql`);
    logger.info({ port: listeners.mqttPort }, `MQTT on mqtt://${shownHost}:${listeners.mqttPort} and ws://${shownHost}:${httpPort}/mqtt`);
    if (listeners.mqttsPort) logger.info({ port: listeners.mqttsPort }, `MQTT over TLS on mqtts://${shownHost}:${listeners.mqttsPort}`);

    return {
      config,
      logger,
      database,
      services,
      log,
      hub,
      instanceId,
      secrets,
      httpPort,
      mqttPort: listeners.mqttPort,
      mqttsPort: listeners.mqttsPort,
      generatedAdminToken,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
