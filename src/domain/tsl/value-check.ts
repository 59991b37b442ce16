/**
 * Checks one wire value against a TSL data type with the codes of alink-protocol.md D10 and the reference's
 * message style `tsl parse: <what> -> <identifier>` (§3.10, e.g. `tsl parse: data type is not int -> Brightness`).
 */
import type { ArrayItemType, DataType, NumberSpecs, StructMember } from './types.ts';
import { charLength, isInt32, isPlainObject, TSL_LIMITS } from './shared.ts';

/** Alink codes used by TSL validation (alink-protocol.md §3.10, D10). */
export const TslCode = {
  PARAM_ERROR: 460,
  TOO_MANY_PROPERTIES: 6104,
  METHOD_INVALID: 6300,
  NOT_IN_TSL: 6304,
  NOT_INT: 6306,
  NOT_FLOAT: 6307,
  NOT_BOOL: 6308,
  NOT_ENUM: 6309,
  NOT_STRING: 6310,
  NOT_DATE: 6311,
  STRUCT_INVALID: 6312,
  OUT_OF_RANGE: 6316,
  TEXT_TOO_LONG: 6317,
  ARRAY_INVALID: 6324,
} as const;

export type ValueCheck = { ok: true; value: unknown } | { ok: false; code: number; message: string };

export const tslMessage = (what: string, identifier: string): string => `tsl parse: ${what} -> ${identifier}`;

/** A failure before it becomes a message: `path` grows as the check walks into structs and arrays. */
interface Failure {
  code: number;
  what: string;
  path: string;
}

/**
 * Valid values come back unchanged (ThingQL stores what the device sent). `step` is never enforced: the reference
 * does not reject off-step values.
 */
export function validateValue(dataType: DataType | ArrayItemType, value: unknown, identifier: string): ValueCheck {
  const f = check(dataType, value, identifier);
  return f === null ? { ok: true, value } : { ok: false, code: f.code, message: tslMessage(f.what, f.path) };
}

function check(dt: DataType | ArrayItemType, v: unknown, path: string): Failure | null {
  const fail = (code: number, what: string): Failure => ({ code, what, path });
  switch (dt.type) {
    case 'int':
      // JSON numbers only: "12" is not an int (§3.3 "int values must be JSON numbers"), and 32-bit signed (§4.2).
      if (typeof v !== 'number' || !isInt32(v)) return fail(TslCode.NOT_INT, 'data type is not int');
      return range(dt.specs, v, path);
    case 'float':
    case 'double':
      // JSON cannot tell 10 from 10.0 once parsed, so integral numbers are accepted for float/double.
      if (typeof v !== 'number' || !Number.isFinite(v)) return fail(TslCode.NOT_FLOAT, `data type is not ${dt.type}`);
      return range(dt.specs, v, path);
    case 'bool':
      // The reference's bool is the int 0 or 1 (§4.2); JSON true/false are refused like the reference does.
      return v === 0 || v === 1 ? null : fail(TslCode.NOT_BOOL, 'data type is not bool');
    case 'enum':
      if (typeof v !== 'number' || !Number.isInteger(v)) return fail(TslCode.NOT_ENUM, 'data type is not enum');
      return Object.hasOwn(dt.specs, String(v)) ? null : fail(TslCode.NOT_ENUM, `enum value ${v} is not defined`);
    case 'text': {
      if (typeof v !== 'string') return fail(TslCode.NOT_STRING, 'data type is not string');
      // Length counts characters (code points), not UTF-8 bytes: the reference's limits page gives text length
      // as "10,240 characters" (Alibaba Cloud IoT Platform "Limits", ja: 10,240文字); no evidence of byte counting.
      const max = dt.specs ? Number(dt.specs.length) : TSL_LIMITS.textLength;
      return charLength(v) > max ? fail(TslCode.TEXT_TOO_LONG, `text length exceeds ${max}`) : null;
    }
    case 'date':
      // A string of UTC ms (§3.3); a non-negative JSON integer is accepted too (ThingQL is a superset, §9).
      if (typeof v === 'string' && /^\d+$/.test(v)) return null;
      if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return null;
      return fail(TslCode.NOT_DATE, 'data type is not date');
    case 'struct':
      return checkStruct(dt.specs, v, path);
    case 'array':
      return checkArray(dt.specs.size, dt.specs.item, v, path);
  }
}

function range(specs: NumberSpecs | undefined, v: number, path: string): Failure | null {
  if (specs === undefined) return null;
  if (v < Number(specs.min) || v > Number(specs.max)) {
    return { code: TslCode.OUT_OF_RANGE, what: `value out of range [${specs.min}, ${specs.max}]`, path };
  }
  return null;
}

/**
 * Every member must be present and valid (D10 "struct member missing or invalid"); a member that the TSL does not
 * define is refused too, since storing it would put undeclared data under a typed property. The message names
 * the member as `${struct}.${member}` and carries the inner reason.
 */
function checkStruct(members: StructMember[], v: unknown, path: string): Failure | null {
  if (!isPlainObject(v)) return { code: TslCode.STRUCT_INVALID, what: 'data type is not struct', path };
  const known = new Set(members.map((m) => m.identifier));
  for (const key of Object.keys(v)) {
    if (!known.has(key)) {
      return { code: TslCode.STRUCT_INVALID, what: 'struct member not exist', path: `${path}.${key}` };
    }
  }
  for (const m of members) {
    const memberPath = `${path}.${m.identifier}`;
    if (!Object.hasOwn(v, m.identifier)) {
      return { code: TslCode.STRUCT_INVALID, what: 'struct member missing', path: memberPath };
    }
    const f = check(m.dataType, v[m.identifier], memberPath);
    if (f) return { code: TslCode.STRUCT_INVALID, what: `struct member invalid: ${f.what}`, path: f.path };
  }
  return null;
}

/** Not an array, too many elements, or an invalid element: all 6324, the element named by its index (D10). */
function checkArray(size: string, item: ArrayItemType, v: unknown, path: string): Failure | null {
  if (!Array.isArray(v)) return { code: TslCode.ARRAY_INVALID, what: 'data type is not array', path };
  if (v.length > Number(size)) return { code: TslCode.ARRAY_INVALID, what: `array size exceeds ${size}`, path };
  for (let i = 0; i < v.length; i++) {
    const f = check(item, v[i], `${path}[${i}]`);
    if (f) return { code: TslCode.ARRAY_INVALID, what: `array element invalid: ${f.what}`, path: f.path };
  }
  return null;
}
