/** Validation of `thing.event.${eventId}.post` params (alink-protocol.md §3.6, D9, D10). */
import { parseTime, type MessageFailure } from './property-post.ts';
import { isPlainObject, putOwn } from './shared.ts';
import type { ThingModel, ValidationMode } from './types.ts';
import { tslMessage, TslCode, validateValue } from './value-check.ts';

export type EventPostResult =
  | {
      ok: true;
      /** the outputData values kept (in WEAK, invalid ones removed) */
      value: Record<string, unknown>;
      time: number;
      /** members dropped in WEAK mode, with their code and message */
      failed: Record<string, { value: unknown; code: number; message: string }>;
    }
  | MessageFailure;

const paramError = (what: string): MessageFailure => ({
  ok: false,
  code: TslCode.PARAM_ERROR,
  message: `request parameter error: ${what}`,
});

/**
 * params = `{"value": {...outputData}, "time"?: ms}` (§3.6). An absent `value` counts as `{}` (an event may carry
 * no data); a non-object `value` is 460 in every mode. The Node Link SDK's documented call
 * `device.postEvent('lowpower', {power: 10})` sends the output data itself as params, without `value`: params with
 * any key besides `value` and `time` are that flat form, stamped with the receive time (ThingQL accepts what real
 * devices send, §9). The event itself must exist (6304) except in NONE. A present
 * but invalid `time` refuses the event with 460 in WEAK and STRICT (an event has one time, nothing is left to keep
 * without it) and falls back to `receivedAt` in NONE. Missing outputData members are allowed: the reference does
 * not require them.
 */
export function validateEventPost(
  model: ThingModel,
  eventId: string,
  params: unknown,
  mode: ValidationMode,
  receivedAt: number,
): EventPostResult {
  if (!isPlainObject(params)) return paramError('params must be a JSON object');
  const long = Object.keys(params).every((k) => k === 'value' || k === 'time');
  const rawValue = !long ? params : params.value === undefined ? {} : params.value;
  // A non-object `value` is an envelope error, not a TSL check, so it is refused in every mode (D10: 460).
  if (!isPlainObject(rawValue)) return paramError('params.value must be a JSON object');
  const time = !long || params.time === undefined ? receivedAt : parseTime(params.time);
  if (mode === 'NONE') return { ok: true, value: { ...rawValue }, time: time ?? receivedAt, failed: {} };
  const event = model.events.get(eventId);
  if (event === undefined) {
    return { ok: false, code: TslCode.NOT_IN_TSL, message: tslMessage('event not exist', eventId) };
  }
  if (time === undefined) return paramError('time is invalid');

  const value: Record<string, unknown> = {};
  const failed: Record<string, { value: unknown; code: number; message: string }> = {};
  for (const [id, v] of Object.entries(rawValue)) {
    const param = event.outputData.get(id);
    const r = param
      ? validateValue(param.dataType, v, id)
      : { ok: false as const, code: TslCode.NOT_IN_TSL, message: tslMessage('params not exist', id) };
    if (r.ok) putOwn(value, id, v);
    else if (mode === 'STRICT') return { ok: false, code: r.code, message: r.message };
    else putOwn(failed, id, { value: v, code: r.code, message: r.message });
  }
  return { ok: true, value, time, failed };
}
