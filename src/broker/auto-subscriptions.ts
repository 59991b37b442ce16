import { sysTopic } from '../domain/alink/topics.ts';

/** alink-protocol.md D19: the downstream system topics a device is subscribed to at login. */
export function autoSubscriptions(pk: string, dn: string): string[] {
  return [
    sysTopic(pk, dn, 'thing/service/+'),
    // D19 means "property set and every service"; `+` is one level, so property/set and property/get need their own.
    sysTopic(pk, dn, 'thing/service/property/+'),
    sysTopic(pk, dn, 'thing/event/+/post_reply'),
    sysTopic(pk, dn, 'thing/event/property/post_reply'),
    sysTopic(pk, dn, 'thing/event/property/history/post_reply'),
    sysTopic(pk, dn, 'thing/model/down_raw'),
    sysTopic(pk, dn, 'thing/model/up_raw_reply'),
    sysTopic(pk, dn, 'thing/deviceinfo/+'),
    sysTopic(pk, dn, 'thing/config/push'),
    sysTopic(pk, dn, 'rrpc/request/+'),
    sysTopic(pk, dn, 'broadcast/request/+'),
    `/ota/device/upgrade/${pk}/${dn}`,
    `/ext/ntp/${pk}/${dn}/response`,
  ];
}
