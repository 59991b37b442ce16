/**
 * Direction of the `/sys/${pk}/${dn}/...` topics (alink-protocol.md §2.3, §2.5, §2.6): which paths are device →
 * cloud ("up") and which are cloud → device ("down"). Used by the publish ACL (D7: a device publishes "requests and
 * replies" — its own upstream requests and its replies to downstream requests, never a downstream request or a
 * platform reply) and by method.ts.
 */
import { topicMatches } from './topic-filter.ts';

export type SysDirection = 'up' | 'down';

/** Cloud → device requests (§2.3 rows marked ↓; the device answers on `${topic}_reply`). */
const DOWN_REQUESTS: readonly string[] = [
  'thing/service/#', // property/set, property/get, every async service `thing/service/${id}`
  'thing/model/down_raw',
  'thing/config/push',
  'thing/config/log/push', // Go client
  'thing/disable',
  'thing/enable',
  'thing/delete',
  'thing/topo/add/notify', // must come before the `thing/topo/add` up rule (first match wins)
  'thing/topo/change',
];

/** Device → cloud requests (§2.3 rows marked ↑; the platform answers on `${topic}_reply`). */
const UP_REQUESTS: readonly string[] = [
  'thing/event/#', // property/post, ${eventId}/post, property/pack/post, property/history/post, ${id}/history/post
  'thing/model/up_raw',
  'thing/property/desired/get',
  'thing/property/desired/delete',
  'thing/deviceinfo/update',
  'thing/deviceinfo/delete',
  'thing/config/get',
  'thing/config/log/get', // Go client
  'thing/config/log/post', // Go client
  'thing/dsltemplate/get',
  'thing/dynamicTsl/get',
  'thing/ota/firmware/get',
  'thing/sub/register',
  'thing/topo/add',
  'thing/topo/delete',
  'thing/topo/get',
  'thing/list/found',
  '_thing/diag/post', // Go client, UNCONFIRMED official
];

const REPLY_SUFFIX = '_reply';

function requestDirection(rel: string): SysDirection | null {
  if (DOWN_REQUESTS.some((p) => topicMatches(p, rel))) return 'down';
  if (UP_REQUESTS.some((p) => topicMatches(p, rel))) return 'up';
  return null;
}

/**
 * Direction of a /sys/ path (the levels after `/sys/${pk}/${dn}/`), or null when the path is not in the catalogue.
 * A `_reply` path has the opposite direction of its request. RRPC and broadcast have no `_reply` convention:
 * `rrpc/request/${id}` and `broadcast/request/${id}` are down, `rrpc/response/${id}` is up (§2.5, §2.6, D12, D14).
 */
export function sysPathDirection(path: readonly string[]): SysDirection | null {
  if (path.length === 0 || path.some((l) => l.length === 0)) return null;
  const [first, second] = path;
  if (first === 'rrpc') {
    if (path.length !== 3) return null;
    return second === 'request' ? 'down' : second === 'response' ? 'up' : null;
  }
  if (first === 'broadcast') return path.length === 3 && second === 'request' ? 'down' : null;
  const last = path[path.length - 1] ?? '';
  if (last.endsWith(REPLY_SUFFIX) && last.length > REPLY_SUFFIX.length) {
    const base = [...path.slice(0, -1), last.slice(0, -REPLY_SUFFIX.length)].join('/');
    const dir = requestDirection(base);
    return dir === null ? null : dir === 'up' ? 'down' : 'up';
  }
  return requestDirection(path.join('/'));
}

/** True when `path` ends with `_reply` (reply convention, §2.3 / D11). */
export const isReplyPath = (path: readonly string[]): boolean => {
  const last = path[path.length - 1] ?? '';
  return last.endsWith(REPLY_SUFFIX) && last.length > REPLY_SUFFIX.length;
};
