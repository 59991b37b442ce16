import { DomainError } from '../../domain/errors.ts';
import type { Tx } from '../../db/client.ts';
import {
  countJobs,
  findFirmware,
  findJob,
  insertJob,
  listDeviceVersions,
  lockJob,
  lockJobCreation,
  pageJobs,
  setJobStatus,
} from '../../db/repositories/ota.ts';
import {
  cancelJobTasks,
  countTasks,
  countTasksByStatus,
  findBusyDevices,
  findDevicesWithVersion,
  insertProductTasks,
  insertQueuedTasks,
  pageTasks,
} from '../../db/repositories/ota-tasks.ts';
import { assertProductVisible, canSeeProduct, requireRole, type Principal } from '../access.ts';
import type { ServiceDeps } from '../deps.ts';
import { toConnection, type PageArgs, idKeyOf } from '../paging.ts';
import type { DeviceRecord } from '../../db/records.ts';
import {
  ACTIVE_JOB,
  jobStatusEvent,
  progressEvent,
  type OtaJobRecord,
  type OtaJobStatus,
  type OtaTaskRecord,
  type OtaTaskStatus,
} from './model.ts';
import { pageWindow } from './page-window.ts';

/** The reference's CreateOTAStaticUpgradeJob: MaximumPerMinute 10-10000 (ThingQL also allows slower, from 1). */
export const MAX_ROLLOUT_RATE = 10_000;
export const MAX_JOB_DEVICES = 1000;
export const MAX_SRC_VERSIONS = 100;
/** Serialises job creation per product: "one active task per device and module" holds across concurrent creates. */
const JOB_CREATE_LOCK = 7_354_031;

export interface CreateOtaJobInput {
  firmwareId: number;
  deviceNames?: readonly string[] | null;
  srcVersions?: readonly string[] | null;
  rolloutRate?: number | null;
}

export interface OtaTaskView extends OtaTaskRecord {
  /** null once the device was deleted. */
  device: DeviceRecord | null;
}

export type TaskCounts = Record<
  'total' | 'queued' | 'notified' | 'inProgress' | 'succeeded' | 'failed' | 'canceled',
  number
>;

const field = (name: string) => ['input', name];

/** Upgrade jobs and their per-device tasks (CreateOTAStaticUpgradeJob, CancelOTAStrategyByJob, ListOTATaskByJob). */
export function createJobService(deps: ServiceDeps & { onCreated: () => void }) {
  const { database, log } = deps;
  const db = database.db;

  function checkInput(input: CreateOtaJobInput): void {
    const r = input.rolloutRate;
    if (r != null && (!Number.isInteger(r) || r < 1 || r > MAX_ROLLOUT_RATE)) {
      throw new DomainError(
        'INVALID_INPUT',
        `rolloutRate is devices per minute, 1 to ${MAX_ROLLOUT_RATE} (absent: all at once)`,
        field('rolloutRate'),
      );
    }
    if (input.srcVersions != null && (input.srcVersions.length === 0 || input.srcVersions.length > MAX_SRC_VERSIONS)) {
      throw new DomainError(
        'INVALID_INPUT',
        `srcVersions lists 1 to ${MAX_SRC_VERSIONS} versions (absent: any version)`,
        field('srcVersions'),
      );
    }
    if (input.deviceNames != null && (input.deviceNames.length === 0 || input.deviceNames.length > MAX_JOB_DEVICES)) {
      throw new DomainError(
        'INVALID_INPUT',
        `deviceNames lists 1 to ${MAX_JOB_DEVICES} devices (absent: the whole product)`,
        field('deviceNames'),
      );
    }
  }

  /** Named devices: every one must exist, match srcVersions and be free for the module, or nothing is created. */
  async function namedTasks(
    tx: Tx,
    jobId: number,
    productKey: string,
    module: string,
    input: CreateOtaJobInput,
  ): Promise<number> {
    const names = [...new Set(input.deviceNames!)];
    const rows = await findDevicesWithVersion(tx, productKey, names, module);
    const found = new Set(rows.map((r) => r.deviceName));
    const missing = names.filter((n) => !found.has(n));
    if (missing.length > 0)
      throw new DomainError(
        'DEVICE_NOT_FOUND',
        `no such devices in product ${productKey}: ${missing.slice(0, 10).join(', ')}`,
        field('deviceNames'),
      );
    if (input.srcVersions) {
      const off = rows.filter((r) => r.version == null || !input.srcVersions!.includes(r.version));
      if (off.length > 0) {
        throw new DomainError(
          'SRC_VERSION_MISMATCH',
          `devices whose ${module} version is not in srcVersions: ${off
            .slice(0, 10)
            .map((r) => `${r.deviceName} (${r.version ?? 'never reported'})`)
            .join(', ')}`,
          field('deviceNames'),
        );
      }
    }
    const taken = await findBusyDevices(
      tx,
      rows.map((r) => r.id),
      module,
    );
    if (taken.size > 0) {
      const names = rows.filter((r) => taken.has(r.id)).map((r) => r.deviceName);
      throw new DomainError(
        'DEVICE_BUSY',
        `devices already in an active upgrade of module ${module}: ${names.slice(0, 10).join(', ')}`,
        field('deviceNames'),
      );
    }
    await insertQueuedTasks(tx, jobId, rows);
    return rows.length;
  }

  async function visibleJob(p: Principal, id: number): Promise<OtaJobRecord | null> {
    if (!Number.isSafeInteger(id)) return null;
    const job = await findJob(db, id);
    return job && canSeeProduct(p, job.productKey) ? job : null;
  }

  return {
    async create(p: Principal, input: CreateOtaJobInput): Promise<OtaJobRecord> {
      requireRole(p, 'OPERATOR');
      checkInput(input);
      const fw = await findFirmware(db, input.firmwareId);
      if (!fw || !canSeeProduct(p, fw.productKey))
        throw new DomainError('FIRMWARE_NOT_FOUND', `firmware ${input.firmwareId} does not exist`, field('firmwareId'));
      const job = await log.transaction(async (tx, emit) => {
        await lockJobCreation(tx, JOB_CREATE_LOCK, fw.productKey);
        const created = await insertJob(tx, {
          firmwareId: fw.id,
          productKey: fw.productKey,
          srcVersions: input.srcVersions ? [...input.srcVersions] : null,
          rolloutRate: input.rolloutRate ?? null,
          status: 'IN_PROGRESS',
        });
        const n = input.deviceNames
          ? await namedTasks(tx, created.id, fw.productKey, fw.module, input)
          : await insertProductTasks(tx, {
              jobId: created.id,
              productKey: fw.productKey,
              module: fw.module,
              target: fw.version,
              srcVersions: input.srcVersions ?? null,
            });
        if (n === 0) {
          throw new DomainError(
            'NO_MATCHING_DEVICES',
            `no device of product ${fw.productKey} needs ${fw.module} ${fw.version} (filtered by srcVersions, already at it, or busy with another upgrade)`,
            field('firmwareId'),
          );
        }
        emit(jobStatusEvent(created, 'IN_PROGRESS', Date.now()));
        return created;
      });
      deps.logger.info({ jobId: job.id, productKey: job.productKey, firmwareId: fw.id }, 'OTA job created');
      deps.onCreated();
      return job;
    },

    /** Cancel a job: its QUEUED, NOTIFIED and IN_PROGRESS tasks become CANCELED (CancelOTATaskByJob, in-progress too). */
    async cancel(p: Principal, id: number): Promise<OtaJobRecord> {
      requireRole(p, 'OPERATOR');
      return log.transaction(async (tx, emit) => {
        const job = await lockJob(tx, id);
        if (!job || !canSeeProduct(p, job.productKey))
          throw new DomainError('JOB_NOT_FOUND', `OTA job ${id} does not exist`, field('id'));
        if (!ACTIVE_JOB.includes(job.status))
          throw new DomainError('JOB_NOT_ACTIVE', `OTA job ${id} is already ${job.status}`, field('id'));
        const fw = (await findFirmware(tx, job.firmwareId))!;
        const rows = await cancelJobTasks(tx, job.id);
        await setJobStatus(tx, job.id, 'CANCELED');
        const now = Date.now();
        for (const r of rows) {
          if (r.iot_id == null || r.device_name == null) continue;
          const device = { id: 0, iotId: r.iot_id, productKey: job.productKey, deviceName: r.device_name };
          emit(
            progressEvent(
              device,
              {
                taskId: Number(r.id),
                jobId: job.id,
                module: fw.module,
                srcVersion: r.src_version,
                destVersion: fw.version,
              },
              'CANCELED',
              r.step,
              'job canceled',
              now,
            ),
          );
        }
        emit(jobStatusEvent(job, 'CANCELED', now));
        return { ...job, status: 'CANCELED' as OtaJobStatus };
      });
    },

    get(p: Principal, id: number): Promise<OtaJobRecord | null> {
      requireRole(p, 'VIEWER');
      return visibleJob(p, id);
    },

    async list(p: Principal, productKey: string, filter: { status?: OtaJobStatus | null }, args: PageArgs) {
      requireRole(p, 'VIEWER');
      assertProductVisible(p, productKey);
      const { page, window } = pageWindow(args);
      const rows = await pageJobs(db, productKey, filter.status ?? null, window);
      return toConnection(rows, page, idKeyOf, () => countJobs(db, productKey, filter.status ?? null));
    },

    /** Tasks per status; the job was checked visible by the caller (it is a field of a visible job). */
    async counts(jobId: number): Promise<TaskCounts> {
      const by = await countTasksByStatus(db, jobId);
      const c = (s: OtaTaskStatus) => by.get(s) ?? 0;
      return {
        total: [...by.values()].reduce((a, b) => a + b, 0),
        queued: c('QUEUED'),
        notified: c('NOTIFIED'),
        inProgress: c('IN_PROGRESS'),
        succeeded: c('SUCCEEDED'),
        failed: c('FAILED'),
        canceled: c('CANCELED'),
      };
    },

    async tasks(job: OtaJobRecord, filter: { status?: OtaTaskStatus | null }, args: PageArgs) {
      const { page, window } = pageWindow(args);
      const fw = (await findFirmware(db, job.firmwareId))!;
      const rows = await pageTasks(db, job.id, filter.status ?? null, window);
      const views = rows.map(
        ({ description, ...t }): OtaTaskView => ({
          ...t,
          desc: description,
          destVersion: fw.version,
          module: fw.module,
        }),
      );
      return toConnection(views, page, idKeyOf, () => countTasks(db, job.id, filter.status ?? null));
    },

    /** The versions a device reported, per module (for `Device.firmwareVersions`). */
    async deviceVersions(deviceId: number): Promise<{ module: string; version: string; reportedAt: Date }[]> {
      return listDeviceVersions(db, deviceId);
    },
  };
}

export type JobService = ReturnType<typeof createJobService>;
