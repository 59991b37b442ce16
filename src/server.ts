import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import type { Config } from './config.ts';
import { createDatabase, type Database } from './db/client.ts';
import { startPgliteAutovacuum } from './db/pglite-autovacuum.ts';
import { EventHub } from './events/hub.ts';
import { EventLog } from './events/log.ts';
import { attachBroker, createAedes } from './broker/broker.ts';
import { createOrderedPublisher } from './broker/publisher.ts';
import { createSessionControl } from './broker/session-control.ts';
import { SessionRegistry } from './broker/sessions.ts';
import { startListeners } from './broker/listeners.ts';
import { createPgPersistence } from './broker/persistence.ts';
import { createRetainedLimits } from './broker/retained-limits.ts';
import { GroupCommitter } from './events/committer.ts';
import { createGraphQLServer } from './http/graphql.ts';
import { registerRoute } from './http/register.ts';
import { createHttpServer } from './http/server.ts';
import { createConsoleRoute, defaultConsoleDir } from './http/console.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { loadClusterId, loadSecretKey } from './services/bootstrap.ts';
import { CommandTracker } from './services/command-replies.ts';
import { createUplink } from './services/ingest/uplink.ts';
import { createDeviceAuthService } from './services/device-auth.ts';
import { createGatewayService } from './services/gateway.ts';
import { startRetention } from './services/retention.ts';
import { createIngestPipeline } from './services/ingest/pipeline.ts';
import { MessageIds } from './services/message-ids.ts';
import { createPresenceService } from './services/presence.ts';
import { createProductCache } from './services/product-cache.ts';
import { createServices, type Services } from './services/index.ts';
import { startSessionPolicy } from './services/session-policy.ts';
import { defaultBaseUrl } from './services/ota/index.ts';
import { SecretBox } from './services/secrets.ts';
import { memoryNonceStore, redisNonceStore } from './openapi/nonces.ts';
import { createOpenApiHandler } from './openapi/router.ts';
import { openApiRoute } from './http/openapi-route.ts';
import { lockDataDir, usesDataDir } from './startup/data-dir.ts';
import { waitForDatabase } from './startup/database.ts';
import { reservePorts } from './startup/ports.ts';

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
  /** AMQP 1.0 server-side subscription ports (null: off). */
  amqpPort: number | null;
  amqpsPort: number | null;
  /** Generated admin token, only on the very first start without ADMIN_TOKEN. */
  generatedAdminToken: string | null;
  close(): Promise<void>;
}

export interface PlatformOptions {
  logger?: Logger;
  /** Tests: start the embedded database from a migrated template. */
  pgliteLoadDataDir?: Blob;
  /** Tests: how long an AMQP connection may stay without a receiver link (cloud-api.md §7.2: 15 s). */
  amqpAttachTimeoutMs?: number;
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
    // Ports first, then DATA_DIR's lock: a start that cannot listen writes no state (src/startup/).
    const ports = await reservePorts(config);
    closers.push(() => ports.release());
    const dataDir = usesDataDir(config) && !opts.pgliteLoadDataDir ? lockDataDir(config.DATA_DIR) : null;
    if (dataDir) closers.push(() => dataDir.release());
    const database = await createDatabase({
      url: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      pgliteLoadDataDir: opts.pgliteLoadDataDir,
    });
    closers.push(() => database.close());
    await waitForDatabase(database, { url: config.DATABASE_URL, waitMs: config.DATABASE_WAIT_MS, logger });
    await database.migrate();
    if (database.pglite) {
      // The embedded database has no autovacuum of its own (db/pglite-autovacuum.ts).
      const autovacuum = startPgliteAutovacuum(database.pglite, logger.child({ module: 'autovacuum' }));
      closers.push(() => autovacuum.stop());
    }

    const log = new EventLog(database);
    const hub = new EventHub(log, logger.child({ module: 'hub' }));
    await hub.start();
    log.onCommit((events) => {
      for (const e of events) metrics.eventsAppended.inc({ type: e.type });
      hub.offer(events);
    });
    closers.push(() => hub.close());

    const secrets = new SecretBox(await loadSecretKey(config, database, logger));
    // Optional subsystems are imported only when their setting turns them on (Redis, the AMQP server) or on first use
    // (the OpenAPI, GraphiQL): each costs 5-35 MB of resident memory that a server without it never needs
    // (docs/performance.md).
    const redis = config.REDIS_URL ? await loadRedis(config.REDIS_URL) : null;
    if (redis) {
      // Several instances: events fan out through Redis, MQTT routing through aedes' mqemitter-redis (below).
      const fanout = await redis.startRedisFanout({
        url: redis.url,
        clusterId: await loadClusterId(database),
        instanceId,
        log,
        hub,
        logger,
      });
      closers.push(() => fanout.close());
    }
    const base = { config, database, log, hub, logger, secrets, instanceId };

    // Ingest: group commit, presence, device login, the upstream pipeline and the embedded broker.
    const committer = new GroupCommitter(database, log, logger.child({ module: 'committer' }), {
      delayMs: config.COMMIT_DELAY_MS,
      // A batch on the embedded database holds the event loop from its first statement to its settlement: 200 items
      // (~50-70 ms) rather than 1,000 (~250-300 ms) keeps the loop's delay at saturation near a quarter, at the same
      // throughput (docs/performance.md).
      maxBatch: database.kind === 'pglite' ? 200 : 1000,
      maxQueue: 50_000,
      maxQueueBytes: config.INGEST_QUEUE_MAX_BYTES,
      onBatch: (n) => metrics.commitBatchSize.observe(n),
      onRanAgain: () => metrics.commitReruns.inc(),
      // The embedded database answers without I/O: batches start from the loop's check phase, one turn apart.
      yieldBetweenBatches: database.kind === 'pglite',
    });
    closers.push(() => committer.close());
    const ids = new MessageIds(database);
    const productCache = createProductCache(base);
    const tracker = new CommandTracker(hub);
    // Own connections for mqemitter-redis: without a ready check, a PSUBSCRIBE queued before the connection is up can
    // put it in subscriber mode before ioredis' INFO ready check, which then throws (an uncaught error at startup).
    const mq = redis
      ? redis.mqemitterRedis({
          subConn: new redis.Redis(redis.url, { enableReadyCheck: false }),
          pubConn: new redis.Redis(redis.url, { enableReadyCheck: false, enableAutoPipelining: true }),
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
    const retainedLimits = createRetainedLimits({
      db: database.db,
      maxPerDevice: config.MQTT_MAX_RETAINED_PER_DEVICE,
      ttlSeconds: config.MQTT_RETAINED_TTL_SECONDS,
      logger: logger.child({ module: 'retained' }),
    });
    closers.push(() => retainedLimits.stop());
    // The transport first: services get the ports built on it (publisher, session control) at construction.
    const aedes = await createAedes({
      id: instanceId,
      persistence,
      heartbeatInterval: config.MQTT_HEARTBEAT_MS,
      ...(mq ? { mq } : {}),
    });
    const publisher = createOrderedPublisher(aedes);
    const sessions = new SessionRegistry();
    const sessionControl = createSessionControl(sessions);
    let boundHttpPort = config.PORT;
    const services = createServices({
      ...base,
      committer,
      ids,
      tracker,
      productCache,
      metrics,
      publisher,
      ota: { baseUrl: () => config.PUBLIC_URL ?? defaultBaseUrl(config.HOST, boundHttpPort) },
    });
    const presence = createPresenceService(base, committer);
    const deviceAuth = createDeviceAuthService(base);
    await presence.start();
    closers.push(() => presence.stop());
    const gateway = createGatewayService({
      ...base,
      committer,
      ids,
      tracker,
      productCache,
      publisher,
      presence,
      deviceAuth,
    });
    const ota = services.runtime.ota;

    // The uplink pipeline (docs/uplink-pipeline.md): the handler table, the batch sinks of the group commit, the broker.
    const handlers = createUplink({
      committer,
      products: productCache,
      deviceAuth,
      gateway,
      secrets,
      ota: ota.handlers,
    });
    const ingest = createIngestPipeline({
      committer,
      ids,
      publisher,
      handlers,
      logger: logger.child({ module: 'ingest' }),
    });
    const broker = attachBroker(aedes, {
      logger,
      metrics,
      deviceAuth,
      presence,
      products: productCache,
      ingest,
      gateway,
      publisher,
      sessions,
      maxPayload: config.MQTT_MAX_PAYLOAD,
      limits: {
        maxSubscriptionsPerDevice: config.MQTT_MAX_SUBSCRIPTIONS_PER_DEVICE,
        retained: retainedLimits,
        maxRetainedPerDevice: config.MQTT_MAX_RETAINED_PER_DEVICE,
      },
    });
    closers.push(() => broker.close(() => committer.idle()));
    startSessionPolicy({
      hub,
      sessions: sessionControl,
      gateway,
      publisher,
      logger: logger.child({ module: 'sessions' }),
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
    const retention = startRetention({
      config,
      log,
      history: services.history,
      logger: logger.child({ module: 'retention' }),
    });
    closers.push(() => retention.stop());
    await ports.release();
    const listeners = await startListeners(broker.broker, {
      host: config.HOST,
      port: ports.mqtt,
      maxPayload: config.MQTT_MAX_PAYLOAD,
      tls:
        config.MQTT_TLS_CERT && config.MQTT_TLS_KEY
          ? { cert: config.MQTT_TLS_CERT, key: config.MQTT_TLS_KEY, port: ports.mqtts ?? config.MQTTS_PORT }
          : undefined,
    });
    closers.push(() => listeners.close());
    // AMQP server-side subscription (cloud-api.md §7); its connections close before the dispatchers hand back deliveries.
    await services.consumerGroups.ensureDefaultGroup();
    closers.push(() => services.runtime.amqp.stop());
    const amqpTls =
      config.AMQP_TLS_CERT && config.AMQP_TLS_KEY
        ? { cert: config.AMQP_TLS_CERT, key: config.AMQP_TLS_KEY, port: config.AMQPS_PORT }
        : undefined;
    // Off (no port, no TLS pair: cloud-api.md §7.1) means no listener, so rhea is not even loaded.
    const amqp =
      config.AMQP_PORT !== undefined || amqpTls
        ? await (await import('./amqp/server.ts')).startAmqpServer(services.runtime.amqp, logger, {
            host: config.HOST,
            port: config.AMQP_PORT,
            tls: amqpTls,
            ...(opts.amqpAttachTimeoutMs ? { attachTimeoutMs: opts.amqpAttachTimeoutMs } : {}),
          })
        : { port: null, tlsPort: null, close: async () => {} };
    closers.push(() => amqp.close());

    // A graphql-ws message is one operation: the same cap as an HTTP body (ws' default is 100 MiB).
    const graphqlWss = new WebSocketServer({ noServer: true, maxPayload: config.GRAPHQL_MAX_BODY_BYTES });
    const gql = createGraphQLServer({
      services,
      logger,
      metrics,
      wss: graphqlWss,
      config,
      subscriptionCacheBytes: config.SUBSCRIPTION_CACHE_MAX_BYTES,
    });
    log.onCommit(() => gql.corkFanout());
    hub.on('registry.changed', (e) => {
      if (e.data.entity === 'apiKey' && e.data.what === 'revoked') gql.closeKey(Number(e.data.id));
    });

    const register = registerRoute(deviceAuth);
    // Alibaba IoT OpenAPI on `/` (cloud-api.md): nonces in Redis when several instances share the work.
    const nonces = redis
      ? redisNonceStore(new redis.Redis(redis.url, { maxRetriesPerRequest: 2 }))
      : memoryNonceStore();
    closers.push(() => nonces.close());
    const openapi = openApiRoute(createOpenApiHandler({ services, config, logger, nonces, metrics }));
    const http = createHttpServer({
      logger,
      metrics,
      graphql: gql.yoga,
      graphqlWss,
      mqttWss: listeners.wss,
      routes: (req, res) => register(req, res) || ota.firmwareRoute(req, res),
      openapi,
      console: createConsoleRoute({ dir: config.CONSOLE_DIR ?? defaultConsoleDir() }),
      // Not ready when the database does not answer within a second (e.g. during an outage).
      ready: () =>
        Promise.race([
          database.ping().then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref()),
        ]),
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(ports.http, config.HOST, () => resolve());
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
    // Only once every port listens: a failed first start loses no token (thingql admin-token --reset makes a new one).
    const generatedAdminToken = await services.apiKeys.ensureAdminToken();
    boundHttpPort = httpPort;
    const shownHost = config.HOST === '0.0.0.0' ? 'localhost' : config.HOST;
    logger.info({ port: httpPort, host: config.HOST }, `GraphQL on http://${shownHost}:${httpPort}/graphql`);
    logger.info(
      { port: listeners.mqttPort },
      `MQTT on mqtt://${shownHost}:${listeners.mqttPort} and ws://${shownHost}:${httpPort}/mqtt`,
    );
    if (listeners.mqttsPort)
      logger.info({ port: listeners.mqttsPort }, `MQTT over TLS on mqtts://${shownHost}:${listeners.mqttsPort}`);

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
      amqpPort: amqp.port,
      amqpsPort: amqp.tlsPort,
      generatedAdminToken,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** What several instances need (REDIS_URL): ioredis, mqemitter-redis and the event fan-out, loaded only then. */
async function loadRedis(url: string) {
  const [{ Redis }, { default: mqemitterRedis }, { startRedisFanout }] = await Promise.all([
    import('ioredis'),
    import('mqemitter-redis'),
    import('./events/redis-fanout.ts'),
  ]);
  return { url, Redis, mqemitterRedis, startRedisFanout };
}
