/**
 * Alink JSON envelopes (alink-protocol.md §3.1 request, §3.2 reply) with the leniency of D10/D11: `id` is echoed
 * exactly as sent — any string (the Node SDK sends `1|exp-topic|/sys/.../post_reply`) or a JSON number, whose
 * source text is kept verbatim so a large or oddly formatted number survives the round trip.
 */
import { err, ok, type Result } from '../result.ts';
import { ALINK, defaultMessage } from './codes.ts';
import { MAX_JSON_DEPTH, scanJson } from './json-limits.ts';

export type IdType = 'string' | 'number';

export interface AlinkRequest {
  /** The id as text: a string id verbatim, a number id as its JSON source text. */
  id: string;
  idType: IdType;
  version?: string;
  /** `sys.ack` 0 → false: the platform must not reply (§3.1, D11). Default true. */
  ack: boolean;
  params: unknown;
  method?: string;
}

export interface AlinkReply {
  id: string;
  idType: IdType;
  code: number;
  data: unknown;
  message?: string;
  method?: string;
  version?: string;
}

/** D10: 460 "payload not a JSON object or envelope invalid"; carries whatever could be read for the reply. */
export interface AlinkDecodeError {
  code: typeof ALINK.PARAM_ERROR;
  message: string;
  id?: string;
  idType?: IdType;
  ack: boolean;
  method?: string;
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

type Obj = Record<string, unknown>;

function parseObject(payload: Buffer): Result<{ obj: Obj; text: string }, AlinkDecodeError> {
  const text = payload.toString('utf8').replace(/^\uFEFF/, '');
  // Bounded (json-limits.ts): too deep a nesting or a \u0000 could never be stored, and would come back at every
  // resend. Such a request is still answered with its id when it has one.
  const scan = scanJson(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const message =
      scan === 'tooDeep' ? `JSON nested deeper than ${MAX_JSON_DEPTH} levels` : 'payload is not valid JSON';
    return err({ code: ALINK.PARAM_ERROR, message, ack: true });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return err({ code: ALINK.PARAM_ERROR, message: 'payload is not a JSON object', ack: true });
  }
  const obj = value as Obj;
  if (scan !== 'ok') {
    const message =
      scan === 'nul'
        ? 'request parameter error: text containing U+0000 cannot be stored'
        : `request parameter error: JSON nested deeper than ${MAX_JSON_DEPTH} levels`;
    const method = optString(obj['method']);
    return err({
      code: ALINK.PARAM_ERROR,
      message,
      ack: readAck(obj),
      ...(readId(obj, text) ?? {}),
      ...(method !== undefined ? { method } : {}),
    });
  }
  return ok({ obj, text });
}

function readId(obj: Obj, text: string): { id: string; idType: IdType } | undefined {
  const id = obj['id'];
  if (typeof id === 'string') return { id, idType: 'string' };
  if (typeof id === 'number') return { id: rawTopLevelValue(text, 'id') ?? String(id), idType: 'number' };
  return undefined;
}

const readAck = (obj: Obj): boolean => {
  const sys = obj['sys'];
  if (typeof sys !== 'object' || sys === null) return true;
  const ack = (sys as Obj)['ack'];
  return !(ack === 0 || ack === '0');
};

const optString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Decode a device → cloud (or cloud → device) Alink request (§3.1). */
export function decodeRequest(payload: Buffer): Result<AlinkRequest, AlinkDecodeError> {
  const parsed = parseObject(payload);
  if (!parsed.ok) return parsed;
  const { obj, text } = parsed.value;
  const ack = readAck(obj);
  const method = optString(obj['method']);
  const id = readId(obj, text);
  if (id === undefined) {
    const message = obj['id'] === undefined ? 'id missing' : 'id must be a string or a number';
    return err({ code: ALINK.PARAM_ERROR, message, ack, ...(method !== undefined ? { method } : {}) });
  }
  const version = optString(obj['version']);
  return ok({
    ...id,
    ack,
    params: obj['params'],
    ...(version !== undefined ? { version } : {}),
    ...(method !== undefined ? { method } : {}),
  });
}

/** Decode a reply `{"id","code","data"[,"message"]}` (§3.2), e.g. a device's property-set or service reply. */
export function decodeReply(payload: Buffer): Result<AlinkReply, AlinkDecodeError> {
  const parsed = parseObject(payload);
  if (!parsed.ok) return parsed;
  const { obj, text } = parsed.value;
  const id = readId(obj, text);
  if (id === undefined) return err({ code: ALINK.PARAM_ERROR, message: 'id missing', ack: true });
  const rawCode = obj['code'];
  // Lenient: the OTA push (§3.9) shows a string code; accept "200" as 200.
  const code = typeof rawCode === 'string' && /^\d+$/.test(rawCode) ? Number(rawCode) : rawCode;
  if (typeof code !== 'number' || !Number.isInteger(code)) {
    return err({ code: ALINK.PARAM_ERROR, message: 'code missing or not an integer', ack: true, ...id });
  }
  const message = optString(obj['message']);
  const method = optString(obj['method']);
  const version = optString(obj['version']);
  return ok({
    ...id,
    code,
    data: obj['data'] ?? {},
    ...(message !== undefined ? { message } : {}),
    ...(method !== undefined ? { method } : {}),
    ...(version !== undefined ? { version } : {}),
  });
}

function idToken(id: string, idType: IdType | undefined): string {
  return idType === 'number' && JSON_NUMBER.test(id) ? id : JSON.stringify(id);
}

export interface ReplyInput {
  /** Omitted from the JSON when undefined (request without a readable id, D10). */
  id?: string;
  idType?: IdType;
  code: number;
  data?: unknown;
  message?: string;
  method?: string;
  version?: string;
}

/**
 * Cloud reply (§3.2) in the reference's field order `id, code, data, message, method, version`.
 * `message` defaults to "success" for 200, `data` to `{}`, `version` to "1.0".
 */
export function encodeReply(r: ReplyInput): Buffer {
  const parts: string[] = [];
  if (r.id !== undefined) parts.push(`"id":${idToken(r.id, r.idType)}`);
  parts.push(`"code":${JSON.stringify(r.code)}`);
  parts.push(`"data":${JSON.stringify(r.data ?? {})}`);
  parts.push(`"message":${JSON.stringify(r.message ?? defaultMessage(r.code))}`);
  if (r.method !== undefined) parts.push(`"method":${JSON.stringify(r.method)}`);
  parts.push(`"version":${JSON.stringify(r.version ?? '1.0')}`);
  return Buffer.from(`{${parts.join(',')}}`, 'utf8');
}

export interface RequestInput {
  id: string;
  method: string;
  params: unknown;
  version?: string;
  /** Only when set is a `sys: {ack}` block written: the reference's downstream requests carry none (§3.4, §3.7). */
  ack?: boolean;
}

/**
 * Cloud → device request, shaped like the reference's downstream messages (§3.4/§3.7):
 * `{"id":"123","version":"1.0","params":{..},"method":"thing.service.property.set"}`. The Node SDK dispatches
 * services on `method` (lib/thing.js `_onReceiveService`: `method.split('.').pop()`), so it is always present.
 */
export function encodeRequest(r: RequestInput): Buffer {
  const body: Obj = { id: r.id, version: r.version ?? '1.0' };
  if (r.ack !== undefined) body['sys'] = { ack: r.ack ? 1 : 0 };
  body['params'] = r.params ?? {};
  body['method'] = r.method;
  return Buffer.from(JSON.stringify(body), 'utf8');
}

// ---------------------------------------------------------------------------------------------------------------
// Source text of a top-level member of an already-validated JSON object (last occurrence wins, like JSON.parse).

const isWs = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';

function skipWs(s: string, i: number): number {
  while (isWs(s[i])) i++;
  return i;
}

function skipString(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
  return j + 1;
}

function skipValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return skipString(s, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    let j = i;
    while (j < s.length) {
      const ch = s[j];
      if (ch === '"') {
        j = skipString(s, j);
        continue;
      }
      if (ch === '{' || ch === '[') depth++;
      if (ch === '}' || ch === ']') depth--;
      j++;
      if (depth === 0) return j;
    }
    return j;
  }
  let j = i;
  while (j < s.length && !isWs(s[j]) && s[j] !== ',' && s[j] !== '}' && s[j] !== ']') j++;
  return j;
}

function rawTopLevelValue(text: string, key: string): string | undefined {
  let i = skipWs(text, 0);
  if (text[i] !== '{') return undefined;
  i = skipWs(text, i + 1);
  let found: string | undefined;
  while (i < text.length && text[i] === '"') {
    const keyEnd = skipString(text, i);
    const k = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, skipWs(text, keyEnd) + 1); // past ':'
    const end = skipValue(text, i);
    if (k === key) found = text.slice(i, end);
    i = skipWs(text, end);
    if (text[i] !== ',') break;
    i = skipWs(text, i + 1);
  }
  return found;
}
