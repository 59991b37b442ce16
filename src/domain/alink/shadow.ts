/**
 * Device shadow (alink-protocol.md §2.4 `/shadow/update/${pk}/${dn}` ↑, `/shadow/get/${pk}/${dn}` ↓; §7 limits): the
 * reference's JSON document and its rules, as pure functions. Wire forms (Python Link SDK `thing_update_shadow` /
 * `thing_get_shadow`, C Link SDK 4.x `aiot_shadow`):
 *
 *   ↑ {"method":"update","state":{"reported":{"color":"red"}},"version":1}
 *   ↑ {"method":"update","state":{"desired":"null"},"version":2}          (the device applied and clears desired)
 *   ↑ {"method":"get"}
 *   ↑ {"method":"delete","state":{"reported":{"color":"null"}},"version":3}   ("null" deletes an attribute;
 *   ↑ {"method":"delete","state":{"reported":"null"},"version":4}              a whole section as "null" deletes all)
 *   ↓ {"method":"reply","payload":{"status":"success","version":1},"timestamp":1469564576}
 *   ↓ {"method":"reply","payload":{"status":"success","state":{..},"metadata":{..}},"version":2,"timestamp":..}   (get)
 *   ↓ {"method":"reply","payload":{"status":"error","content":{"errorcode":"409","errormessage":".."}},"timestamp":..}
 *   ↓ {"method":"control","payload":{"status":"success","state":{..},"metadata":{..}},"version":3,"timestamp":..}
 *      (the cloud changed `desired`: pushed to the device)
 *
 * Versions: a write carries the version it makes; it must be greater than the shadow's current version, else 409
 * (version conflict) and nothing changes. Version -1 clears the shadow (state and metadata) and sets its version to 0.
 * Timestamps are seconds since the epoch, as the reference sends them.
 */

export interface ShadowDocument {
  version: number;
  reported: Record<string, unknown>;
  desired: Record<string, unknown>;
  /** Per attribute `{timestamp}` (seconds), under `reported` and `desired`. */
  metadata: { reported: Record<string, { timestamp: number }>; desired: Record<string, { timestamp: number }> };
}

/** The reference's shadow error codes. */
export const SHADOW = {
  BAD_JSON: 400,
  METHOD_MISSING: 401,
  STATE_MISSING: 402,
  VERSION_NOT_NUMBER: 403,
  REPORTED_MISSING: 404,
  REPORTED_EMPTY: 405,
  METHOD_INVALID: 406,
  SHADOW_EMPTY: 407,
  TOO_MANY_ATTRIBUTES: 408,
  VERSION_CONFLICT: 409,
  SERVER_ERROR: 500,
} as const;

/** §7: 16 KB document, depth 5, 128 properties. */
export const SHADOW_LIMITS = { documentBytes: 16 * 1024, depth: 5, attributes: 128 } as const;

export type ShadowRequest =
  | { method: 'get' }
  | { method: 'update' | 'delete'; version: number; reported?: Section; desired?: Section };

/** A section of a write: attributes (a value "null" or null deletes that attribute), or the whole section deleted. */
export type Section = { kind: 'attributes'; values: Record<string, unknown> } | { kind: 'clear' };

export interface ShadowError {
  code: number;
  message: string;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ShadowError };
const fail = (code: number, message: string): { ok: false; error: ShadowError } => ({
  ok: false,
  error: { code, message },
});

export const emptyShadow = (): ShadowDocument => ({
  version: 0,
  reported: {},
  desired: {},
  metadata: { reported: {}, desired: {} },
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNullMarker = (v: unknown): boolean => v === null || v === 'null';

function depth(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depth));
  if (isObject(v)) return 1 + Math.max(0, ...Object.values(v).map(depth));
  return 0;
}

function section(v: unknown, name: string): Outcome<Section | undefined> {
  if (v === undefined) return { ok: true, value: undefined };
  if (isNullMarker(v)) return { ok: true, value: { kind: 'clear' } };
  if (!isObject(v)) return fail(SHADOW.BAD_JSON, `state.${name} must be an object or "null"`);
  return { ok: true, value: { kind: 'attributes', values: v } };
}

/** Decode a device's message on `/shadow/update/${pk}/${dn}`. */
export function decodeShadowRequest(payload: Buffer): Outcome<ShadowRequest> {
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return fail(SHADOW.BAD_JSON, 'payload is not valid JSON');
  }
  if (!isObject(body)) return fail(SHADOW.BAD_JSON, 'payload is not a JSON object');
  if (payload.length > SHADOW_LIMITS.documentBytes)
    return fail(SHADOW.BAD_JSON, `shadow message larger than ${SHADOW_LIMITS.documentBytes} bytes`);
  const method = body.method;
  if (method === undefined || method === '') return fail(SHADOW.METHOD_MISSING, 'method missing');
  if (method === 'get') return { ok: true, value: { method: 'get' } };
  if (method !== 'update' && method !== 'delete')
    return fail(SHADOW.METHOD_INVALID, `method ${JSON.stringify(method)} is not update, get or delete`);
  const state = body.state;
  if (state === undefined) return fail(SHADOW.STATE_MISSING, 'state missing');
  if (!isObject(state)) return fail(SHADOW.BAD_JSON, 'state must be an object');
  const version = body.version;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < -1)
    return fail(SHADOW.VERSION_NOT_NUMBER, 'version must be an integer (-1 clears the shadow)');
  if (depth(state) > SHADOW_LIMITS.depth + 1)
    return fail(SHADOW.BAD_JSON, `shadow state deeper than ${SHADOW_LIMITS.depth} levels`);
  const reported = section(state.reported, 'reported');
  if (!reported.ok) return reported;
  const desired = section(state.desired, 'desired');
  if (!desired.ok) return desired;
  if (!reported.value && !desired.value) return fail(SHADOW.REPORTED_MISSING, 'state.reported missing');
  if (reported.value?.kind === 'attributes' && Object.keys(reported.value.values).length === 0)
    return fail(SHADOW.REPORTED_EMPTY, 'state.reported is empty');
  return {
    ok: true,
    value: {
      method,
      version,
      ...(reported.value ? { reported: reported.value } : {}),
      ...(desired.value ? { desired: desired.value } : {}),
    },
  };
}

function applySection(
  doc: ShadowDocument,
  which: 'reported' | 'desired',
  s: Section,
  mode: 'merge' | 'delete' | 'replace',
  now: number,
): void {
  if (s.kind === 'clear') {
    doc[which] = {};
    doc.metadata[which] = {};
    return;
  }
  if (mode === 'replace') {
    doc[which] = {};
    doc.metadata[which] = {};
  }
  for (const [k, v] of Object.entries(s.values)) {
    if (mode === 'delete' || isNullMarker(v)) {
      delete doc[which][k];
      delete doc.metadata[which][k];
    } else {
      doc[which][k] = v;
      doc.metadata[which][k] = { timestamp: now };
    }
  }
}

/**
 * Apply a write (the device's update or delete, or the cloud's update of `desired`) to the current document. Returns
 * the new document, or the reference's error with the document unchanged. `replaceDesired`: the cloud's update
 * without delta (UpdateDeviceShadow `DeltaUpdate=false`) replaces the whole desired section.
 */
export function applyShadowWrite(
  current: ShadowDocument | null,
  w: { method: 'update' | 'delete'; version: number; reported?: Section; desired?: Section },
  nowSeconds: number,
  opts: { replaceDesired?: boolean } = {},
): Outcome<ShadowDocument> {
  const base = current ?? emptyShadow();
  if (w.version === -1) return { ok: true, value: emptyShadow() };
  if (w.version <= base.version)
    return fail(
      SHADOW.VERSION_CONFLICT,
      `version conflict: the shadow is at version ${base.version}; send a greater one`,
    );
  const doc: ShadowDocument = structuredClone(base);
  const mode = w.method === 'delete' ? 'delete' : 'merge';
  if (w.reported) applySection(doc, 'reported', w.reported, mode, nowSeconds);
  if (w.desired)
    applySection(doc, 'desired', w.desired, mode === 'merge' && opts.replaceDesired ? 'replace' : mode, nowSeconds);
  if (
    Object.keys(doc.reported).length > SHADOW_LIMITS.attributes ||
    Object.keys(doc.desired).length > SHADOW_LIMITS.attributes
  ) {
    return fail(SHADOW.TOO_MANY_ATTRIBUTES, `more than ${SHADOW_LIMITS.attributes} attributes in a section`);
  }
  if (
    Buffer.byteLength(JSON.stringify({ state: { reported: doc.reported, desired: doc.desired } })) >
    SHADOW_LIMITS.documentBytes
  ) {
    return fail(SHADOW.BAD_JSON, `shadow document larger than ${SHADOW_LIMITS.documentBytes} bytes`);
  }
  doc.version = w.version;
  return { ok: true, value: doc };
}

/** The `state` and `metadata` the reference sends: empty sections left out. */
export function shadowState(doc: ShadowDocument): {
  state: Record<string, unknown>;
  metadata: Record<string, unknown>;
} {
  const state: Record<string, unknown> = {};
  const metadata: Record<string, unknown> = {};
  for (const k of ['reported', 'desired'] as const) {
    if (Object.keys(doc[k]).length > 0) {
      state[k] = doc[k];
      metadata[k] = doc.metadata[k];
    }
  }
  return { state, metadata };
}

const encode = (o: unknown): Buffer => Buffer.from(JSON.stringify(o), 'utf8');

/** Answer to a successful update or delete. */
export const shadowWriteReply = (version: number, nowSeconds: number): Buffer =>
  encode({ method: 'reply', payload: { status: 'success', version }, timestamp: nowSeconds });

/** Answer to `get` (`reply`) or the cloud's push of a changed shadow (`control`). */
export const shadowDocumentMessage = (method: 'reply' | 'control', doc: ShadowDocument, nowSeconds: number): Buffer =>
  encode({ method, payload: { status: 'success', ...shadowState(doc) }, version: doc.version, timestamp: nowSeconds });

/** The reference's error answer (errorcode as a string, as its documentation shows). */
export const shadowErrorReply = (e: ShadowError, nowSeconds: number): Buffer =>
  encode({
    method: 'reply',
    payload: { status: 'error', content: { errorcode: String(e.code), errormessage: e.message } },
    timestamp: nowSeconds,
  });
