import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { DomainError } from '../../domain/errors.ts';
import { query, type Tx } from '../../db/client.ts';
import { devices, deviceVersions, firmwares, otaJobs, otaTasks } from '../../db/tables.ts';
import { assertProductVisible, canSeeProduct, requireRole, type Principal } from '../access.ts';
import type { ServiceDeps } from '../deps.ts';
import { toDeviceRecord } from '../../db/repositories/devices.ts';
import { toConnection, type PageArgs } from '../paging.ts';
import type { DeviceRecord } from '../../db/records.ts';
import { findFirmware } from './firmware.ts';
import { ACTIVE_JOB, jobStatusEvent, progressEvent, type OtaJobRecord, type OtaJobStatus, type OtaTaskRecord, type OtaTaskStatus } from './model.ts';
import { idWindow, lockJob, toJobRecord } from './store.ts';

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

export type TaskCounts = Record<'total' | 'queued' | 'notified' | 'inProgress' | 'succeeded' | 'failed' | 'canceled', number>;

const field = (name: string) => ['input', name];
const list = (xs: readonly (string | number)[]) => sql.join(xs.map((x) => sql`${x}`), sql`, `);

/** Upgrade jobs and their per-device tasks (CreateOTAStaticUpgradeJob, CancelOTAStrategyByJob, ListOTATaskByJob). */
export function createJobService(deps: ServiceDeps & { onCreated: () => void }) {
  const { database, log } = deps;
  const db = database.db;

  function checkInput(input: CreateOtaJobInput): void {
    const r = input.rolloutRate;
    if (r != null && (!Number.isInteger(r) || r < 1 || r > MAX_ROLLOUT_RATE)) {
      throw new DomainError('INVALID_INPUT', `rolloutRate is devices per minute, 1 to ${MAX_ROLLOUT_RATE} (absent: all at once)`, field('rolloutRate'));
    }
    if (input.srcVersions != null && (input.srcVersions.length === 0 || input.srcVersions.length > MAX_SRC_VERSIONS)) {
      throw new DomainError('INVALID_INPUT', `srcVersions lists 1 to ${MAX_SRC_VERSIONS} versions (absent: any version)`, field('srcVersions'));
    }
    if (input.deviceNames != null && (input.deviceNames.length === 0 || input.deviceNames.length > MAX_JOB_DEVICES)) {
      throw new DomainError('INVALID_INPUT', `deviceNames lists 1 to ${MAX_JOB_DEVICES} devices (absent: the whole product)`, field('deviceNames'));
    }
  }

  /** Devices (of the given ids) already in an active task for `module`. */
  async function busy(tx: Tx, ids: number[], module: string): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    const rows = await query<{ device_id: string | number }>(
      tx,
      sql`select t.device_id from ${otaTasks} t join ${otaJobs} j on j.id = t.job_id join ${firmwares} f on f.id = j.firmware_id
          where t.status in ('QUEUED', 'NOTIFIED', 'IN_PROGRESS') and f.module = ${module} and t.device_id in (${list(ids)})`,
    );
    return new Set(rows.map((r) => Number(r.device_id)));
  }

  /** Named devices: every one must exist, match srcVersions and be free for the module, or nothing is created. */
  async function namedTasks(tx: Tx, jobId: number, productKey: string, module: string, input: CreateOtaJobInput): Promise<number> {
    const names = [...new Set(input.deviceNames!)];
    const rows = await tx
      .select({ id: devices.id, deviceName: devices.deviceName, version: deviceVersions.version })
      .from(devices)
      .leftJoin(deviceVersions, and(eq(deviceVersions.deviceId, devices.id), eq(deviceVersions.module, module)))
      .where(and(eq(devices.productKey, productKey), inArray(devices.deviceName, names)));
    const found = new Set(rows.map((r) => r.deviceName));
    const missing = names.filter((n) => !found.has(n));
    if (missing.length > 0) throw new DomainError('DEVICE_NOT_FOUND', `no such devices in product ${productKey}: ${missing.slice(0, 10).join(', ')}`, field('deviceNames'));
    if (input.srcVersions) {
      const off = rows.filter((r) => r.version == null || !input.srcVersions!.includes(r.version));
      if (off.length > 0) {
        throw new DomainError(
          'SRC_VERSION_MISMATCH',
          `devices whose ${module} version is not in srcVersions: ${off.slice(0, 10).map((r) => `${r.deviceName} (${r.version ?? 'never reported'})`).join(', ')}`,
          field('deviceNames'),
        );
      }
    }
    const taken = await busy(tx, rows.map((r) => r.id), module);
    if (taken.size > 0) {
      const names = rows.filter((r) => taken.has(r.id)).map((r) => r.deviceName);
      throw new DomainError('DEVICE_BUSY', `devices already in an active upgrade of module ${module}: ${names.slice(0, 10).join(', ')}`, field('deviceNames'));
    }
    await tx.insert(otaTasks).values(rows.map((r) => ({ jobId, deviceId: r.id, status: 'QUEUED', srcVersion: r.version })));
    return rows.length;
  }

  /**
   * The whole product: every device whose version of the module is in srcVersions (any, when absent), skipping
   * devices already at the target version and devices busy with another upgrade of the module. One statement.
   */
  async function productTasks(tx: Tx, jobId: number, productKey: string, module: string, target: string, srcVersions: readonly string[] | null): Promise<number> {
    const rows = await query<{ id: string | number }>(
      tx,
      sql`insert into ${otaTasks} (job_id, device_id, status, src_version)
          select ${jobId}, d.id, 'QUEUED', v.version
          from ${devices} d left join ${deviceVersions} v on v.device_id = d.id and v.module = ${module}
          where d.product_key = ${productKey}
            and v.version is distinct from ${target}
            ${srcVersions ? sql`and v.version in (${list(srcVersions)})` : sql``}
            and not exists (
              select 1 from ${otaTasks} t join ${otaJobs} j on j.id = t.job_id join ${firmwares} f on f.id = j.firmware_id
              where t.device_id = d.id and t.status in ('QUEUED', 'NOTIFIED', 'IN_PROGRESS') and f.module = ${module})
          returning id`,
    );
    return rows.length;
  }

  async function visibleJob(p: Principal, id: number): Promise<OtaJobRecord | null> {
    if (!Number.isSafeInteger(id)) return null;
    const rows = await db.select().from(otaJobs).where(eq(otaJobs.id, id)).limit(1);
    return rows[0] && canSeeProduct(p, rows[0].productKey) ? toJobRecord(rows[0]) : null;
  }

  return {
    async create(p: Principal, input: CreateOtaJobInput): Promise<OtaJobRecord> {
      requireRole(p, 'OPERATOR');
      checkInput(input);
      const fw = await findFirmware(db, input.firmwareId);
      if (!fw || !canSeeProduct(p, fw.productKey)) throw new DomainError('FIRMWARE_NOT_FOUND', `firmware ${input.firmwareId} does not exist`, field('firmwareId'));
      const job = await log.transaction(async (tx, emit) => {
        await query(tx, sql`select pg_advisory_xact_lock(${JOB_CREATE_LOCK}, hashtext(${fw.productKey}))`);
        const [row] = await tx
          .insert(otaJobs)
          .values({ firmwareId: fw.id, productKey: fw.productKey, srcVersions: input.srcVersions ? [...input.srcVersions] : null, rolloutRate: input.rolloutRate ?? null, status: 'IN_PROGRESS' })
          .returning();
        const created = toJobRecord(row!);
        const n = input.deviceNames
          ? await namedTasks(tx, created.id, fw.productKey, fw.module, input)
          : await productTasks(tx, created.id, fw.productKey, fw.module, fw.version, input.srcVersions ?? null);
        if (n === 0) {
          throw new DomainError('NO_MATCHING_DEVICES', `no device of product ${fw.productKey} needs ${fw.module} ${fw.version} (filtered by srcVersions, already at it, or busy with another upgrade)`, field('firmwareId'));
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
        if (!job || !canSeeProduct(p, job.productKey)) throw new DomainError('JOB_NOT_FOUND', `OTA job ${id} does not exist`, field('id'));
        if (!ACTIVE_JOB.includes(job.status)) throw new DomainError('JOB_NOT_ACTIVE', `OTA job ${id} is already ${job.status}`, field('id'));
        const fw = (await findFirmware(tx, job.firmwareId))!;
        const rows = await query<{ id: string | number; src_version: string | null; iot_id: string | null; device_name: string | null; step: number | null }>(
          tx,
          sql`with done as (
                update ${otaTasks} set status = 'CANCELED', updated_at = now()
                where job_id = ${job.id} and status in ('QUEUED', 'NOTIFIED', 'IN_PROGRESS')
                returning id, device_id, src_version, step)
              select done.id, done.src_version, done.step, d.iot_id, d.device_name from done left join ${devices} d on d.id = done.device_id`,
        );
        await tx.update(otaJobs).set({ status: 'CANCELED' }).where(eq(otaJobs.id, job.id));
        const now = Date.now();
        for (const r of rows) {
          if (r.iot_id == null || r.device_name == null) continue;
          const device = { id: 0, iotId: r.iot_id, productKey: job.productKey, deviceName: r.device_name };
          emit(progressEvent(device, { taskId: Number(r.id), jobId: job.id, module: fw.module, srcVersion: r.src_version, destVersion: fw.version }, 'CANCELED', r.step, 'job canceled', now));
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
      const w = idWindow(args, otaJobs.id);
      const rows = await db
        .select()
        .from(otaJobs)
        .where(and(eq(otaJobs.productKey, productKey), filter.status ? eq(otaJobs.status, filter.status) : undefined, w.where))
        .orderBy(w.orderBy)
        .limit(w.page.limit + 1);
      const filters = and(eq(otaJobs.productKey, productKey), filter.status ? eq(otaJobs.status, filter.status) : undefined);
      return toConnection(rows.map(toJobRecord), w.page, (j) => j.id, () => db.$count(otaJobs, filters));
    },

    /** Tasks per status; the job was checked visible by the caller (it is a field of a visible job). */
    async counts(jobId: number): Promise<TaskCounts> {
      const rows = await query<{ status: string; n: string | number }>(db, sql`select status, count(*) as n from ${otaTasks} where job_id = ${jobId} group by status`);
      const by = new Map(rows.map((r) => [r.status, Number(r.n)]));
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
      const w = idWindow(args, otaTasks.id);
      const fw = (await findFirmware(db, job.firmwareId))!;
      const rows = await db
        .select({ task: otaTasks, device: devices })
        .from(otaTasks)
        .leftJoin(devices, eq(devices.id, otaTasks.deviceId))
        .where(and(eq(otaTasks.jobId, job.id), filter.status ? eq(otaTasks.status, filter.status) : undefined, w.where))
        .orderBy(w.orderBy)
        .limit(w.page.limit + 1);
      const views = rows.map(
        ({ task: t, device }): OtaTaskView => ({
          id: t.id,
          jobId: t.jobId,
          deviceId: t.deviceId,
          status: t.status as OtaTaskStatus,
          step: t.step,
          desc: t.description,
          srcVersion: t.srcVersion,
          destVersion: fw.version,
          module: fw.module,
          notifiedAt: t.notifiedAt,
          updatedAt: t.updatedAt,
          device: device ? toDeviceRecord(device) : null,
        }),
      );
      const filters = and(eq(otaTasks.jobId, job.id), filter.status ? eq(otaTasks.status, filter.status) : undefined);
      return toConnection(views, w.page, (t) => t.id, () => db.$count(otaTasks, filters));
    },

    /** The versions a device reported, per module (for `Device.firmwareVersions`). */
    async deviceVersions(deviceId: number): Promise<{ module: string; version: string; reportedAt: Date }[]> {
      return db.select({ module: deviceVersions.module, version: deviceVersions.version, reportedAt: deviceVersions.reportedAt }).from(deviceVersions).where(eq(deviceVersions.deviceId, deviceId)).orderBy(asc(deviceVersions.module));
    },
  };
}

export type JobService = ReturnType<typeof createJobService>;
