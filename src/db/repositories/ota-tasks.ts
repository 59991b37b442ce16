import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { query, type Executor, type Tx } from '../client.ts';
import { idWindowClauses, type IdWindow } from '../id-window.ts';
import {
  ACTIVE_TASK,
  type ActiveTask,
  type OtaDevice,
  type OtaJobRecord,
  type OtaTaskStatus,
  type PushTarget,
  type TaskContext,
} from '../ota-records.ts';
import type { DeviceRecord } from '../records.ts';
import { devices, deviceVersions, firmwares, otaJobs, otaTasks } from '../tables.ts';
import { toDeviceRecord } from './devices.ts';

/** Per-device upgrade tasks of OTA jobs. Lock the job row (ota.ts `lockJob`) before changing its tasks. */

const list = (xs: readonly (string | number)[]) =>
  sql.join(
    xs.map((x) => sql`${x}`),
    sql`, `,
  );

/** The device's task for `module` in QUEUED, NOTIFIED or IN_PROGRESS (at most one: one active task per module). */
export async function findActiveTask(ex: Executor, deviceId: number, module: string): Promise<ActiveTask | null> {
  const rows = await ex
    .select({
      taskId: otaTasks.id,
      jobId: otaTasks.jobId,
      status: otaTasks.status,
      srcVersion: otaTasks.srcVersion,
      module: firmwares.module,
      destVersion: firmwares.version,
    })
    .from(otaTasks)
    .innerJoin(otaJobs, eq(otaJobs.id, otaTasks.jobId))
    .innerJoin(firmwares, eq(firmwares.id, otaJobs.firmwareId))
    .where(
      and(eq(otaTasks.deviceId, deviceId), inArray(otaTasks.status, [...ACTIVE_TASK]), eq(firmwares.module, module)),
    )
    .orderBy(desc(otaTasks.id))
    .limit(1);
  return rows[0] ? { ...rows[0], status: rows[0].status as OtaTaskStatus } : null;
}

/** Move a task on, only while it is still active (a cancel or another transition may have ended it). */
export async function transitionTask(
  tx: Tx,
  taskId: number,
  set: { status: OtaTaskStatus; step?: number | null; description?: string | null },
): Promise<boolean> {
  const rows = await tx
    .update(otaTasks)
    .set({ ...set, updatedAt: new Date() })
    .where(and(eq(otaTasks.id, taskId), inArray(otaTasks.status, [...ACTIVE_TASK])))
    .returning({ id: otaTasks.id });
  return rows.length > 0;
}

/** Devices notified by the job in the last minute (the rollout rate is devices per minute, a sliding window). */
export async function countNotifiedLastMinute(tx: Tx, jobId: number): Promise<number> {
  const rows = await query<{ n: string | number }>(
    tx,
    sql`select count(*) as n from ${otaTasks} where ${otaTasks.jobId} = ${jobId} and ${otaTasks.notifiedAt} > now() - interval '60 seconds'`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** A claimed task: its push target and what its NOTIFIED event tells. */
export type ClaimedTask = PushTarget & { task: TaskContext };

/**
 * Claim up to `limit` QUEUED tasks of the job whose devices are online and enabled and have been online since before
 * `onlineBefore` (QUEUED -> NOTIFIED), skipping tasks another transaction holds. The job row must be locked.
 */
export async function claimQueuedTasks(
  tx: Tx,
  job: OtaJobRecord,
  opts: { limit: number; onlineBefore: Date; deviceId?: number },
): Promise<ClaimedTask[]> {
  const rows = await query<{
    id: string | number;
    src_version: string | null;
    device_id: string | number;
    iot_id: string;
    device_name: string;
    module: string;
    version: string;
  }>(
    tx,
    sql`select t.id, t.src_version, t.device_id, d.iot_id, d.device_name, f.module, f.version
        from ${otaTasks} t
        join ${devices} d on d.id = t.device_id
        join ${firmwares} f on f.id = ${job.firmwareId}
        where t.job_id = ${job.id} and t.status = 'QUEUED' and d.online and d.enabled
          and d.last_online_at <= ${opts.onlineBefore}
          ${opts.deviceId != null ? sql`and t.device_id = ${opts.deviceId}` : sql``}
        order by t.id
        limit ${opts.limit}
        for update of t skip locked`,
  );
  if (rows.length === 0) return [];
  await tx
    .update(otaTasks)
    .set({ status: 'NOTIFIED', notifiedAt: sql`now()`, updatedAt: sql`now()` })
    .where(
      inArray(
        otaTasks.id,
        rows.map((r) => Number(r.id)),
      ),
    );
  return rows.map((r) => {
    const device: OtaDevice = {
      id: Number(r.device_id),
      iotId: r.iot_id,
      productKey: job.productKey,
      deviceName: r.device_name,
    };
    const taskId = Number(r.id);
    return {
      taskId,
      jobId: job.id,
      firmwareId: job.firmwareId,
      device,
      task: { taskId, jobId: job.id, module: r.module, srcVersion: r.src_version, destVersion: r.version },
    };
  });
}

/** Whether the job has a QUEUED task of a device online (and enabled) since before `onlineBefore`. */
export async function hasReadyTask(ex: Executor, jobId: number, onlineBefore: Date): Promise<boolean> {
  const rows = await query(
    ex,
    sql`select 1 from ${otaTasks} t join ${devices} d on d.id = t.device_id
        where t.job_id = ${jobId} and t.status = 'QUEUED' and d.online and d.enabled
          and d.last_online_at <= ${onlineBefore} limit 1`,
  );
  return rows.length > 0;
}

/**
 * NOTIFIED tasks of a device that came online and has not been pushed to since: push again (the first push may have
 * been lost with the old connection). The compare-and-set on `notified_at < last_online_at` lets exactly one
 * instance win when every instance sees the same online event (`greatest` keeps it so when the database clock is
 * behind the instance that wrote `last_online_at`).
 */
export async function reclaimNotified(ex: Executor, productKey: string, deviceName: string): Promise<PushTarget[]> {
  const rows = await query<{
    id: string | number;
    job_id: string | number;
    firmware_id: string | number;
    device_id: string | number;
    iot_id: string;
  }>(
    ex,
    sql`update ${otaTasks} t set notified_at = greatest(now(), d.last_online_at), updated_at = now()
        from ${devices} d, ${otaJobs} j
        where d.id = t.device_id and j.id = t.job_id and d.product_key = ${productKey} and d.device_name = ${deviceName}
          and t.status = 'NOTIFIED' and d.online and d.enabled and j.status in ('PLANNED', 'IN_PROGRESS')
          and (t.notified_at is null or t.notified_at < d.last_online_at)
        returning t.id, t.job_id, j.firmware_id, t.device_id, d.iot_id`,
  );
  return rows.map((r) => ({
    taskId: Number(r.id),
    jobId: Number(r.job_id),
    firmwareId: Number(r.firmware_id),
    device: { id: Number(r.device_id), iotId: r.iot_id, productKey, deviceName },
  }));
}

/** Cancel the active tasks whose device was deleted (they can never finish); the ids of their jobs. */
export async function cancelOrphanTasks(tx: Tx): Promise<number[]> {
  const rows = await query<{ job_id: string | number }>(
    tx,
    sql`update ${otaTasks} t set status = 'CANCELED', description = 'device deleted', updated_at = now()
        where t.status in ('QUEUED', 'NOTIFIED', 'IN_PROGRESS') and not exists (select 1 from ${devices} d where d.id = t.device_id)
        returning t.job_id`,
  );
  return [...new Set(rows.map((r) => Number(r.job_id)))];
}

/** Cancel the job's active tasks; each with its device (null parts once the device was deleted). */
export function cancelJobTasks(
  tx: Tx,
  jobId: number,
): Promise<
  {
    id: string | number;
    src_version: string | null;
    iot_id: string | null;
    device_name: string | null;
    step: number | null;
  }[]
> {
  return query(
    tx,
    sql`with done as (
          update ${otaTasks} set status = 'CANCELED', updated_at = now()
          where job_id = ${jobId} and status in ('QUEUED', 'NOTIFIED', 'IN_PROGRESS')
          returning id, device_id, src_version, step)
        select done.id, done.src_version, done.step, d.iot_id, d.device_name from done left join ${devices} d on d.id = done.device_id`,
  );
}

/** The named devices of a product with their reported version of `module` (null: never reported). */
export function findDevicesWithVersion(
  tx: Executor,
  productKey: string,
  names: readonly string[],
  module: string,
): Promise<{ id: number; deviceName: string; version: string | null }[]> {
  return tx
    .select({ id: devices.id, deviceName: devices.deviceName, version: deviceVersions.version })
    .from(devices)
    .leftJoin(deviceVersions, and(eq(deviceVersions.deviceId, devices.id), eq(deviceVersions.module, module)))
    .where(and(eq(devices.productKey, productKey), inArray(devices.deviceName, [...names])));
}

/** Devices (of the given ids) already in an active task for `module`. */
export async function findBusyDevices(tx: Executor, ids: readonly number[], module: string): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await query<{ device_id: string | number }>(
    tx,
    sql`select t.device_id from ${otaTasks} t join ${otaJobs} j on j.id = t.job_id join ${firmwares} f on f.id = j.firmware_id
        where t.status in ('QUEUED', 'NOTIFIED', 'IN_PROGRESS') and f.module = ${module} and t.device_id in (${list(ids)})`,
  );
  return new Set(rows.map((r) => Number(r.device_id)));
}

/** QUEUED tasks of the job for the given devices. */
export async function insertQueuedTasks(
  tx: Tx,
  jobId: number,
  targets: readonly { id: number; version: string | null }[],
): Promise<void> {
  await tx
    .insert(otaTasks)
    .values(targets.map((r) => ({ jobId, deviceId: r.id, status: 'QUEUED', srcVersion: r.version })));
}

/**
 * QUEUED tasks for every device of the product whose version of the module is in srcVersions (any, when null),
 * skipping devices already at `target` and devices busy with another upgrade of the module. One statement; how many.
 */
export async function insertProductTasks(
  tx: Tx,
  t: { jobId: number; productKey: string; module: string; target: string; srcVersions: readonly string[] | null },
): Promise<number> {
  const rows = await query<{ id: string | number }>(
    tx,
    sql`insert into ${otaTasks} (job_id, device_id, status, src_version)
        select ${t.jobId}, d.id, 'QUEUED', v.version
        from ${devices} d left join ${deviceVersions} v on v.device_id = d.id and v.module = ${t.module}
        where d.product_key = ${t.productKey}
          and v.version is distinct from ${t.target}
          ${t.srcVersions ? sql`and v.version in (${list(t.srcVersions)})` : sql``}
          and not exists (
            select 1 from ${otaTasks} t join ${otaJobs} j on j.id = t.job_id join ${firmwares} f on f.id = j.firmware_id
            where t.device_id = d.id and t.status in ('QUEUED', 'NOTIFIED', 'IN_PROGRESS') and f.module = ${t.module})
        returning id`,
  );
  return rows.length;
}

/** How many of the job's tasks are in each status. */
export async function countTasksByStatus(ex: Executor, jobId: number): Promise<Map<string, number>> {
  const rows = await query<{ status: string; n: string | number }>(
    ex,
    sql`select status, count(*) as n from ${otaTasks} where job_id = ${jobId} group by status`,
  );
  return new Map(rows.map((r) => [r.status, Number(r.n)]));
}

export interface TaskRow {
  id: number;
  jobId: number;
  deviceId: number;
  status: OtaTaskStatus;
  step: number | null;
  description: string | null;
  srcVersion: string | null;
  notifiedAt: Date | null;
  updatedAt: Date;
  /** null once the device was deleted. */
  device: DeviceRecord | null;
}

const taskFilter = (jobId: number, status: OtaTaskStatus | null) =>
  and(eq(otaTasks.jobId, jobId), status ? eq(otaTasks.status, status) : undefined);

/** A page of the job's tasks (of one status, when given) with their devices. */
export async function pageTasks(
  ex: Executor,
  jobId: number,
  status: OtaTaskStatus | null,
  w: IdWindow,
): Promise<TaskRow[]> {
  const c = idWindowClauses(otaTasks.id, w);
  const rows = await ex
    .select({ task: otaTasks, device: devices })
    .from(otaTasks)
    .leftJoin(devices, eq(devices.id, otaTasks.deviceId))
    .where(and(taskFilter(jobId, status), c.where))
    .orderBy(c.orderBy)
    .limit(w.limit);
  return rows.map(({ task: t, device }) => ({
    id: t.id,
    jobId: t.jobId,
    deviceId: t.deviceId,
    status: t.status as OtaTaskStatus,
    step: t.step,
    description: t.description,
    srcVersion: t.srcVersion,
    notifiedAt: t.notifiedAt,
    updatedAt: t.updatedAt,
    device: device ? toDeviceRecord(device) : null,
  }));
}

export function countTasks(ex: Executor, jobId: number, status: OtaTaskStatus | null): Promise<number> {
  return ex.$count(otaTasks, taskFilter(jobId, status));
}
