/**
 * The services tier without sockets: the services composed on a test database as server.ts composes them (group
 * commit, event log, hub, product cache, command tracker, the uplink pipeline), minus the broker, HTTP and AMQP.
 * The two ports to the transport (src/services/ports.ts) get in-memory adapters that record what would go to devices
 * and connections; a "device" here is its login through the real device-auth service and its publishes handed to the
 * real ingest pipeline, as the broker would hand them over.
 */
import { makeConfig, type Config } from '../../src/config.ts';
import { classifyUplink } from '../../src/domain/alink/uplink.ts';
import { GroupCommitter } from '../../src/events/committer.ts';
import { EventHub } from '../../src/events/hub.ts';
import { EventLog } from '../../src/events/log.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Principal } from '../../src/services/access.ts';
import { loadSecretKey } from '../../src/services/bootstrap.ts';
import { CommandTracker } from '../../src/services/command-replies.ts';
import { createUplink } from '../../src/services/ingest/uplink.ts';
import { createDeviceAuthService, type CachedDevice } from '../../src/services/device-auth.ts';
import { createGatewayService } from '../../src/services/gateway.ts';
import { createIngestPipeline } from '../../src/services/ingest/pipeline.ts';
import { createServices, type Services } from '../../src/services/index.ts';
import { MessageIds } from '../../src/services/message-ids.ts';
import {
  deviceKey,
  type DeviceConnection,
  type DevicePublisher,
  type SessionControl,
} from '../../src/services/ports.ts';
import { createPresenceService } from '../../src/services/presence.ts';
import { createProductCache } from '../../src/services/product-cache.ts';
import { SecretBox } from '../../src/services/secrets.ts';
import { alinkLogin, type DeviceCreds } from './devices.ts';
import type { TestDatabase } from './test-db.ts';
import { waitFor } from './wait.ts';

/** The admin token's principal; `apiKeyPrincipal` for a narrower caller. */
export const ADMIN: Principal = { kind: 'admin', keyId: null, role: 'ADMIN', productKeys: null };

export function apiKeyPrincipal(role: Principal['role'], productKeys: readonly string[] | null = null): Principal {
  return { kind: 'apiKey', keyId: 1, role, productKeys };
}

export interface Published {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  /** The payload as JSON (null when it is not JSON). */
  json: any;
}

/** The DevicePublisher port in memory: what would be handed to the broker, in order. */
export function recordingPublisher() {
  const sent: Published[] = [];
  return {
    sent,
    async publish(topic: string, payload: Buffer, qos: 0 | 1): Promise<void> {
      let json: unknown = null;
      try {
        json = JSON.parse(payload.toString('utf8'));
      } catch {
        json = null;
      }
      sent.push({ topic, payload, qos, json });
    },
    /** Everything published to `topic` so far. */
    to: (topic: string): Published[] => sent.filter((m) => m.topic === topic),
    /** Wait for the first publish to `topic` (it is sent after an await in the service, e.g. after a commit). */
    next: (topic: string | ((t: string) => boolean), timeout = 5_000): Promise<Published> =>
      waitFor(() => sent.find((m) => (typeof topic === 'string' ? m.topic === topic : topic(m.topic))), {
        message: `a publish to ${String(topic)}`,
        timeout,
      }) as Promise<Published>,
  } satisfies DevicePublisher & Record<string, unknown>;
}

export type RecordingPublisher = ReturnType<typeof recordingPublisher>;

/** The SessionControl port in memory: the connections it is given, and the kicks services ask for. */
export function recordingSessions() {
  const held = new Map<string, DeviceConnection>();
  const kicks: { productKey: string; deviceName: string; reason: string }[] = [];
  const key = (pk: string, dn: string) => `${pk}/${dn}`;
  const control: SessionControl = {
    kick(productKey, deviceName, reason) {
      kicks.push({ productKey, deviceName, reason });
      return held.delete(key(productKey, deviceName));
    },
    kickOlderThan(productKey, deviceName) {
      kicks.push({ productKey, deviceName, reason: 'OLDER_EPOCH' });
      return held.delete(key(productKey, deviceName));
    },
    connectionOf: (productKey, deviceName) => held.get(key(productKey, deviceName)),
    connections: () => [...held.values()],
    carrying: (productKey, deviceName) =>
      [...held.values()].filter((c) => c.subDevices.has(deviceKey(productKey, deviceName))),
  };
  return {
    ...control,
    kicks,
    hold: (c: DeviceConnection) => void held.set(key(c.device.productKey, c.device.deviceName), c),
  };
}

/** A connection as the broker would hand it to services, for a device that logged in. */
export function memoryConnection(device: CachedDevice): DeviceConnection {
  return {
    device,
    clientIp: '127.0.0.1',
    subDevices: new Map(),
    subscribeDevice: () => Promise.resolve(),
    releaseDevice: () => undefined,
    // No socket: replies go through the publisher, where tests see them.
    reply: () => false,
  };
}

export interface TestServices {
  config: Config;
  db: TestDatabase;
  services: Services;
  log: EventLog;
  hub: EventHub;
  committer: GroupCommitter;
  publisher: RecordingPublisher;
  sessions: ReturnType<typeof recordingSessions>;
  /**
   * Log a device in through device auth (real signature check), mark it online through presence, and return what it
   * can do without a socket: publish
   * an uplink through the ingest pipeline, resolving once it is committed (as the broker's PUBACK would).
   */
  device(creds: DeviceCreds): Promise<MemoryDevice>;
  close(): Promise<void>;
}

export interface MemoryDevice {
  device: CachedDevice;
  /** Its connection epoch (D6). */
  epoch: number;
  /** Its connection ends (as a DISCONNECT would); the device is offline after. */
  disconnect(): Promise<void>;
  publish(topic: string, payload: unknown): Promise<void>;
}

export async function composeServices(
  db: TestDatabase,
  overrides: Partial<Record<keyof Config, unknown>> = {},
): Promise<TestServices> {
  const config = makeConfig({
    DATABASE_URL: db.url ?? 'memory://',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    RULE_ALLOW_PRIVATE_TARGETS: true,
    ...overrides,
  });
  const logger = createLogger(config.LOG_LEVEL);
  const { database } = db;
  const log = new EventLog(database);
  const hub = new EventHub(log, logger.child({ module: 'hub' }));
  await hub.start();
  log.onCommit((events) => hub.offer(events));
  const secrets = new SecretBox(await loadSecretKey(config, database, logger));
  const base = { config, database, log, hub, logger, secrets, instanceId: `test-${process.pid}` };
  const committer = new GroupCommitter(database, log, logger.child({ module: 'committer' }), {
    delayMs: config.COMMIT_DELAY_MS,
    maxBatch: 1000,
    maxQueue: 50_000,
  });
  const ids = new MessageIds(database);
  const productCache = createProductCache(base);
  const tracker = new CommandTracker(hub);
  const publisher = recordingPublisher();
  const sessions = recordingSessions();
  // What the command services and the gateway service both take.
  const commandDeps = { ...base, committer, ids, tracker, productCache, publisher };
  const services = createServices({
    ...commandDeps,
    metrics: createMetrics(),
    ota: { baseUrl: () => 'http://127.0.0.1:0' },
  });

  // The uplink pipeline as server.ts builds it, without the broker in front.
  const presence = createPresenceService(base, committer);
  const deviceAuth = createDeviceAuthService(base);
  const gateway = createGatewayService({ ...commandDeps, presence, deviceAuth });
  const handlers = createUplink({
    committer,
    products: productCache,
    deviceAuth,
    gateway,
    secrets,
    ota: services.runtime.ota.handlers,
  });
  const ingest = createIngestPipeline({
    committer,
    ids,
    publisher,
    handlers,
    logger: logger.child({ module: 'ingest' }),
  });

  return {
    config,
    db,
    services,
    log,
    hub,
    committer,
    publisher,
    sessions,
    async device(creds) {
      const login = alinkLogin(creds);
      const r = await deviceAuth.login(login.clientId, login.username, Buffer.from(login.password), '127.0.0.1');
      if (!r.ok) throw new Error(`device login refused: ${r.failure} (${r.why})`);
      // What the broker does on CONNACK: the device is online from here (presence, connection epoch).
      const session = await presence.connect(r.device, '127.0.0.1', { secretEnc: r.device.secretEnc });
      if (!session) throw new Error('presence refused the login (secret changed meanwhile)');
      const connection = memoryConnection(r.device);
      sessions.hold(connection);
      return {
        device: r.device,
        epoch: session.epoch,
        async disconnect() {
          await presence.disconnect(r.device, session.epoch, 'CLIENT_DISCONNECT');
        },
        async publish(topic, payload) {
          const bytes = Buffer.isBuffer(payload)
            ? payload
            : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
          const { committed } = await ingest.handle(r.device, {
            topic,
            payload: bytes,
            qos: 1,
            retain: false,
            uplink: classifyUplink(topic),
            connection,
          });
          await committed;
        },
      };
    },
    async close() {
      await committer.close();
      await hub.close();
    },
  };
}
