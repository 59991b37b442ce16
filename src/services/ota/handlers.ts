import { ALINK } from '../../domain/alink/codes.ts';
import { parseBoundedJson } from '../../domain/alink/json-limits.ts';
import { extErrorTopic, parseTopic } from '../../domain/alink/topics.ts';
import { lockJob, upsertDeviceVersion } from '../../db/repositories/ota.ts';
import { findActiveTask, transitionTask } from '../../db/repositories/ota-tasks.ts';
import type { PushTarget } from '../../db/ota-records.ts';
import type { Logger } from '../../logger.ts';
import type { NewEvent } from '../../events/types.ts';
import type { Handled, Outbound, UplinkHandler, UplinkRequest } from '../ingest/types.ts';
import type { DeviceIdentity } from '../presence.ts';
import { containsNul } from '../ingest/decode.ts';
import { createFirmwareGet } from './firmware-get.ts';
import { DEFAULT_MODULE, FAILURE_STEPS, parseStep, progressEvent, upgradeEvent, versionEvent } from './model.ts';
import type { Pusher } from './push.ts';
import { claimQueued, completeJob } from './transitions.ts';

export type OtaRoute = 'inform' | 'progress' | 'request';

/** Which upstream OTA topic this is (alink-protocol.md §2.4); `upgrade` is downstream only. */
export function otaRoute(topic: string): OtaRoute | null {
  const t = parseTopic(topic);
  return t.kind === 'ota' && t.action !== 'upgrade' ? t.action : null;
}

/**
 * The reference documents no device-facing code for "no upgrade task" and no reply topic for the OTA uplinks, so a
 * report ThingQL cannot act on is answered on `/ext/error/${pk}/${dn}` (§2.4) in the Alink reply-like shape of §3.9
 * with 460, the code §3.10 gives a request whose parameters are unusable. The device must subscribe to that topic
 * (D7 allows it; it is not among D19's automatic subscriptions).
 */
export const NO_TASK_CODE = ALINK.PARAM_ERROR;

interface OtaRequest {
  id: string | number | null;
  params: Record<string, unknown>;
}

function decode(payload: Buffer): OtaRequest | null {
  // Bounded like every device JSON (domain/alink/json-limits.ts).
  const parsed = parseBoundedJson(payload.toString('utf8'));
  if (!parsed.ok) return null;
  const body = parsed.value;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const b = body as Record<string, unknown>;
  const id = typeof b.id === 'string' || typeof b.id === 'number' ? b.id : null;
  const params =
    typeof b.params === 'object' && b.params !== null && !Array.isArray(b.params)
      ? (b.params as Record<string, unknown>)
      : null;
  if (!params || containsNul(b)) return { id, params: {} };
  return { id, params };
}

const text = (v: unknown, max: number): string | null =>
  typeof v === 'string' && v.length > 0 && [...v].length <= max ? v : null;

/** `module` absent means the default module (§3.9). */
const moduleOf = (params: Record<string, unknown>): string | null =>
  params.module == null || params.module === '' ? DEFAULT_MODULE : text(params.module, 64);

function errorNotice(device: DeviceIdentity, msg: UplinkRequest, id: OtaRequest['id'], message: string): Outbound {
  return {
    topic: extErrorTopic(device.productKey, device.deviceName),
    qos: msg.qos >= 1 ? 1 : 0,
    payload: Buffer.from(
      JSON.stringify({
        id,
        code: NO_TASK_CODE,
        message,
        data: { productKey: device.productKey, deviceName: device.deviceName },
      }),
    ),
  };
}

/**
 * The three OTA uplinks as ingest handlers. Each reads and changes task state inside the message's own commit
 * (`inTx`), so the next message of the same device (the broker hands them over one after the other) sees this one's
 * outcome: a state machine cannot act on a stale read. Their events are in the log before the message's own
 * `device.message` event; what to answer is decided after the commit (`committed`).
 */
export function createOtaHandlers(deps: { pusher: Pusher; logger: Logger; onChange: () => void }) {
  const none = (replies: Outbound[] = []): Handled => ({ replies });
  /** A request whose parameters are wrong: only the error notice, nothing recorded. */
  const invalid = (device: DeviceIdentity, msg: UplinkRequest, req: OtaRequest | null, message: string): Handled =>
    none([errorNotice(device, msg, req?.id ?? null, message)]);

  /** `/ota/device/inform`: the device's version of a module; the version of an upgrade's target completes it. */
  const inform: UplinkHandler<'otaInform'> = (device, request) => {
    const req = decode(request.payload);
    const version = req ? text(req.params.version, 64) : null;
    const module = req ? moduleOf(req.params) : null;
    if (!req || version === null || module === null) {
      return invalid(
        device,
        request,
        req,
        'request parameter error: params.version (and params.module, if given) must be non-empty strings of at most 64 characters',
      );
    }
    const { receivedAt } = request;
    const at = receivedAt.getTime();
    let ended = false;
    return {
      inTx: async (tx) => {
        ended = false; // a grouped transaction that failed is retried item by item: start clean
        await upsertDeviceVersion(tx, { deviceId: device.id, module, version, reportedAt: receivedAt });
        const events: NewEvent[] = [versionEvent(device, module, version, at)];
        const task = await findActiveTask(tx, device.id, module);
        if (task && task.destVersion === version) {
          const job = await lockJob(tx, task.jobId);
          if (job && (await transitionTask(tx, task.taskId, { status: 'SUCCEEDED', step: 100, description: null }))) {
            events.push(upgradeEvent(device, task, 'SUCCEEDED', null, at), ...(await completeJob(tx, job)));
            ended = true;
          }
        }
        return { events };
      },
      committed: () => {
        if (ended) deps.onChange();
      },
    };
  };

  /** `/ota/device/progress`: steps 0..100 keep the task IN_PROGRESS; -1..-4 fail it. Without a task: 460, no change. */
  const progress: UplinkHandler<'otaProgress'> = (device, request) => {
    const req = decode(request.payload);
    const step = req ? parseStep(req.params.step) : null;
    const module = req ? moduleOf(req.params) : null;
    if (!req || step === null || module === null) {
      return invalid(
        device,
        request,
        req,
        'request parameter error: params.step must be -4..100 (as a string or number)',
      );
    }
    const raw = req.params.desc;
    const given =
      raw == null || raw === '' ? null : (typeof raw === 'string' ? raw : JSON.stringify(raw)).slice(0, 1024);
    const failed = step < 0;
    const desc = given ?? (failed ? (FAILURE_STEPS[step] ?? null) : null);
    const at = request.receivedAt.getTime();
    let found = false;
    return {
      inTx: async (tx) => {
        found = false; // retried item by item after a failed grouped transaction: start clean
        const task = await findActiveTask(tx, device.id, module);
        if (!task) return;
        const job = await lockJob(tx, task.jobId);
        if (
          !job ||
          !(await transitionTask(tx, task.taskId, {
            status: failed ? 'FAILED' : 'IN_PROGRESS',
            step,
            description: desc,
          }))
        )
          return;
        found = true;
        const events = [progressEvent(device, task, failed ? 'FAILED' : 'IN_PROGRESS', step, desc, at)];
        if (failed) events.push(upgradeEvent(device, task, 'FAILED', desc, at), ...(await completeJob(tx, job)));
        return { events };
      },
      committed: () => {
        if (!found) return [errorNotice(device, request, req.id, 'no upgrade task for this device')];
        if (failed) deps.onChange();
        return [];
      },
    };
  };

  /**
   * `/ota/device/request`: the device asks for its pending upgrade. NOTIFIED or IN_PROGRESS: pushed again. QUEUED:
   * pushed now if the job's rollout budget allows, otherwise it stays queued and the rollout pushes it in turn.
   * Nothing pending: no answer (the reference documents none).
   */
  const request: UplinkHandler<'otaRequest'> = (device, uplink) => {
    const req = decode(uplink.payload);
    const module = req ? moduleOf(req.params) : DEFAULT_MODULE;
    if (!req || module === null)
      return invalid(device, uplink, req, 'request parameter error: params.module must be a non-empty string');
    const targets: PushTarget[] = [];
    return {
      inTx: async (tx) => {
        targets.length = 0; // retried item by item after a failed grouped transaction: start clean
        const task = await findActiveTask(tx, device.id, module);
        if (!task) return;
        const job = await lockJob(tx, task.jobId);
        if (!job) return;
        if (task.status !== 'QUEUED') {
          targets.push({ taskId: task.taskId, jobId: job.id, firmwareId: job.firmwareId, device });
          return;
        }
        // The device is talking to us: it is subscribed, so no settling time is needed.
        const claimed = await claimQueued(tx, job, { settleMs: 0, maxBatch: 1, deviceId: device.id });
        targets.push(...claimed.targets);
        return { events: claimed.events };
      },
      committed: async () => {
        try {
          return await Promise.all(targets.map((t) => deps.pusher.message(t)));
        } catch (err) {
          // The claim is committed (NOTIFIED): the device gets the push on its next request or login. Failing here
          // would disconnect it for nothing.
          deps.logger.warn(
            { err, deviceName: device.deviceName },
            'could not build the upgrade push for a firmware request',
          );
          return [];
        }
      },
    };
  };

  return { inform, progress, request, firmwareGet: createFirmwareGet(deps) };
}

export type OtaHandlers = ReturnType<typeof createOtaHandlers>;
