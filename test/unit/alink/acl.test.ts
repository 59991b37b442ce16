import { describe, expect, it } from 'vitest';
import { canPublish, canSubscribe, type TopicCategory } from '../../../src/domain/alink/acl.ts';

const me = { productKey: 'a1FVx', deviceName: 'dev1' };
// D8 defaults plus a wildcard SUB category, a PUB+SUB category and a PUB category with a wildcard.
const categories: TopicCategory[] = [
  { topicShortName: 'update', operation: 'PUB' },
  { topicShortName: 'update/error', operation: 'PUB' },
  { topicShortName: 'get', operation: 'SUB' },
  { topicShortName: 'cmd/+', operation: 'SUB' },
  { topicShortName: 'chat', operation: 'ALL' },
  { topicShortName: 'log/#', operation: 'PUB' },
];
const pub = (t: string): boolean => canPublish(me, t, categories);
const sub = (f: string): boolean => canSubscribe(me, f, categories);

describe('canPublish grants a device its own upstream topics (D7)', () => {
  it.each([
    '/sys/a1FVx/dev1/thing/event/property/post',
    '/sys/a1FVx/dev1/thing/event/alarm/post',
    '/sys/a1FVx/dev1/thing/event/property/history/post',
    '/sys/a1FVx/dev1/thing/event/property/pack/post',
    '/sys/a1FVx/dev1/thing/deviceinfo/update',
    '/sys/a1FVx/dev1/thing/config/get',
    '/sys/a1FVx/dev1/thing/topo/add',
    '/sys/a1FVx/dev1/thing/sub/register',
    '/sys/a1FVx/dev1/thing/model/up_raw',
    '/sys/a1FVx/dev1/thing/service/property/set_reply',
    '/sys/a1FVx/dev1/thing/service/Operation_Service_reply',
    '/sys/a1FVx/dev1/thing/model/down_raw_reply',
    '/sys/a1FVx/dev1/thing/config/push_reply',
    '/sys/a1FVx/dev1/thing/topo/change_reply',
    '/sys/a1FVx/dev1/thing/disable_reply',
    '/sys/a1FVx/dev1/rrpc/response/1234',
    '/sys/a1FVx/dev1/thing/some/future/topic', // legacy thing/# pub permission (§2.2)
    '/a1FVx/dev1/user/update',
    '/a1FVx/dev1/user/update/error',
    '/a1FVx/dev1/user/chat',
    '/a1FVx/dev1/user/log/boot/stage1',
    '/ext/ntp/a1FVx/dev1/request',
    '/ota/device/inform/a1FVx/dev1',
    '/ota/device/progress/a1FVx/dev1',
    '/ota/device/request/a1FVx/dev1',
    '/shadow/update/a1FVx/dev1',
    '/ext/session/a1FVx/dev1/combine/login',
    '/ext/session/a1FVx/dev1/combine/batch_logout',
    '/ext/rrpc/77/a1FVx/dev1/user/get', // custom RRPC answer on the request topic (D13)
    '/ext/rrpc/77//a1FVx/dev1/user/get',
    '/ext/rrpc/77/sys/a1FVx/dev1/thing/service/Op', // older sync-service form (D12)
  ])('allows %s', (t) => {
    expect(pub(t)).toBe(true);
  });
});

describe('canPublish denies downstream, foreign and wildcard topics (D7)', () => {
  it.each([
    '/sys/a1FVx/dev1/thing/service/property/set',
    '/sys/a1FVx/dev1/thing/service/property/get',
    '/sys/a1FVx/dev1/thing/service/Operation_Service',
    '/sys/a1FVx/dev1/thing/model/down_raw',
    '/sys/a1FVx/dev1/thing/config/push',
    '/sys/a1FVx/dev1/thing/topo/add/notify',
    '/sys/a1FVx/dev1/thing/topo/change',
    '/sys/a1FVx/dev1/thing/delete',
    '/sys/a1FVx/dev1/thing/event/property/post_reply', // a platform reply
    '/sys/a1FVx/dev1/thing/deviceinfo/update_reply',
    '/sys/a1FVx/dev1/rrpc/request/1234',
    '/sys/a1FVx/dev1/broadcast/request/1234',
    '/sys/a1FVx/dev1/other/thing',
    '/sys/a1FVx/dev2/thing/event/property/post', // another device
    '/sys/b2OTHER/dev1/thing/event/property/post', // another product
    '/sys/a1FVx/+/thing/event/property/post',
    '/sys/a1FVx/dev1/thing/event/#',
    '/a1FVx/dev1/user/get', // SUB category
    '/a1FVx/dev1/user/cmd/reboot', // SUB wildcard category
    '/a1FVx/dev1/user/undefined_category',
    '/a1FVx/dev2/user/update',
    '/a1FVx/dev1/update', // very old form without /user
    '/ext/ntp/a1FVx/dev1/response',
    '/ext/ntp/a1FVx/dev2/request',
    '/ota/device/upgrade/a1FVx/dev1',
    '/ota/device/inform/a1FVx/dev2',
    '/shadow/get/a1FVx/dev1',
    '/shadow/update/a1FVx/dev2',
    '/broadcast/a1FVx/news',
    '/ext/session/a1FVx/dev1/combine/login_reply',
    '/ext/session/a1FVx/dev2/combine/login',
    '/ext/error/a1FVx/dev1',
    '/ext/register',
    '/ext/rrpc/77/a1FVx/dev2/user/get',
    '/ext/rrpc/77/sys/a1FVx/dev2/thing/service/Op',
    '/ext/rrpc/77/ota/device/upgrade/a1FVx/dev1',
    '/as/mqtt/status/a1FVx/dev1',
    '#',
    '',
    '$SYS/x',
  ])('denies %j', (t) => {
    expect(pub(t)).toBe(false);
  });

  it('denies everything for an identity that would inject wildcards', () => {
    expect(
      canPublish({ productKey: 'a1FVx', deviceName: '+' }, '/sys/a1FVx/+/thing/event/property/post', categories),
    ).toBe(false);
    expect(canSubscribe({ productKey: 'a1FVx', deviceName: '#' }, '/sys/a1FVx/#', categories)).toBe(false);
    expect(canSubscribe({ productKey: 'a1FVx', deviceName: '' }, '/sys/a1FVx//#', categories)).toBe(false);
  });
});

describe('canSubscribe grants a device its own downstream topics (D7)', () => {
  it.each([
    '/sys/a1FVx/dev1/#',
    '/sys/a1FVx/dev1/thing/service/+',
    '/sys/a1FVx/dev1/thing/service/property/set',
    '/sys/a1FVx/dev1/thing/event/+/post_reply',
    '/sys/a1FVx/dev1/rrpc/request/+',
    '/sys/a1FVx/dev1/broadcast/request/+',
    '/sys/a1FVx/dev1/thing/config/#',
    '/ext/session/a1FVx/dev1/#',
    '/ext/session/a1FVx/dev1/combine/login_reply',
    '/ext/ntp/a1FVx/dev1/response',
    '/ext/error/a1FVx/dev1',
    '/ota/device/upgrade/a1FVx/dev1',
    '/shadow/get/a1FVx/dev1',
    '/ext/rrpc/+/sys/a1FVx/dev1/thing/service/+',
    '/ext/rrpc/+//a1FVx/dev1/user/get',
    '/ext/rrpc/+/a1FVx/dev1/user/get',
    '/ext/rrpc/+//sys/a1FVx/dev1/thing/service/+',
    '/broadcast/a1FVx/#',
    '/broadcast/a1FVx/news',
    '/broadcast/a1FVx/+',
    '/a1FVx/dev1/user/get',
    '/a1FVx/dev1/user/chat',
    '/a1FVx/dev1/user/cmd/+',
    '/a1FVx/dev1/user/cmd/reboot',
  ])('allows %s', (f) => {
    expect(sub(f)).toBe(true);
  });
});

describe('canSubscribe denies filters reaching outside the device (D7)', () => {
  it.each([
    ['another device, exact', '/sys/a1FVx/dev2/thing/service/property/set'],
    ['another product, exact', '/sys/b2OTHER/dev1/#'],
    ['another device via +', '/sys/a1FVx/+/thing/service/property/set'],
    ['own product via + and #', '/sys/a1FVx/+/thing/#'],
    ['all of /sys', '/sys/#'],
    ['everything', '#'],
    ['every first level', '+/#'],
    ['every device custom get', '/a1FVx/+/user/get'],
    ['every product custom get', '/+/dev1/user/get'],
    ['custom # mixing SUB and PUB categories', '/a1FVx/dev1/user/#'],
    ['custom + mixing SUB, PUB and undefined', '/a1FVx/dev1/user/+'],
    ['a PUB category', '/a1FVx/dev1/user/update'],
    ['an undefined category', '/a1FVx/dev1/user/nothing'],
    ['cmd/# is wider than the cmd/+ category', '/a1FVx/dev1/user/cmd/#'],
    ['another product broadcast', '/broadcast/b2OTHER/#'],
    ['every product broadcast', '/broadcast/+/news'],
    ['another device ntp', '/ext/ntp/a1FVx/dev2/response'],
    ['ntp request (upstream)', '/ext/ntp/a1FVx/dev1/request'],
    ['every ntp', '/ext/ntp/#'],
    ['another device ota', '/ota/device/upgrade/a1FVx/+'],
    ['ota inform (upstream)', '/ota/device/inform/a1FVx/dev1'],
    ['shadow update (upstream)', '/shadow/update/a1FVx/dev1'],
    ['another device session', '/ext/session/a1FVx/dev2/#'],
    ['every rrpc', '/ext/rrpc/#'],
    ['rrpc of all devices', '/ext/rrpc/+/sys/a1FVx/+/thing/service/+'],
    ['rrpc of another device', '/ext/rrpc/+//a1FVx/dev2/user/get'],
    ['rrpc any topic', '/ext/rrpc/+/#'],
    ['status topic', '/as/mqtt/status/a1FVx/dev1'],
    ['registration result', '/ext/register'],
    ['shared subscription', '$share/g/sys/a1FVx/dev1/#'],
    ['invalid filter', '/sys/a1FVx/dev1/#/x'],
  ])('denies %s (%s)', (_name, f) => {
    expect(sub(f)).toBe(false);
  });

  it('grants /user/# only when a SUB or ALL category covers the whole subtree', () => {
    expect(canSubscribe(me, '/a1FVx/dev1/user/#', [{ topicShortName: '#', operation: 'SUB' }])).toBe(true);
    expect(canSubscribe(me, '/a1FVx/dev1/user/#', [{ topicShortName: '#', operation: 'PUB' }])).toBe(false);
  });
});
