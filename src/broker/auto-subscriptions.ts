/** alink-protocol.md D19: the downstream system topics a device is subscribed to at login. */
const D19_SYS = [
  'thing/service/+',
  // D19 means "property set and every service"; `+` is one level, so property/set and property/get need their own.
  'thing/service/property/+',
  'thing/event/+/post_reply',
  'thing/event/property/post_reply',
  'thing/event/property/history/post_reply',
  'thing/model/down_raw',
  'thing/model/up_raw_reply',
  'thing/deviceinfo/+',
  'thing/config/push',
  'rrpc/request/+',
  'broadcast/request/+',
];

/**
 * alink-protocol.md D22: a device whose ClientId carries `_ss=1` (Python Link SDK, C Link SDK 4.x) never subscribes to
 * system topics and dispatches what arrives by exact topic, so every message the platform sends it must arrive without
 * a SUBSCRIBE: the `_reply` of every request it can make, a gateway's `/ext/session/...` replies, the sync-service
 * RRPC form of D21, and the other downstream notices (topology change, shadow, errors). D22 allows giving every
 * Alink-signed device the same set; ThingQL does, so a device's behaviour never depends on a ClientId flag here.
 * Device publishes are never relayed back to devices (broker.ts `authorizeForward`), so a filter that also matches an
 * upstream topic (`thing/deviceinfo/+`) only ever carries the platform's messages.
 */
const D22_SYS = [
  'thing/event/property/pack/post_reply',
  'thing/property/desired/+',
  'thing/topo/+',
  'thing/topo/add/notify',
  'thing/sub/register_reply',
  'thing/list/found_reply',
  'thing/ota/firmware/get_reply',
  'thing/config/get_reply',
  'thing/dsltemplate/get_reply',
  'thing/dynamicTsl/get_reply',
  'thing/disable',
  'thing/enable',
  'thing/delete',
];

/** The non-`/sys` downstream topics of D19 and D22: each its own filter. */
function others(pk: string, dn: string): string[] {
  return [
    `/ota/device/upgrade/${pk}/${dn}`,
    `/ext/ntp/${pk}/${dn}/response`,
    `/ext/session/${pk}/${dn}/combine/+`,
    `/ext/rrpc/+/sys/${pk}/${dn}/thing/service/+`,
    `/ext/error/${pk}/${dn}`,
    `/shadow/get/${pk}/${dn}`,
  ];
}

/** Every D19/D22 path under `/sys/${pk}/${dn}/`, split into levels (`+` is one level). */
const AUTO_SYS = [...D19_SYS, ...D22_SYS];
const AUTO_SYS_LEVELS = AUTO_SYS.map((path) => path.split('/'));
const AUTO_SYS_SET = new Set(AUTO_SYS);

/**
 * The one filter that stands for every D19/D22 `/sys` topic of a device. aedes keeps one entry per filter string and
 * client (a qlobber entry, a closure, and a stored row for a persistent session), so 24 filters per device cost 24 of
 * each; this is one. It is written `+/#` rather than `#` so that it is never the same string as a device's own
 * `/sys/${pk}/${dn}/#` (aedes would merge the two, and the device's filter would then be narrowed by the gate below).
 * It matches more than D19/D22 list: `mayReceive` (subscription-acl.ts) lets through it only the listed topics
 * (`autoCoversSys`), so a platform message or a retained message on any other `/sys` topic of the device reaches it
 * only through a filter of its own, as before.
 */
export const autoSysFilter = (pk: string, dn: string): string => `/sys/${pk}/${dn}/+/#`;

/**
 * The platform-side subscriptions of a device session (and of each sub-device logged in over a gateway): the `/sys`
 * topics of D19 and D22 as one filter, and the others as they are.
 */
export function autoSubscriptions(pk: string, dn: string): string[] {
  return [autoSysFilter(pk, dn), ...others(pk, dn)];
}

/**
 * Whether `filter` is one of the platform-side subscriptions of that device. The ACL allows each of them to the device
 * whatever its product's topic categories (test/unit/broker/auto-subscriptions.test.ts), so they are granted without
 * deciding them again: a login makes seven.
 */
export function isAutoSubscription(pk: string, dn: string, filter: string): boolean {
  return filter === autoSysFilter(pk, dn) || others(pk, dn).includes(filter);
}

/**
 * Whether `path` (the levels after `/sys/${pk}/${dn}/`) is a topic of D19/D22, and so delivered through the automatic
 * filter; `off` names the D19/D22 filters the device has unsubscribed from (D19: "a device's own UNSUBSCRIBE removes
 * one").
 */
export function autoCoversSys(path: readonly string[], off?: (autoPath: string) => boolean): boolean {
  outer: for (let k = 0; k < AUTO_SYS_LEVELS.length; k++) {
    const levels = AUTO_SYS_LEVELS[k]!;
    if (levels.length !== path.length) continue;
    for (let i = 0; i < levels.length; i++) if (levels[i] !== '+' && levels[i] !== path[i]) continue outer;
    if (!off?.(AUTO_SYS[k]!)) return true;
  }
  return false;
}

/** The D19/D22 path of a `/sys/${pk}/${dn}/...` filter of that device, if it is one of the list; else undefined. */
export function autoSysPathOf(pk: string, dn: string, filter: string): string | undefined {
  const prefix = `/sys/${pk}/${dn}/`;
  if (!filter.startsWith(prefix)) return undefined;
  const path = filter.slice(prefix.length);
  return AUTO_SYS_SET.has(path) ? path : undefined;
}

/**
 * The platform's own filters of a device: what `autoSubscriptions` subscribes, and each D19/D22 `/sys` filter (the
 * form sessions stored before the list became one filter). They never count against the device's subscription limit.
 */
export function isAutomaticFilter(pk: string, dn: string, filter: string): boolean {
  return (
    filter === autoSysFilter(pk, dn) || autoSysPathOf(pk, dn, filter) !== undefined || others(pk, dn).includes(filter)
  );
}
