/**
 * Validation and normalisation of a whole TSL document (alink-protocol.md §4). Every issue is reported with the
 * path of the offending place; a valid document comes back normalised: default features regenerated from the
 * properties, `method` filled in, numeric specs as strings, unknown keys dropped.
 */
import { err, ok, type Result } from '../result.ts';
import { checkDataType, checkParamList } from './datatype.ts';
import { defaultGetService, defaultPostEvent, defaultSetService, eventMethod, serviceMethod } from './defaults.ts';
import { addIssue, checkIdentifier, checkName, isPlainObject, TSL_LIMITS } from './shared.ts';
import type {
  AccessMode,
  CallType,
  EventType,
  TslDocument,
  TslEvent,
  TslIssue,
  TslProfile,
  TslProperty,
  TslService,
} from './types.ts';

export { compileThingModel } from './compile.ts';

/**
 * Words a user feature may not use (alink-protocol.md §4.5, UNCONFIRMED there; this list is ThingQL's). Compared
 * case-sensitively: only the exact words collide with the default features and the Alink method names.
 */
export const RESERVED_IDENTIFIERS: ReadonlySet<string> = new Set([
  'set',
  'get',
  'post',
  'property',
  'event',
  'service',
  'time',
  'value',
]);

/** State of one document walk: issues so far and the first path of each identifier (one namespace per module). */
interface Walk {
  issues: TslIssue[];
  claimed: Map<string, string[]>;
}

export function validateTslDocument(input: unknown): Result<TslDocument, TslIssue[]> {
  if (!isPlainObject(input)) return err([{ path: [], message: 'a TSL document must be a JSON object' }]);
  const w: Walk = { issues: [], claimed: new Map() };
  if (input.schema !== undefined && typeof input.schema !== 'string') {
    addIssue(w.issues, ['schema'], 'schema must be a string');
  }
  if (input.profile !== undefined && !isPlainObject(input.profile)) {
    addIssue(w.issues, ['profile'], 'profile must be an object');
  }
  const rawProperties = list(input, 'properties', w);
  const rawEvents = list(input, 'events', w);
  const rawServices = list(input, 'services', w);

  const properties = collect(rawProperties.map((p, i) => checkProperty(p, ['properties', String(i)], w)));
  let defaultFeatures = 0;
  const events = collect(
    rawEvents.map((e, i) => {
      const r = checkEvent(e, ['events', String(i)], w);
      if (r === 'default') defaultFeatures++;
      return r === 'default' ? undefined : r;
    }),
  );
  const services = collect(
    rawServices.map((s, i) => {
      const r = checkService(s, ['services', String(i)], w);
      if (r === 'default') defaultFeatures++;
      return r === 'default' ? undefined : r;
    }),
  );
  // The 300 limit counts the user's features; the regenerated defaults are not "added" by the user (§7).
  const features = rawProperties.length + rawEvents.length + rawServices.length - defaultFeatures;
  if (features > TSL_LIMITS.featuresPerModule) {
    addIssue(w.issues, [], `a TSL module has at most ${TSL_LIMITS.featuresPerModule} features (found ${features})`);
  }
  if (w.issues.length > 0) return err(w.issues);

  // Key order as in real exports: schema, profile, properties, events, services.
  const doc: TslDocument = {
    ...(typeof input.schema === 'string' ? { schema: input.schema } : {}),
    ...(isPlainObject(input.profile) ? { profile: { ...input.profile } as TslProfile } : {}),
    properties,
    events: [defaultPostEvent(properties), ...events],
    services: [defaultSetService(properties), defaultGetService(properties), ...services],
  };
  return ok(doc);
}

const collect = <T>(xs: (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);

function list(input: Record<string, unknown>, key: string, w: Walk): unknown[] {
  const v = input[key];
  if (v === undefined) return [];
  if (Array.isArray(v)) return v;
  addIssue(w.issues, [key], `${key} must be an array`);
  return [];
}

/** Identifiers are unique across properties, events and services of a module (alink-protocol.md §4.2, §4.5). */
function claim(id: string, path: string[], w: Walk): void {
  const first = w.claimed.get(id);
  if (first === undefined) w.claimed.set(id, path);
  else addIssue(w.issues, [...path, 'identifier'], `duplicate identifier "${id}" (first used at ${first.join('.')})`);
}

/** The feature identifier: valid, not reserved unless `defaults` allows it, and unique. */
function featureId(raw: Record<string, unknown>, path: string[], w: Walk, defaults: string[]): string | undefined {
  const id = checkIdentifier(raw.identifier, [...path, 'identifier'], w.issues);
  if (id === undefined) return undefined;
  if (RESERVED_IDENTIFIERS.has(id) && !defaults.includes(id)) {
    addIssue(w.issues, [...path, 'identifier'], `"${id}" is a reserved identifier`);
  }
  claim(id, path, w);
  return id;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], path: string[], w: Walk): T | undefined {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  addIssue(w.issues, path, `${path[path.length - 1] ?? 'value'} must be one of ${allowed.join(', ')}`);
  return undefined;
}

/** `required` (default false) and `desc`, common to every feature. */
function common(raw: Record<string, unknown>, path: string[], w: Walk): { required: boolean; desc?: string } {
  if (raw.required !== undefined && typeof raw.required !== 'boolean') {
    addIssue(w.issues, [...path, 'required'], 'required must be true or false');
  }
  if (raw.desc !== undefined && typeof raw.desc !== 'string') {
    addIssue(w.issues, [...path, 'desc'], 'desc must be a string');
  }
  const out: { required: boolean; desc?: string } = { required: raw.required === true };
  if (typeof raw.desc === 'string') out.desc = raw.desc;
  return out;
}

/** `method`, when given, must be the one the identifier implies; it is filled in on normalisation. */
function checkMethod(raw: Record<string, unknown>, expected: string, path: string[], w: Walk): void {
  if (raw.method !== undefined && raw.method !== expected) {
    addIssue(w.issues, [...path, 'method'], `method must be "${expected}"`);
  }
}

function notObject(path: string[], w: Walk): undefined {
  addIssue(w.issues, path, 'a feature must be an object');
  return undefined;
}

function checkProperty(raw: unknown, path: string[], w: Walk): TslProperty | undefined {
  if (!isPlainObject(raw)) return notObject(path, w);
  const before = w.issues.length;
  const identifier = featureId(raw, path, w, []);
  const name = checkName(raw.name, [...path, 'name'], w.issues);
  const accessMode = oneOf<AccessMode>(raw.accessMode, ['r', 'rw'], [...path, 'accessMode'], w);
  const extra = common(raw, path, w);
  const dataType = checkDataType(raw.dataType, [...path, 'dataType'], w.issues);
  if (w.issues.length !== before || !identifier || !name || !accessMode || !dataType) return undefined;
  return { identifier, name, accessMode, ...extra, dataType };
}

/**
 * The default `post` event is accepted and only its `method` is checked: its content is regenerated from the
 * properties (alink-protocol.md §4.3), so what an export carries there never matters.
 */
function checkEvent(raw: unknown, path: string[], w: Walk): TslEvent | 'default' | undefined {
  if (!isPlainObject(raw)) return notObject(path, w);
  const before = w.issues.length;
  const identifier = featureId(raw, path, w, ['post']);
  if (identifier !== undefined) checkMethod(raw, eventMethod(identifier), path, w);
  if (identifier === 'post') return 'default';
  const name = checkName(raw.name, [...path, 'name'], w.issues);
  const type = oneOf<EventType>(raw.type, ['info', 'alert', 'error'], [...path, 'type'], w);
  const extra = common(raw, path, w);
  const outputData = checkParamList(raw.outputData, [...path, 'outputData'], w.issues, TSL_LIMITS.paramsPerList);
  if (w.issues.length !== before || !identifier || !name || !type) return undefined;
  return { identifier, name, type, ...extra, method: eventMethod(identifier), outputData };
}

/** Default services `set` / `get`: method checked, content regenerated (alink-protocol.md §4.4). */
function checkService(raw: unknown, path: string[], w: Walk): TslService | 'default' | undefined {
  if (!isPlainObject(raw)) return notObject(path, w);
  const before = w.issues.length;
  const identifier = featureId(raw, path, w, ['set', 'get']);
  if (identifier !== undefined) checkMethod(raw, serviceMethod(identifier), path, w);
  if (identifier === 'set' || identifier === 'get') return 'default';
  const name = checkName(raw.name, [...path, 'name'], w.issues);
  const callType = oneOf<CallType>(raw.callType, ['sync', 'async'], [...path, 'callType'], w);
  const extra = common(raw, path, w);
  const max = TSL_LIMITS.paramsPerList;
  const inputData = checkParamList(raw.inputData, [...path, 'inputData'], w.issues, max);
  const outputData = checkParamList(raw.outputData, [...path, 'outputData'], w.issues, max);
  if (w.issues.length !== before || !identifier || !name || !callType) return undefined;
  return { identifier, name, callType, ...extra, method: serviceMethod(identifier), inputData, outputData };
}
