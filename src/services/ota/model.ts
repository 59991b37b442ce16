import type { NewEvent } from '../../events/types.ts';

import type { OtaDevice, OtaJobStatus, OtaTaskStatus, SignMethod, TaskContext } from '../../db/ota-records.ts';

export {
  ACTIVE_JOB,
  ACTIVE_TASK,
  type FirmwareRecord,
  type OtaDevice,
  type OtaJobRecord,
  type OtaJobStatus,
  type OtaTaskRecord,
  type OtaTaskStatus,
  type SignMethod,
  type TaskContext,
} from '../../db/ota-records.ts';

export const DEFAULT_MODULE = 'default';

/** The event types of the `otaProgress` subscription (forwarding shapes of alink-protocol.md §6.11). */
export const OTA_EVENT = {
  version: 'ota.version',
  progress: 'ota.progress',
  upgrade: 'ota.upgrade',
  job: 'ota.job.status',
} as const;
export const OTA_STREAM_TYPES = [OTA_EVENT.progress, OTA_EVENT.upgrade, OTA_EVENT.version] as const;

/**
 * Progress steps (alink-protocol.md §3.9): 0..100 percent (the C Link SDK's IOT_OTAP_FETCH_PERCENTAGE_MIN is 0),
 * -1 upgrade failed, -2 download failed, -3 verification failed, -4 flashing failed. Steps come as strings or numbers.
 */
export function parseStep(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d{1,3}\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < -4 || n > 100) return null;
  return n;
}

export const FAILURE_STEPS: Record<number, string> = {
  [-1]: 'upgrade failed',
  [-2]: 'download failed',
  [-3]: 'verification failed',
  [-4]: 'flashing failed',
};

/** An OTA event of a device: its data starts with the device's iotId, productKey and deviceName. */
function deviceEvent(type: NewEvent['type'], d: OtaDevice, data: Record<string, unknown>): NewEvent {
  return {
    type,
    productKey: d.productKey,
    deviceName: d.deviceName,
    data: { iotId: d.iotId, productKey: d.productKey, deviceName: d.deviceName, ...data },
  };
}

const taskIds = (t: TaskContext) => ({ jobId: String(t.jobId), taskId: String(t.taskId), moduleName: t.module });

/** A transition of a task as one event body: §6.11 progress shape (UNCONFIRMED there; a superset here). */
export function progressEvent(
  d: OtaDevice,
  t: TaskContext,
  status: OtaTaskStatus,
  step: number | null,
  desc: string | null,
  at: number,
): NewEvent {
  return deviceEvent(OTA_EVENT.progress, d, {
    status,
    step,
    desc,
    ...taskIds(t),
    srcVersion: t.srcVersion,
    destVersion: t.destVersion,
    messageCreateTime: at,
  });
}

/** §6.11 `/${pk}/${dn}/ota/upgrade`: the result of one device's upgrade. */
export function upgradeEvent(
  d: OtaDevice,
  t: TaskContext,
  status: 'SUCCEEDED' | 'FAILED',
  desc: string | null,
  at: number,
): NewEvent {
  return deviceEvent(OTA_EVENT.upgrade, d, {
    status,
    messageCreateTime: at,
    srcVersion: t.srcVersion,
    destVersion: t.destVersion,
    desc,
    ...taskIds(t),
  });
}

/** §6.11 `/${pk}/${dn}/ota/version/post`: a version the device reported. */
export function versionEvent(d: OtaDevice, module: string, version: string, at: number): NewEvent {
  return deviceEvent(OTA_EVENT.version, d, { moduleName: module, moduleVersion: version, messageCreateTime: at });
}

/** §6.11 `/${pk}/${packageId}/${jobId}/ota/job/status`. */
export function jobStatusEvent(
  job: { id: number; productKey: string; firmwareId: number },
  status: OtaJobStatus,
  at: number,
): NewEvent {
  return {
    type: OTA_EVENT.job,
    productKey: job.productKey,
    data: {
      productKey: job.productKey,
      packageId: String(job.firmwareId),
      jobId: String(job.id),
      status,
      messageCreateTime: at,
    },
  };
}

export interface PushFirmware {
  size: number;
  version: string;
  module: string;
  md5: string;
  sha256: string | null;
  signMethod: SignMethod;
}

/**
 * The upgrade push on `/ota/device/upgrade/${pk}/${dn}` (alink-protocol.md §3.9), `module` included also for the
 * default module (a device without module support ignores it; one with it needs it to tell its modules apart).
 */
export function upgradePush(id: number, fw: PushFirmware, url: string): Buffer {
  const sign = fw.signMethod === 'SHA256' ? fw.sha256! : fw.md5;
  const data: Record<string, unknown> = {
    size: fw.size,
    version: fw.version,
    url,
    md5: fw.md5,
    sign,
    signMethod: fw.signMethod === 'SHA256' ? 'SHA256' : 'Md5',
    module: fw.module,
    isDiff: 0,
  };
  return Buffer.from(JSON.stringify({ code: '1000', data, id, message: 'success' }));
}
