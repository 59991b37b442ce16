/**
 * Validation of `thing.event.property.post` params against the thing model (alink-protocol.md §3.3, D9, D10).
 * Pure: the caller stores `items`, replies with `failed` as `{identifier: message}` and forwards `failed` as
 * `checkFailedData` (§6.4).
 */
import { isPlainObject, putOwn, TSL_LIMITS } from './shared.ts';
import type { ThingModel, ValidationMode } from './types.ts';
import { tslMessage, TslCode, validateValue } from './value-check.ts';

export interface PostedItem {
  value: unknown;
  time: number;
}

export interface FailedItem extends PostedItem {
  code: number;
  message: string;
}

/** A message-level failure: the whole message is refused with this Alink code (D9, D10). */
export interface MessageFailure {
  ok: false;
  code: number;
  message: string;
}

export type PropertyPostResult =
  | { ok: true; items: Record<string, PostedItem>; failed: Record<string, FailedItem> }
  | MessageFailure;

/**
 * `time` is ms since the epoch as a JSON number or a string of digits. Returns undefined when it is present but
 * not such a value, or too large for a Date. The "≤ 24 h in the future" rule is UNCONFIRMED (§3.3) and not enforced.
 */
export function parseTime(t: unknown): number | undefined {
  const ms =
    typeof t === 'number' && Number.isFinite(t) && t >= 0
      ? Math.trunc(t)
      : typeof t === 'string' && /^\d{1,16}$/.test(t)
        ? Number(t)
        : undefined;
  // Beyond the largest JavaScript Date (year 275760) the time cannot be stored: `new Date(ms)` is invalid and the
  // commit would fail on every resend of the message.
  return ms !== undefined && ms <= MAX_TIME ? ms : undefined;
}

/** ECMA-262 §21.4.1.1: the largest time value a Date can hold, in ms since the epoch. */
export const MAX_TIME = 8.64e15;

/**
 * Tells the two params forms of §3.3 apart: `{"Id": {"value": v, "time": ms}}` (long) and `{"Id": v}` (short).
 * Long form = an object with a `value` key and no keys besides `value` and `time`. A struct value is an object
 * too: when the struct itself has a member `value`, the object is taken as long form only if its `value` is an
 * object (a struct value must be one), so `{"value": 3}` stays a short-form struct.
 */
function splitItem(raw: unknown, structHasValueMember: boolean): { value: unknown; time: unknown; long: boolean } {
  if (isPlainObject(raw) && Object.hasOwn(raw, 'value')) {
    const keys = Object.keys(raw);
    const onlyValueTime = keys.every((k) => k === 'value' || k === 'time');
    if (onlyValueTime && (!structHasValueMember || isPlainObject(raw.value))) {
      return { value: raw.value, time: raw.time, long: true };
    }
  }
  return { value: raw, time: undefined, long: false };
}

/**
 * WEAK keeps valid items and lists the others in `failed` (the reference's behaviour); STRICT refuses the whole
 * message with the first failure (in params order); NONE checks nothing and passes items as given (D9).
 *
 * A present but invalid `time` fails that item with 460 (request parameter error) in WEAK and STRICT: a bad time
 * would misplace the value in history, and ThingQL does not guess. In NONE it falls back to `receivedAt`.
 * Empty params are accepted (nothing to store) rather than refused: ThingQL accepts more, never less (§9).
 */
export function validatePropertyPost(
  model: ThingModel,
  params: unknown,
  mode: ValidationMode,
  receivedAt: number,
): PropertyPostResult {
  if (!isPlainObject(params)) {
    return { ok: false, code: TslCode.PARAM_ERROR, message: 'request parameter error: params must be a JSON object' };
  }
  const entries = Object.entries(params);
  if (entries.length > TSL_LIMITS.propertiesPerPost) {
    return {
      ok: false,
      code: TslCode.TOO_MANY_PROPERTIES,
      message: `too many properties in one message: ${entries.length} > ${TSL_LIMITS.propertiesPerPost}`,
    };
  }
  const items: Record<string, PostedItem> = {};
  const failed: Record<string, FailedItem> = {};
  for (const [id, raw] of entries) {
    // Module properties arrive as `module:prop` and are looked up as sent (§3.3).
    const property = model.properties.get(id);
    const dt = property?.dataType;
    const structHasValue = dt?.type === 'struct' && dt.specs.some((m) => m.identifier === 'value');
    const item = splitItem(raw, structHasValue);
    const time = item.time === undefined ? receivedAt : parseTime(item.time);
    if (mode === 'NONE') {
      putOwn(items, id, { value: item.value, time: time ?? receivedAt });
      continue;
    }
    let failure: { code: number; message: string } | undefined;
    if (property === undefined) failure = { code: TslCode.NOT_IN_TSL, message: tslMessage('params not exist', id) };
    else if (time === undefined) failure = { code: TslCode.PARAM_ERROR, message: tslMessage('time is invalid', id) };
    else {
      const r = validateValue(property.dataType, item.value, id);
      if (!r.ok) failure = { code: r.code, message: r.message };
    }
    if (failure === undefined) {
      putOwn(items, id, { value: item.value, time: time ?? receivedAt });
    } else if (mode === 'STRICT') {
      return { ok: false, ...failure };
    } else {
      putOwn(failed, id, { value: item.value, time: time ?? receivedAt, ...failure });
    }
  }
  return { ok: true, items, failed };
}
