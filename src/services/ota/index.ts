import type { GroupCommitter } from '../../events/committer.ts';
import type { ServiceDeps } from '../deps.ts';
import type { DevicePublisher } from '../ports.ts';
import type { MessageIds } from '../message-ids.ts';
import { firmwareRoute } from './download.ts';
import { createFirmwareService } from './firmware.ts';
import { createOtaHandlers, otaRoute } from './handlers.ts';
import { createJobService } from './jobs.ts';
import { defaultBaseUrl, linkSigner, type LinkSigner } from './links.ts';
import { OTA_STREAM_TYPES } from './model.ts';
import { createPusher } from './push.ts';
import { createRollout, type RolloutOptions } from './rollout.ts';

export { OTA_MAX_FIRMWARE_BYTES } from './firmware.ts';
export { OTA_LINK_TTL_MS, defaultBaseUrl } from './links.ts';
export { OTA_STREAM_TYPES } from './model.ts';

export interface OtaOptions extends RolloutOptions {
  /**
   * Absolute base URL of download links (scheme, host, port), read at push time. Default: this server's HTTP
   * listener from HOST and PORT. Behind a proxy or NAT, set PUBLIC_URL.
   */
  baseUrl?: () => string;
  maxFirmwareBytes?: number;
  linkTtlMs?: number;
}

export type OtaDeps = ServiceDeps & {
  committer: GroupCommitter;
  ids: MessageIds;
  publisher: DevicePublisher;
} & OtaOptions;

/**
 * OTA firmware updates (alink-protocol.md §2.4, §3.9, §6.11): firmware packages, upgrade jobs and their
 * rollout, the device uplinks as ingest handlers, and the signed download route. The composition root registers
 * `handlers` with the ingest pipeline, `firmwareRoute` with the HTTP server, and calls `start`/`stop`.
 */
export function createOtaService(deps: OtaDeps) {
  const logger = deps.logger.child({ module: 'ota' });
  let signerP: Promise<LinkSigner> | null = null;
  const signer = () => {
    // Derived from the platform key, so every instance verifies what any instance signed.
    signerP ??= Promise.resolve(linkSigner(deps.secrets.deriveKey('ota-link:v1')));
    return signerP;
  };
  const baseUrl = deps.baseUrl ?? (() => defaultBaseUrl(deps.config.HOST, deps.config.PORT));
  const pusher = createPusher({
    database: deps.database,
    ids: deps.ids,
    publisher: deps.publisher,
    signer,
    baseUrl,
    logger,
    ...(deps.linkTtlMs ? { linkTtlMs: deps.linkTtlMs } : {}),
  });
  const rollout = createRollout({
    database: deps.database,
    log: deps.log,
    hub: deps.hub,
    logger,
    pusher,
    ...pick(deps),
  });
  const firmware = createFirmwareService({
    ...deps,
    ...(deps.maxFirmwareBytes ? { maxFirmwareBytes: deps.maxFirmwareBytes } : {}),
  });
  const jobs = createJobService({ ...deps, onCreated: () => rollout.kick() });
  const handlers = createOtaHandlers({ pusher, logger, onChange: () => rollout.kick() });

  return {
    /** What GraphQL calls (ctx.services.ota). */
    service: {
      createFirmware: firmware.create,
      firmware: firmware.get,
      firmwares: firmware.list,
      maxFirmwareBytes: firmware.maxBytes,
      createJob: jobs.create,
      cancelJob: jobs.cancel,
      job: jobs.get,
      jobs: jobs.list,
      jobCounts: jobs.counts,
      jobTasks: jobs.tasks,
      deviceVersions: jobs.deviceVersions,
      /** The event types of the otaProgress subscription. */
      streamTypes: OTA_STREAM_TYPES,
    },
    handlers,
    route: otaRoute,
    firmwareRoute: firmwareRoute({ database: deps.database, signer, logger }),
    /** Retime the rollout after construction (RolloutOptions; the platform's tests shorten its clock). */
    configureRollout: (o: RolloutOptions) => rollout.configure(pick(o)),
    start: () => rollout.start(),
    stop: () => rollout.stop(),
  };
}

function pick(o: RolloutOptions): RolloutOptions {
  return {
    ...(o.intervalMs != null ? { intervalMs: o.intervalMs } : {}),
    ...(o.settleMs != null ? { settleMs: o.settleMs } : {}),
    ...(o.maxBatch != null ? { maxBatch: o.maxBatch } : {}),
  };
}

export type Ota = ReturnType<typeof createOtaService>;
export type OtaService = Ota['service'];
