/**
 * Checks for cloud → device commands before they are sent: service invocation (alink-protocol.md §3.7) and
 * property set (§3.4). They return every issue, so the API can answer with all of them at once (habit 7).
 */
import { isPlainObject } from './shared.ts';
import type { TslParam, ThingModel } from './types.ts';
import { tslMessage, TslCode, validateValue } from './value-check.ts';

export interface CommandIssue {
  /** the service, argument or property concerned */
  identifier: string;
  code: number;
  message: string;
}

export type PropertySetIssueKind = 'IDENTIFIER_NOT_FOUND' | 'PROPERTY_NOT_WRITABLE' | 'INVALID_VALUE';

/** `kind` matches the API's userErrors codes (graphql-api.md "Expected failures"). */
export interface PropertySetIssue extends CommandIssue {
  kind: PropertySetIssueKind;
}

const paramError = (identifier: string, what: string): CommandIssue => ({
  identifier,
  code: TslCode.PARAM_ERROR,
  message: `request parameter error: ${what}`,
});

const notExist = (id: string): CommandIssue => ({
  identifier: id,
  code: TslCode.NOT_IN_TSL,
  message: tslMessage('params not exist', id),
});

const serviceNotExist = (id: string): CommandIssue => ({
  ...notExist(id),
  message: tslMessage('service not exist', id),
});

/** Each value checked against its definition; unknown identifiers are issues; missing ones are allowed. */
function checkArgs(defs: ReadonlyMap<string, TslParam>, values: Record<string, unknown>): CommandIssue[] {
  const issues: CommandIssue[] = [];
  for (const [id, v] of Object.entries(values)) {
    const def = defs.get(id);
    if (def === undefined) {
      issues.push(notExist(id));
      continue;
    }
    const r = validateValue(def.dataType, v, id);
    if (!r.ok) issues.push({ identifier: id, code: r.code, message: r.message });
  }
  return issues;
}

/**
 * `args` = the service's inputData values (§3.7, InvokeThingService `Args`). Missing arguments are allowed: the
 * reference does not require them. The default `get` service takes a list of property identifiers (§3.5).
 */
export function validateServiceInput(model: ThingModel, serviceId: string, args: unknown): CommandIssue[] {
  const service = model.services.get(serviceId);
  if (service === undefined) return [serviceNotExist(serviceId)];
  if (serviceId === 'get' && Array.isArray(args)) {
    return args.flatMap((id): CommandIssue[] => {
      if (typeof id !== 'string') {
        return [paramError(String(id), 'identifiers must be strings')];
      }
      return model.properties.has(id) ? [] : [notExist(id)];
    });
  }
  if (!isPlainObject(args)) {
    return [paramError(serviceId, 'args must be a JSON object')];
  }
  return checkArgs(service.inputData, args);
}

/** `data` of the device's reply = the service's outputData values (§3.7); absent data counts as `{}`. */
export function validateServiceOutput(model: ThingModel, serviceId: string, data: unknown): CommandIssue[] {
  const service = model.services.get(serviceId);
  if (service === undefined) return [serviceNotExist(serviceId)];
  if (data === undefined) return [];
  if (!isPlainObject(data)) {
    return [paramError(serviceId, 'data must be a JSON object')];
  }
  return checkArgs(service.outputData, data);
}

/**
 * setDeviceProperty items (§3.4): every identifier must exist, be `rw` ("only rw properties may be set") and carry a
 * valid value. Non-object or empty items are one INVALID_VALUE issue with identifier "" (nothing to send).
 * A read-only property has no TSL code of its own: it gets 460, the generic request parameter error (§3.10).
 */
export function validatePropertySet(model: ThingModel, items: unknown): PropertySetIssue[] {
  if (!isPlainObject(items) || Object.keys(items).length === 0) {
    return [{ kind: 'INVALID_VALUE', ...paramError('', 'items must be a non-empty JSON object') }];
  }
  const issues: PropertySetIssue[] = [];
  for (const [id, v] of Object.entries(items)) {
    const property = model.properties.get(id);
    if (property === undefined) {
      issues.push({ kind: 'IDENTIFIER_NOT_FOUND', ...notExist(id) });
      continue;
    }
    if (property.accessMode !== 'rw') {
      const message = tslMessage('property is read-only', id);
      issues.push({ kind: 'PROPERTY_NOT_WRITABLE', identifier: id, code: TslCode.PARAM_ERROR, message });
      continue;
    }
    const r = validateValue(property.dataType, v, id);
    if (!r.ok) issues.push({ kind: 'INVALID_VALUE', identifier: id, code: r.code, message: r.message });
  }
  return issues;
}
