import { and, asc, desc, eq, gt, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { query, type Executor, type Tx } from '../../db/client.ts';
import { devices, firmwares, otaJobs, otaTasks } from '../../db/tables.ts';
import type { NewEvent } from '../../events/types.ts';
import { idKey, keysetPage, type KeysetPage, type PageArgs } from '../paging.ts';
import {
  ACTIVE_JOB,
  ACTIVE_TASK,
  jobStatusEvent,
  progressEvent,
  type OtaDevice,
  type OtaJobRecord,
  type OtaJobStatus,
  type OtaTaskStatus,
  type TaskContext,
} from './model.ts';

/**
 * Repository functions of jobs and tasks (architecture.md habit 6). Lock order everywhere: the job row first
 * (`lockJob`), then its tasks, so that concurrent transitions of one job (two devices finishing on two instances,
 * a cancel, the rollout) serialise and the last one sees the others when it decides the job is COMPLETED.
 */

/** A Relay page over rows ordered by an id column, forward (first/after) or backward (last/before). */
export function idWindow(args: PageArgs, column: AnyPgColumn): { page: KeysetPage; where: SQL | undefined; orderBy: SQL } {
  const page = keysetPage(args);
  const after = idKey(page.afterKey, 'after');
  const before = idKey(page.beforeKey, 'before');
  return {
    page,
    where: and(after != null ? gt(column, after) : undefined, before != null ? lt(column, before) : undefined),
    orderBy: page.direction === 'forward' ? asc(column) : desc(column),
  };
}

export const toJobRecord = (r: typeof otaJobs.$inferSelect): OtaJobRecord => ({
  id: r.id,
  firmwareId: r.firmwareId,
  productKey: r.productKey,
  srcVersions: r.srcVersions,
  rolloutRate: r.rolloutRate,
  status: r.status as OtaJobStatus,
  createdAt: r.createdAt,
});

export interface ActiveTask extends TaskContext {
  status: OtaTaskStatus;
}

/** The device's task for `module` in QUEUED, NOTIFIED or IN_PROGRESS (at most one: one active task per module). */
export async function activeTask(ex: Executor, deviceId: number, module: string): Promise<ActiveTask | null> {
  const rows = await ex
    .select({ taskId: otaTasks.id, jobId: otaTasks.jobId, status: otaTasks.status, srcVersion: otaTasks.srcVersion, module: firmwares.module, destVersion: firmwares.version })
    .from(otaTasks)
    .innerJoin(otaJobs, eq(otaJobs.id, otaTasks.jobId))
    .innerJoin(firmwares, eq(firmwares.id, otaJobs.firmwareId))
    .where(and(eq(otaTasks.deviceId, deviceId), inArray(otaTasks.status, [...ACTIVE_TASK]), eq(firmwares.module, module)))
    .orderBy(desc(otaTasks.id))
    .limit(1);
  return rows[0] ? { ...rows[0], status: rows[0].status as OtaTaskStatus } : null;
}

/** Lock the job row for the rest of the transaction. */
export async function lockJob(tx: Tx, jobId: number): Promise<OtaJobRecord | null> {
  const rows = await tx.select().from(otaJobs).where(eq(otaJobs.id, jobId)).for('update');
  return rows[0] ? toJobRecord(rows[0]) : null;
}

/** Move a task on, only while it is still active (a cancel or another transition may have ended it). */
export async function transition(tx: Tx, taskId: number, set: { status: OtaTaskStatus; step?: number | null; description?: string | null }): Promise<boolean> {
  const rows = await tx
    .update(otaTasks)
    .set({ ...set, updatedAt: new Date() })
    .where(and(eq(otaTasks.id, taskId), inArray(otaTasks.status, [...ACTIVE_TASK])))
    .returning({ id: otaTasks.id });
  return rows.length > 0;
}

/** After a task ended: the job is COMPLETED once none of its tasks is QUEUED, NOTIFIED or IN_PROGRESS. */
export async function completeJobIfDone(tx: Tx, job: Pick<OtaJobRecord, 'id' | 'productKey' | 'firmwareId'>): Promise<NewEvent[]> {
  const rows = await tx
    .update(otaJobs)
    .set({ status: 'COMPLETED' })
    .where(
      and(
        eq(otaJobs.id, job.id),
        inArray(otaJobs.status, [...ACTIVE_JOB]),
        sql`not exists (select 1 from ${otaTasks} where ${otaTasks.jobId} = ${job.id} and ${otaTasks.status} in ('QUEUED', 'NOTIFIED', 'IN_PROGRESS'))`,
      ),
    )
    .returning({ id: otaJobs.id });
  return rows.length > 0 ? [jobStatusEvent(job, 'COMPLETED', Date.now())] : [];
}

/** What an upgrade push needs of a claimed task. */
export interface PushTarget {
  taskId: number;
  jobId: number;
  firmwareId: number;
  device: OtaDevice;
}

/** Devices notified by the job in the last minute (the rollout rate is devices per minute, a sliding window). */
async function notifiedLastMinute(tx: Tx, jobId: number): Promise<number> {
  const rows = await query<{ n: string | number }>(
    tx,
    sql`select count(*) as n from ${otaTasks} where ${otaTasks.jobId} = ${jobId} and ${otaTasks.notifiedAt} > now() - interval '60 seconds'`,
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Claim QUEUED tasks of online devices for pushing (QUEUED -> NOTIFIED), within the job's rollout budget. A device
 * must have been online for `settleMs`: its automatic subscription to `/ota/device/upgrade/...` (D19) is made after
 * CONNACK, and a push before it would be lost (compared on the instances' clock, which wrote `last_online_at`). The job row must be locked (`lockJob`). Returns the claims and
 * their NOTIFIED events.
 */
export async function claimQueued(
  tx: Tx,
  job: OtaJobRecord,
  opts: { settleMs: number; maxBatch: number; deviceId?: number },
): Promise<{ targets: PushTarget[]; events: NewEvent[] }> {
  const budget = job.rolloutRate == null ? opts.maxBatch : Math.min(opts.maxBatch, job.rolloutRate - (await notifiedLastMinute(tx, job.id)));
  if (budget <= 0) return { targets: [], events: [] };
  const rows = await query<{ id: string | number; src_version: string | null; device_id: string | number; iot_id: string; device_name: string; module: string; version: string }>(
    tx,
    sql`select t.id, t.src_version, t.device_id, d.iot_id, d.device_name, f.module, f.version
        from ${otaTasks} t
        join ${devices} d on d.id = t.device_id
        join ${firmwares} f on f.id = ${job.firmwareId}
        where t.job_id = ${job.id} and t.status = 'QUEUED' and d.online and d.enabled
          and d.last_online_at <= ${new Date(Date.now() - opts.settleMs)}
          ${opts.deviceId != null ? sql`and t.device_id = ${opts.deviceId}` : sql``}
        order by t.id
        limit ${budget}
        for update of t skip locked`,
  );
  if (rows.length === 0) return { targets: [], events: [] };
  const ids = rows.map((r) => Number(r.id));
  await tx.update(otaTasks).set({ status: 'NOTIFIED', notifiedAt: sql`now()`, updatedAt: sql`now()` }).where(inArray(otaTasks.id, ids));
  const now = Date.now();
  const targets: PushTarget[] = [];
  const events: NewEvent[] = [];
  for (const r of rows) {
    const device: OtaDevice = { id: Number(r.device_id), iotId: r.iot_id, productKey: job.productKey, deviceName: r.device_name };
    targets.push({ taskId: Number(r.id), jobId: job.id, firmwareId: job.firmwareId, device });
    events.push(progressEvent(device, { taskId: Number(r.id), jobId: job.id, module: r.module, srcVersion: r.src_version, destVersion: r.version }, 'NOTIFIED', null, null, now));
  }
  return { targets, events };
}

/**
 * NOTIFIED tasks of a device that came online and has not been pushed to since: push again (the first push may have
 * been lost with the old connection). The compare-and-set on `notified_at < last_online_at` lets exactly one
 * instance win when every instance sees the same online event (`greatest` keeps it so when the database clock is
 * behind the instance that wrote `last_online_at`). Called `settleMs` after the online event (the caller waits).
 */
export async function reclaimNotified(ex: Executor, productKey: string, deviceName: string): Promise<PushTarget[]> {
  const rows = await query<{ id: string | number; job_id: string | number; firmware_id: string | number; device_id: string | number; iot_id: string }>(
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

/** Tasks whose device was deleted can never finish: cancel them (no device events: the device is gone). */
export async function cancelOrphans(tx: Tx): Promise<number[]> {
  const rows = await query<{ job_id: string | number }>(
    tx,
    sql`update ${otaTasks} t set status = 'CANCELED', description = 'device deleted', updated_at = now()
        where t.status in ('QUEUED', 'NOTIFIED', 'IN_PROGRESS') and not exists (select 1 from ${devices} d where d.id = t.device_id)
        returning t.job_id`,
  );
  return [...new Set(rows.map((r) => Number(r.job_id)))];
}
