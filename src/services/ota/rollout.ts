import type { Database } from '../../db/client.ts';
import { listActiveJobs, lockJob } from '../../db/repositories/ota.ts';
import { cancelOrphanTasks, hasReadyTask, reclaimNotified } from '../../db/repositories/ota-tasks.ts';
import type { EventHub } from '../../events/hub.ts';
import type { EventLog } from '../../events/log.ts';
import type { Logger } from '../../logger.ts';
import { ACTIVE_JOB } from './model.ts';
import type { Pusher } from './push.ts';
import { claimQueued, completeJob } from './transitions.ts';

export interface RolloutOptions {
  /** How often active jobs are looked at (ms). */
  intervalMs?: number;
  /** How long a device must have been online before it is pushed to (its automatic subscriptions, D19). */
  settleMs?: number;
  /** Most pushes per job per round when the job has no rollout rate. */
  maxBatch?: number;
}

/**
 * The rollout: pushes QUEUED tasks to online devices at each job's rate (devices per minute, a sliding window kept in
 * the database so several instances share one budget: the job row lock serialises their claims). Devices offline when
 * their job started are pushed when they come online (hub `device.status` events), within the same budget; a device
 * pushed before that went offline without reporting progress is pushed again on its next login.
 */
export function createRollout(
  deps: { database: Database; log: EventLog; hub: EventHub; logger: Logger; pusher: Pusher } & RolloutOptions,
) {
  const db = deps.database.db;
  const log = deps.logger.child({ module: 'ota-rollout' });
  let intervalMs = deps.intervalMs ?? 1000;
  let settleMs = deps.settleMs ?? 1000;
  let maxBatch = deps.maxBatch ?? 500;
  let timer: NodeJS.Timeout | null = null;
  const timeouts = new Set<NodeJS.Timeout>();
  let running: Promise<void> | null = null;
  let again = false;
  let sweepOrphans = true;
  /** Active jobs at the last round (any instance's): with none, logins cost nothing. Job creation kicks a round. */
  let activeJobs = 0;
  let stopped = true;
  let unsubscribe: (() => void) | null = null;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timeouts.delete(t);
      if (!stopped) fn();
    }, ms);
    t.unref();
    timeouts.add(t);
  };

  /** One job: claim within the budget (committed with the NOTIFIED events), then push. Returns how many. */
  async function rollJob(jobId: number): Promise<number> {
    const claimed = await deps.log.transaction(async (tx, emit) => {
      const job = await lockJob(tx, jobId);
      if (!job || !ACTIVE_JOB.includes(job.status)) return [];
      const { targets, events } = await claimQueued(tx, job, { settleMs, maxBatch });
      for (const e of events) emit(e);
      return targets;
    });
    await deps.pusher.send(claimed);
    return claimed.length;
  }

  async function round(): Promise<void> {
    if (sweepOrphans) {
      sweepOrphans = false;
      await deps.log.transaction(async (tx, emit) => {
        for (const jobId of await cancelOrphanTasks(tx)) {
          const job = await lockJob(tx, jobId);
          if (job) for (const e of await completeJob(tx, job)) emit(e);
        }
      });
    }
    const jobs = await listActiveJobs(db);
    activeJobs = jobs.length;
    for (const job of jobs) {
      // A cheap look before taking the job lock: most rounds of a long job find nobody to push to.
      if (!(await hasReadyTask(db, job.id, new Date(Date.now() - settleMs)))) continue;
      const n = await rollJob(job.id);
      if (n === maxBatch && job.rolloutRate == null) again = true;
    }
  }

  /** Run a round now (or right after the one in progress). */
  function kick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = round()
      .catch((err: unknown) => log.warn({ err }, 'OTA rollout round failed'))
      .finally(() => {
        running = null;
        if (again && !stopped) {
          again = false;
          kick();
        }
      });
  }

  async function online(productKey: string, deviceName: string): Promise<void> {
    const targets = await reclaimNotified(db, productKey, deviceName);
    await deps.pusher.send(targets);
    kick();
  }

  return {
    kick,
    /** Change the timing of a running rollout (tests shorten its clock); the next round uses it. */
    configure(o: RolloutOptions): void {
      if (o.settleMs != null) settleMs = o.settleMs;
      if (o.maxBatch != null) maxBatch = o.maxBatch;
      if (o.intervalMs != null && o.intervalMs !== intervalMs) {
        intervalMs = o.intervalMs;
        if (timer && !stopped) {
          clearInterval(timer);
          timer = setInterval(kick, intervalMs);
          timer.unref();
        }
      }
    },
    start(): void {
      if (!stopped) return;
      stopped = false;
      unsubscribe = deps.hub.on(['device.status', 'device.lifecycle'], (e) => {
        // Only a job that already pushed to the device can have left it NOTIFIED: with no active job, nothing to do.
        if (
          e.type === 'device.status' &&
          e.data.status === 'online' &&
          e.productKey &&
          e.deviceName &&
          activeJobs > 0
        ) {
          const { productKey, deviceName } = e;
          later(
            settleMs + 50,
            () =>
              void online(productKey, deviceName).catch((err: unknown) =>
                log.warn({ err, deviceName }, 'OTA push on login failed'),
              ),
          );
        } else if (e.type === 'device.lifecycle' && e.data.action === 'delete' && activeJobs > 0) {
          sweepOrphans = true;
          kick();
        }
      });
      timer = setInterval(kick, intervalMs);
      timer.unref();
      kick();
    },
    async stop(): Promise<void> {
      stopped = true;
      unsubscribe?.();
      if (timer) clearInterval(timer);
      timer = null;
      for (const t of timeouts) clearTimeout(t);
      timeouts.clear();
      await running;
    },
  };
}

export type Rollout = ReturnType<typeof createRollout>;
