import type { Uplink } from '../domain/alink/uplink.ts';
import type { CachedDevice } from '../services/device-auth.ts';
import type { IngestPipeline } from '../services/ingest/pipeline.ts';
import type { Metrics } from '../metrics.ts';
import type { DeviceConnection } from '../services/ports.ts';
import type { Session } from './sessions.ts';

/**
 * Route an authorised device publish to the uplink pipeline (services/ingest/pipeline.ts) and resolve when it is
 * durable: the caller (the aedes publish hook) lets aedes PUBACK only then. A connection's publishes are submitted
 * in order (aedes handles the packets of one socket read concurrently), and the commits still group across devices.
 */
export function createPublishRouter(deps: { ingest: IngestPipeline; metrics: Metrics }) {
  return async function routePublish(
    s: Session,
    connection: DeviceConnection,
    device: CachedDevice,
    uplink: Uplink,
    packet: { topic: string; payload: Buffer | string; qos: number; retain: boolean },
  ): Promise<void> {
    const payload = Buffer.from(packet.payload);
    const msg = { topic: packet.topic, payload, qos: packet.qos, retain: packet.retain, uplink, connection };
    // D22: nothing is handled (and so answered) before the platform-side subscriptions exist (Session.subscribed).
    const submitted = s.ingestTail.then(() => s.subscribed?.promise).then(() => deps.ingest.handle(device, msg));
    s.ingestTail = submitted.catch(() => {});
    await (await submitted).committed;
    deps.metrics.mqttMessagesIn.inc();
  };
}

export type PublishRouter = ReturnType<typeof createPublishRouter>;
