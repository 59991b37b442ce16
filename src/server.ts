import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import type { Config } from './config.ts';
import { createDatabase, type Database } from './db/client.ts';
import { EventHub } from './events/hub.ts';
import { EventLog } from './events/log.ts';
import { createGraphQLServer } from './http/graphql.ts';
import { createHttpServer } from './http/server.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { loadSecretKey } from './services/bootstrap.ts';
import { createServices, type Services } from './services/index.ts';
import { SecretBox } from './services/secrets.ts';

export interface Platform {
  config: Config;
  logger: Logger;
  database: Database;
  services: Services;
  log: EventLog;
  hub: EventHub;
  instanceId: string;
  /** Bound ports (useful with PORT=0 / MQTT_PORT=0). */
  httpPort: number;
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
    const services = createServices({ config, database, log, hub, logger, secrets, instanceId });
    const generatedAdminToken = await services.apiKeys.ensureAdminToken();

    const graphqlWss = new WebSocketServer({ noServer: true });
    const gql = createGraphQLServer({ services, logger, metrics, wss: graphqlWss });
    hub.subscribe((e) => {
      if (e.type === 'registry.changed' && e.data.entity === 'apiKey' && e.data.what === 'revoked') gql.closeKey(Number(e.data.id));
    });

    const http = createHttpServer({
      logger,
      metrics,
      graphql: gql.yoga,
      graphqlWss,
      ready: async () => {
        await database.ping();
        return true;
      },
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
    logger.info({ port: httpPort, host: config.HOST }, `GraphQL on http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${httpPort}/graphql`);

    return {
      config,
      logger,
      database,
      services,
      log,
      hub,
      instanceId,
      httpPort,
      generatedAdminToken,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
