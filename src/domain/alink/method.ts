/**
 * Alink `method` ↔ `/sys/` topic path (alink-protocol.md §2.3, §3.1). The table in §2.3 is regular: the method is
 * the path with '/' replaced by '.' (`thing/event/${id}/post` ↔ `thing.event.${id}.post`,
 * `thing/service/${id}` ↔ `thing.service.${id}`). TSL identifiers are letters, digits and underscore (§4.5), so
 * they never contain '.' or '/', and the mapping is a bijection. Used for D10's code 6300.
 */
import { err, ok, type Result } from '../result.ts';
import { ALINK } from './codes.ts';
import { isReplyPath } from './sys-direction.ts';

/** Paths whose payload is binary or not an Alink request carrying its own method. */
function hasNoMethod(path: readonly string[]): boolean {
  const [first] = path;
  // RRPC requests/responses carry the service's method (or opaque bytes), not one derived from the topic (§2.5);
  // broadcast payloads are opaque (§2.6); raw passthrough is binary (§3.8).
  if (first === 'rrpc' || first === 'broadcast') return true;
  const rel = path.join('/');
  return rel === 'thing/model/up_raw' || rel === 'thing/model/down_raw';
}

/**
 * The method a request on this /sys/ path must carry, or null when the path has no derived method (RRPC, broadcast,
 * raw, any `_reply`, or an invalid path).
 */
export function methodForSysPath(path: readonly string[]): string | null {
  if (path.length === 0 || path.some((l) => l.length === 0 || l.includes('.'))) return null;
  if (isReplyPath(path) || hasNoMethod(path)) return null;
  return path.join('.');
}

/** The /sys/ path levels for a method (`thing.service.property.set` → `['thing','service','property','set']`). */
export function sysPathForMethod(method: string): string[] | null {
  const levels = method.split('.');
  if (levels.some((l) => l.length === 0 || /[/+#\u0000]/.test(l))) return null;
  if (hasNoMethod(levels) || isReplyPath(levels)) return null;
  return levels;
}

/** Topic suffix (after `/sys/${pk}/${dn}/`) for a method: `thing.event.alarm.post` → `thing/event/alarm/post`. */
export function sysSuffixForMethod(method: string): string | null {
  return sysPathForMethod(method)?.join('/') ?? null;
}

export interface MethodError {
  code: typeof ALINK.METHOD_INVALID;
  message: string;
}

/**
 * D10: 6300 when `method` is missing or does not match the topic it was published on. Exact, case-sensitive
 * comparison (`thing.dynamicTsl.get` keeps its capital). Returns the method on success.
 */
export function checkRequestMethod(path: readonly string[], method: string | undefined): Result<string, MethodError> {
  const expected = methodForSysPath(path);
  if (method === undefined || method === '') {
    return err({ code: ALINK.METHOD_INVALID, message: 'method missing' });
  }
  if (expected !== null && method !== expected) {
    const message = `method '${method}' does not match topic (expected '${expected}')`;
    return err({ code: ALINK.METHOD_INVALID, message });
  }
  return ok(method);
}
