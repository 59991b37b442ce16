import { ALINK } from '../../domain/alink/codes.ts';
import { decodeRequest } from '../../domain/alink/envelope.ts';
import type { Logger } from '../../logger.ts';
import { alinkReply } from '../ingest/reply.ts';
import type { UplinkHandler } from '../ingest/types.ts';
import { DEFAULT_MODULE } from './model.ts';
import type { Pusher } from './push.ts';
import { lockJob } from '../../db/repositories/ota.ts';
import { findActiveTask } from '../../db/repositories/ota-tasks.ts';
import type { PushTarget } from '../../db/ota-records.ts';
import { claimQueued } from './transitions.ts';

export const FIRMWARE_GET_METHOD = 'thing.ota.firmware.get';

/**
 * D23: the upstream OTA pull of the Python and C Link SDKs, `thing/ota/firmware/get` (uplink kind `otaFirmwareGet`),
 * answered on `get_reply` with code 200 and, when an upgrade task waits for the device (module `default` or the one
 * asked), the `data` an upgrade push carries (§3.9: size, version, url, md5, sign, signMethod, module); with none,
 * `data: {}`. Real SDKs send a numeric `id` and no `method` (Python Link SDK 1.2.13: `{"id": 7, "params": {"module":
 * "MCU"}}`), so neither is required; the id is echoed as sent.
 *
 * A waiting task is treated like `/ota/device/request` (handlers.ts): QUEUED is claimed now (NOTIFIED) if the job's
 * rollout budget allows, NOTIFIED or IN_PROGRESS is answered again; a task still queued behind the budget answers `{}`
 * and comes as a push in its turn. The read and the claim run inside the message's commit (`inTx`); the package data
 * is read after it (`committed`: the firmware row and a fresh message id are outside the claim).
 */
export function createFirmwareGet(deps: { pusher: Pusher; logger: Logger }): UplinkHandler<'otaFirmwareGet'> {
  return (device, request) => {
    const decoded = decodeRequest(request.payload);
    if (!decoded.ok) {
      const e = decoded.error;
      return {
        replies: alinkReply(request, e, { code: ALINK.PARAM_ERROR, message: e.message, method: FIRMWARE_GET_METHOD }),
      };
    }
    const req = decoded.value;
    const answer = (code: number, data: unknown, message?: string) =>
      alinkReply(request, req, { code, data, message, method: FIRMWARE_GET_METHOD });
    const params = req.params ?? {};
    if (typeof params !== 'object' || Array.isArray(params))
      return { replies: answer(ALINK.PARAM_ERROR, {}, 'params must be an object') };
    const asked = (params as { module?: unknown }).module;
    if (asked != null && asked !== '' && (typeof asked !== 'string' || asked.length > 64 || asked.includes('\u0000'))) {
      return { replies: answer(ALINK.PARAM_ERROR, {}, 'params.module must be a string of at most 64 characters') };
    }
    const module = typeof asked === 'string' && asked !== '' ? asked : DEFAULT_MODULE;

    let target: PushTarget | undefined;
    return {
      inTx: async (tx) => {
        target = undefined; // may run again when a grouped transaction is retried item by item: start clean
        const task = await findActiveTask(tx, device.id, module);
        const job = task && (await lockJob(tx, task.jobId));
        if (!task || !job) return;
        if (task.status !== 'QUEUED') {
          target = { taskId: task.taskId, jobId: job.id, firmwareId: job.firmwareId, device };
          return;
        }
        // The device is talking to us: it is subscribed (D22), so no settling time is needed.
        const claimed = await claimQueued(tx, job, { settleMs: 0, maxBatch: 1, deviceId: device.id });
        target = claimed.targets[0];
        return { events: claimed.events };
      },
      committed: async () => {
        if (!target) return answer(ALINK.SUCCESS, {});
        try {
          const push = await deps.pusher.message(target);
          const body = JSON.parse(
            (typeof push.payload === 'function' ? push.payload() : push.payload).toString('utf8'),
          ) as { data?: unknown };
          return answer(ALINK.SUCCESS, body.data ?? {});
        } catch (err) {
          // The claim is committed: the device gets the package on its next pull, push or login.
          deps.logger.warn(
            { err, deviceName: device.deviceName },
            'could not build the package data for a firmware pull',
          );
          return answer(ALINK.UNKNOWN_ERROR, {}, 'the package could not be read; try again');
        }
      },
    };
  };
}
