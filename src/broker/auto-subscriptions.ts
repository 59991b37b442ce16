import { sysTopic } from '../domain/alink/topics.ts';

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

function d19(pk: string, dn: string): string[] {
  return [
    ...D19_SYS.map((path) => sysTopic(pk, dn, path)),
    `/ota/device/upgrade/${pk}/${dn}`,
    `/ext/ntp/${pk}/${dn}/response`,
  ];
}

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

function d22(pk: string, dn: string): string[] {
  return [
    ...D22_SYS.map((path) => sysTopic(pk, dn, path)),
    `/ext/session/${pk}/${dn}/combine/+`,
    `/ext/rrpc/+/sys/${pk}/${dn}/thing/service/+`,
    `/ext/error/${pk}/${dn}`,
    `/shadow/get/${pk}/${dn}`,
  ];
}

/** The platform-side subscriptions of a device session (and of each sub-device logged in over a gateway). */
export function autoSubscriptions(pk: string, dn: string): string[] {
  return [...d19(pk, dn), ...d22(pk, dn)];
}
