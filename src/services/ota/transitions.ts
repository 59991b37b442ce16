import type { Tx } from '../../db/client.ts';
import { completeJobIfDone } from '../../db/repositories/ota.ts';
import { claimQueuedTasks, countNotifiedLastMinute, type ClaimedTask } from '../../db/repositories/ota-tasks.ts';
import type { NewEvent } from '../../events/types.ts';
import { jobStatusEvent, progressEvent, type OtaJobRecord } from './model.ts';
import type { PushTarget } from '../../db/ota-records.ts';

/**
 * Task transitions that emit events, shared by the device handlers, firmware pulls and the rollout. The job row must
 * be locked (`lockJob`) first.
 */

/**
 * Claim QUEUED tasks of online devices for pushing (QUEUED -> NOTIFIED), within the job's rollout budget. A device
 * must have been online for `settleMs`: its automatic subscription to `/ota/device/upgrade/...` (D19) is made after
 * CONNACK, and a push before it would be lost (compared on the instances' clock, which wrote `last_online_at`).
 * Returns the claims and their NOTIFIED events.
 */
export async function claimQueued(
  tx: Tx,
  job: OtaJobRecord,
  opts: { settleMs: number; maxBatch: number; deviceId?: number },
): Promise<{ targets: PushTarget[]; events: NewEvent[] }> {
  const budget =
    job.rolloutRate == null
      ? opts.maxBatch
      : Math.min(opts.maxBatch, job.rolloutRate - (await countNotifiedLastMinute(tx, job.id)));
  if (budget <= 0) return { targets: [], events: [] };
  const claimed = await claimQueuedTasks(tx, job, {
    limit: budget,
    onlineBefore: new Date(Date.now() - opts.settleMs),
    ...(opts.deviceId != null ? { deviceId: opts.deviceId } : {}),
  });
  const now = Date.now();
  return {
    targets: claimed.map(({ task: _task, ...target }: ClaimedTask) => target),
    events: claimed.map((c) => progressEvent(c.device, c.task, 'NOTIFIED', null, null, now)),
  };
}

/** After a task ended: the job is COMPLETED once none of its tasks is QUEUED, NOTIFIED or IN_PROGRESS. */
export async function completeJob(
  tx: Tx,
  job: Pick<OtaJobRecord, 'id' | 'productKey' | 'firmwareId'>,
): Promise<NewEvent[]> {
  return (await completeJobIfDone(tx, job.id)) ? [jobStatusEvent(job, 'COMPLETED', Date.now())] : [];
}
