/**
 * Device topic ACL — alink-protocol.md D7, as two pure functions. The identity is the `${pk}/${dn}` taken from the
 * MQTT *username* (§8.3). For a gateway, the broker may additionally evaluate the same functions with the identity
 * of each logged-in sub-device (§1.7: "sub-device traffic uses the sub-device's own topics on the gateway's
 * connection"; the Node SDK subscribes the sub-device's preset topics after combine/login succeeds).
 */
import { parseTopic, validateTopicName } from './topics.ts';
import { sysPathDirection } from './sys-direction.ts';
import { filterIsWithin, isValidFilter, isValidTopicName, topicMatches } from './topic-filter.ts';

export interface DeviceIdentity {
  productKey: string;
  deviceName: string;
}

export type TopicOperation = 'PUB' | 'SUB' | 'ALL';

/** A product topic category (§2.2): the custom topic is `/${pk}/${dn}/user/${topicShortName}`. */
export interface TopicCategory {
  topicShortName: string;
  operation: TopicOperation;
}

/** An identity level must be a literal MQTT level: otherwise `/sys/${pk}/...` filters would gain wildcards. */
const validIdentity = ({ productKey, deviceName }: DeviceIdentity): boolean =>
  [productKey, deviceName].every((l) => l.length > 0 && !/[/+#\u0000]/.test(l));

const isOwn = (id: DeviceIdentity, t: { productKey: string; deviceName: string }): boolean =>
  t.productKey === id.productKey && t.deviceName === id.deviceName;

/**
 * Category filters of the device, built with its own literal pk/dn so a wildcard in a short name (`+`, `#`) can
 * never reach another device's namespace (§2.1: wildcards in categories; D7 custom topics).
 */
function categoryFilters(id: DeviceIdentity, categories: readonly TopicCategory[], ops: TopicOperation[]): string[] {
  return categories
    .filter((c) => ops.includes(c.operation) && c.topicShortName.length > 0)
    .map((c) => `/${id.productKey}/${id.deviceName}/user/${c.topicShortName.replace(/^\/+/, '')}`)
    .filter(isValidFilter);
}

/**
 * Own /sys/ paths a device may publish (D7 "`/sys/${pk}/${dn}/...` requests and replies"):
 * - upstream requests (`thing/event/.../post`, `thing/deviceinfo/update`, `thing/topo/add`, …) — sys-direction.ts;
 * - replies to downstream requests (`thing/service/property/set_reply`, `thing/service/${id}_reply`,
 *   `thing/config/push_reply`, …) and `rrpc/response/${id}` (§2.5, D12);
 * - NOT downstream requests (`thing/service/property/set`, `thing/service/${id}`, `thing/model/down_raw`,
 *   `thing/config/push`, `thing/disable|enable|delete`, `thing/topo/add/notify`, `thing/topo/change`,
 *   `rrpc/request/${id}`, `broadcast/request/${id}`) nor platform replies (`thing/event/property/post_reply`, …);
 * - paths not in the catalogue: allowed under `thing/` and `_thing/` only — the reference's legacy basic permission
 *   is `/sys/${pk}/${dn}/thing/#` pub+sub (§2.2), and ThingQL must accept what real devices send (§9 preamble).
 */
function canPublishSysPath(path: readonly string[]): boolean {
  const dir = sysPathDirection(path);
  if (dir !== null) return dir === 'up';
  return path[0] === 'thing' || path[0] === '_thing';
}

/** §1.7: the gateway's sub-device session requests; their `_reply`s are downstream. */
const SESSION_UPSTREAM: readonly string[] = [
  'combine/login',
  'combine/logout',
  'combine/batch_login',
  'combine/batch_logout',
];

/** D7: a device may publish only to its own upstream topics. Never wildcards, never `$` topics. */
export function canPublish(id: DeviceIdentity, topic: string, categories: readonly TopicCategory[]): boolean {
  if (!validIdentity(id) || !isValidTopicName(topic)) return false;
  const t = parseTopic(topic);
  switch (t.kind) {
    case 'sys': // D7: own /sys/ requests and replies; D12: rrpc/response
      return isOwn(id, t) && canPublishSysPath(t.path);
    case 'custom': // D7: custom topics with PUB or ALL (category wildcards match), within §2.1's name limits
      return (
        isOwn(id, t) &&
        validateTopicName(topic).ok &&
        categoryFilters(id, categories, ['PUB', 'ALL']).some((f) => topicMatches(f, topic))
      );
    case 'ntpRequest': // D7 / D16
      return isOwn(id, t);
    case 'ota': // D7: /ota/device/{inform,progress,request}/${pk}/${dn}; `upgrade` is downstream
      return isOwn(id, t) && t.action !== 'upgrade';
    case 'shadow': // D7: /shadow/update only; /shadow/get is the platform's answer
      return isOwn(id, t) && t.action === 'update';
    case 'extSession': // §1.7: gateway sub-device login/logout in its own namespace; `_reply`s are downstream
      return isOwn(id, t) && SESSION_UPSTREAM.includes(t.action);
    case 'extRrpc':
      return canAnswerExtRrpc(id, t.innerTopic);
    default: // broadcast, ntpResponse, extError, extRegister: downstream only; unknown: not in the catalogue
      return false;
  }
}

/**
 * D7 "RRPC responses for itself", D12 (older sync-service form `/ext/rrpc/${id}/sys/${pk}/${dn}/thing/service/${id}`)
 * and D13 (custom RRPC: the device answers on the request topic). The inner topic is typically a *downstream* topic
 * (a SUB category, a service topic), so any own /sys/ path or own custom topic is accepted: the response only
 * completes an RRPC call the platform addressed to this device.
 */
function canAnswerExtRrpc(id: DeviceIdentity, innerTopic: string): boolean {
  const inner = parseTopic(innerTopic);
  return (inner.kind === 'sys' || inner.kind === 'custom') && isOwn(id, inner);
}

/**
 * Filters covering the device's own downstream topics (D7). `/ext/error/${pk}/${dn}` is not named in D7's list but
 * is one of the device's own downstream topics (§2.4, sub-device errors for gateways), so it is included.
 * For RRPC (D12/D13, §2.5) both the single-slash (`/ext/rrpc/+/sys/...`, C SDK) and the double-slash
 * (`/ext/rrpc/+//${pk}/...`, Go client) forms are listed, each limited to the device's own /sys/ and custom topics.
 */
function allowedSubscribeFilters(id: DeviceIdentity, categories: readonly TopicCategory[]): string[] {
  const { productKey: pk, deviceName: dn } = id;
  return [
    `/sys/${pk}/${dn}/#`,
    `/ext/session/${pk}/${dn}/#`,
    `/ext/ntp/${pk}/${dn}/response`,
    `/ext/error/${pk}/${dn}`,
    `/ota/device/upgrade/${pk}/${dn}`,
    `/shadow/get/${pk}/${dn}`,
    `/ext/rrpc/+/sys/${pk}/${dn}/#`,
    `/ext/rrpc/+//sys/${pk}/${dn}/#`,
    `/ext/rrpc/+/${pk}/${dn}/user/#`,
    `/ext/rrpc/+//${pk}/${dn}/user/#`,
    `/broadcast/${pk}/#`,
    ...categoryFilters(id, categories, ['SUB', 'ALL']),
  ];
}

/**
 * D7: a device may subscribe only to its own downstream topics. A wildcard filter is granted only when *every* topic
 * it can match lies inside one allowed filter (filterIsWithin): `/${pk}/+/user/get`, `/sys/${pk}/+/thing/#`, `#`,
 * `/sys/#` reach other devices and are denied even though they also cover allowed topics. Coverage by the union of
 * several allowed filters is not considered (conservative: may deny an exotic filter, never grants too much).
 * `$`-filters (e.g. `$share/...`, §2.1 UNCONFIRMED) are never within an allowed filter and are denied.
 */
export function canSubscribe(id: DeviceIdentity, filter: string, categories: readonly TopicCategory[]): boolean {
  if (!validIdentity(id) || !isValidFilter(filter)) return false;
  return allowedSubscribeFilters(id, categories).some((allowed) => filterIsWithin(filter, allowed));
}
