import { otaUpgradeTopic } from '../../domain/alink/topics.ts';
import type { Database } from '../../db/client.ts';
import type { Logger } from '../../logger.ts';
import type { Outbound } from '../ingest/types.ts';
import type { DevicePublisher } from '../ports.ts';
import type { MessageIds } from '../message-ids.ts';
import { findFirmware } from '../../db/repositories/ota.ts';
import { firmwareLink, OTA_LINK_TTL_MS, type LinkSigner } from './links.ts';
import { upgradePush, type FirmwareRecord } from './model.ts';
import type { PushTarget } from '../../db/ota-records.ts';

export interface PusherDeps {
  database: Database;
  ids: MessageIds;
  publisher: DevicePublisher;
  signer: () => Promise<LinkSigner>;
  /** Absolute base of download links, resolved at push time (the HTTP port may be bound after the services). */
  baseUrl: () => string;
  logger: Logger;
  linkTtlMs?: number;
}

/** Builds and sends upgrade pushes (alink-protocol.md §2.4, §3.9) at QoS 1. */
export function createPusher(deps: PusherDeps) {
  const firmwareCache = new Map<number, FirmwareRecord>();

  async function firmware(id: number): Promise<FirmwareRecord> {
    const cached = firmwareCache.get(id);
    if (cached) return cached;
    const f = await findFirmware(deps.database.db, id);
    if (!f) throw new Error(`firmware ${id} of an active job does not exist`);
    // Firmware rows are never updated: caching them is safe (bounded: one entry per package ever pushed here).
    if (firmwareCache.size > 1000) firmwareCache.clear();
    firmwareCache.set(id, f);
    return f;
  }

  /** The push for one target: the link is signed now and expires after the link TTL. */
  async function message(t: PushTarget): Promise<Outbound> {
    const f = await firmware(t.firmwareId);
    const url =
      f.url ??
      firmwareLink(await deps.signer(), deps.baseUrl(), f.id, Date.now() + (deps.linkTtlMs ?? OTA_LINK_TTL_MS));
    const id = Number(await deps.ids.take());
    return {
      topic: otaUpgradeTopic(t.device.productKey, t.device.deviceName),
      payload: upgradePush(id, f, url),
      qos: 1,
    };
  }

  /** Send pushes for committed claims; a failed publish is logged (the device gets it again when it reconnects). */
  async function send(targets: PushTarget[]): Promise<void> {
    await Promise.all(
      targets.map(async (t) => {
        try {
          const m = await message(t);
          await deps.publisher.publish(m.topic, typeof m.payload === 'function' ? m.payload() : m.payload, 1);
        } catch (err) {
          deps.logger.warn({ err, taskId: t.taskId, deviceName: t.device.deviceName }, 'upgrade push failed');
        }
      }),
    );
  }

  return { message, send };
}

export type Pusher = ReturnType<typeof createPusher>;
