import { canPublish } from '../domain/alink/acl.ts';
import { classifyUplink } from '../domain/alink/uplink.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { CachedDevice, DeviceAuthService } from '../services/device-auth.ts';
import type { IngestPipeline } from '../services/ingest/pipeline.ts';
import type { DeviceConnection } from '../services/ports.ts';
import type { ProductCache } from '../services/product-cache.ts';

/**
 * Wills of clients whose instance died. aedes' sweep publishes them with no client: it calls
 * `authorizePublish(null, will)`, and a refusal rejects the sweep and is emitted as the broker's `error` (which, with
 * no listener, would end the process on every instance at every sweep). Such a will is authorised by the identity of the
 * client that left it (the persistence stamps its clientId, `${pk}&${dn}` for Alink logins): the device must still
 * exist, be enabled, and be allowed to publish on the topic (D5, D7). Then it is ingested as that device's message and
 * published; otherwise it is deleted and dropped with a log line.
 */
export interface WillDeps {
  deviceAuth: DeviceAuthService;
  products: ProductCache;
  ingest: IngestPipeline;
  logger: Logger;
  metrics: Metrics;
  maxPayload: number;
  /** Deletes a refused will (aedes deletes only the wills it published). */
  deleteWill: (clientId: string, brokerId: string | undefined) => Promise<unknown>;
}

export class DroppedWillError extends Error {
  readonly code = 'WILL_DROPPED';
  constructor(reason: string) {
    super(`will of a dead instance dropped: ${reason}`);
    this.name = 'DroppedWillError';
  }
}

interface WillPacket {
  topic: string;
  payload: Buffer | string;
  qos: number;
  retain: boolean;
  clientId?: string;
  brokerId?: string;
}

async function decide(deps: WillDeps, will: WillPacket): Promise<string | null> {
  const clientId = will.clientId ?? '';
  const amp = clientId.indexOf('&');
  if (amp <= 0) return 'not an Alink client';
  const device = await deps.deviceAuth.lookup(clientId.slice(0, amp), clientId.slice(amp + 1));
  if (!device) return 'device no longer exists';
  if (!device.enabled) return 'device disabled';
  const payload = Buffer.isBuffer(will.payload) ? will.payload : Buffer.from(will.payload ?? '');
  if (payload.length > deps.maxPayload) return 'payload too large';
  const info = await deps.products.get(device.productKey);
  if (!info || !canPublish(device, will.topic, info.categories)) return 'topic not allowed for the device';
  const uplink = classifyUplink(will.topic);
  // No connection of its own is alive: a detached one, carrying no sub-devices (its session ended with its instance).
  const submitted = await deps.ingest.handle(device, {
    topic: will.topic,
    payload,
    qos: will.qos,
    retain: false,
    uplink,
    connection: detachedConnection(device),
  });
  await submitted.committed;
  return null;
}

function detachedConnection(device: CachedDevice): DeviceConnection {
  return {
    device,
    clientIp: null,
    subDevices: new Map(),
    subscribeDevice: () => Promise.resolve(),
    releaseDevice: () => undefined,
    reply: () => false,
  };
}

export function authorizeOrphanWill(deps: WillDeps, packet: unknown, done: (err?: Error | null) => void): void {
  const will = packet as WillPacket;
  decide(deps, will)
    .then(async (refused) => {
      if (refused === null) {
        deps.logger.info({ clientId: will.clientId, topic: will.topic }, 'will of a dead instance published');
        // Not retained: a retained will would outlive the limits a live device publish is held to.
        will.retain = false;
        return done(null);
      }
      deps.metrics.mqttDenied.inc({ op: 'will' });
      deps.logger.info(
        { clientId: will.clientId, topic: will.topic, reason: refused },
        'will of a dead instance dropped',
      );
      await deps
        .deleteWill(will.clientId ?? '', will.brokerId)
        .catch((err: unknown) => deps.logger.warn({ err }, 'could not delete a dropped will'));
      done(new DroppedWillError(refused));
    })
    .catch((err: unknown) => {
      // Not stored (database down...): left in place, the next sweep tries again.
      deps.logger.warn({ err, clientId: will.clientId }, 'could not publish the will of a dead instance');
      done(err instanceof Error ? err : new Error(String(err)));
    });
}

/** The broker's `error` listener: without one, an emitted error throws (and ended the process). */
export function onBrokerError(log: Logger): (err: Error) => void {
  return (err) => {
    if (err instanceof DroppedWillError) log.debug({ err: err.message }, 'broker: will dropped');
    else log.error({ err }, 'broker error');
  };
}
