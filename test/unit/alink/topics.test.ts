import { describe, expect, it } from 'vitest';
import {
  broadcastRequestTopic,
  broadcastTopic,
  customTopic,
  extErrorTopic,
  extRegisterTopic,
  extRrpcTopic,
  extSessionTopic,
  ntpRequestTopic,
  ntpResponseTopic,
  otaTopic,
  otaUpgradeTopic,
  parseTopic,
  replyTopic,
  rrpcRequestTopic,
  rrpcResponseTopic,
  shadowTopic,
  sysTopic,
  validateTopicName,
  validateTopicShortName,
} from '../../../src/domain/alink/topics.ts';

const PK = 'a1FVx';
const DN = 'dev1';
const ID = { productKey: PK, deviceName: DN };

describe('parseTopic', () => {
  it.each([
    ['/sys/a1FVx/dev1/thing/event/property/post', { kind: 'sys', ...ID, path: ['thing', 'event', 'property', 'post'] }],
    ['/sys/a1FVx/dev1/rrpc/request/1234', { kind: 'sys', ...ID, path: ['rrpc', 'request', '1234'] }],
    ['/a1FVx/dev1/user/update/error', { kind: 'custom', ...ID, shortName: 'update/error' }],
    ['/ext/ntp/a1FVx/dev1/request', { kind: 'ntpRequest', ...ID }],
    ['/ext/ntp/a1FVx/dev1/response', { kind: 'ntpResponse', ...ID }],
    ['/ota/device/inform/a1FVx/dev1', { kind: 'ota', action: 'inform', ...ID }],
    ['/ota/device/progress/a1FVx/dev1', { kind: 'ota', action: 'progress', ...ID }],
    ['/ota/device/request/a1FVx/dev1', { kind: 'ota', action: 'request', ...ID }],
    ['/ota/device/upgrade/a1FVx/dev1', { kind: 'ota', action: 'upgrade', ...ID }],
    ['/ext/rrpc/42/a1FVx/dev1/user/get', { kind: 'extRrpc', messageId: '42', innerTopic: '/a1FVx/dev1/user/get' }],
    ['/ext/rrpc/42//a1FVx/dev1/user/get', { kind: 'extRrpc', messageId: '42', innerTopic: '/a1FVx/dev1/user/get' }],
    [
      '/ext/rrpc/42/sys/a1FVx/dev1/thing/service/Op',
      { kind: 'extRrpc', messageId: '42', innerTopic: '/sys/a1FVx/dev1/thing/service/Op' },
    ],
    ['/broadcast/a1FVx/news/today', { kind: 'broadcast', productKey: PK, suffix: 'news/today' }],
    ['/ext/session/a1FVx/dev1/combine/login', { kind: 'extSession', ...ID, action: 'combine/login' }],
    [
      '/ext/session/a1FVx/dev1/combine/batch_logout_reply',
      { kind: 'extSession', ...ID, action: 'combine/batch_logout_reply' },
    ],
    ['/ext/error/a1FVx/dev1', { kind: 'extError', ...ID }],
    ['/shadow/update/a1FVx/dev1', { kind: 'shadow', action: 'update', ...ID }],
    ['/shadow/get/a1FVx/dev1', { kind: 'shadow', action: 'get', ...ID }],
    ['/ext/register', { kind: 'extRegister', mode: 'register' }],
    ['/ext/regnwl', { kind: 'extRegister', mode: 'regnwl' }],
  ])('parses %s', (topic, expected) => {
    expect(parseTopic(topic)).toEqual(expected);
  });

  it.each([
    'sys/a1FVx/dev1/thing/event/property/post', // no leading slash
    '/sys/a1FVx/dev1',
    '/sys/a1FVx/dev1/',
    '/sys//dev1/thing/event/property/post',
    '/sys/a1FVx/+/thing/event/property/post',
    '/sys/a1FVx/dev1/thing//post',
    '/a1FVx/dev1/update', // very old form without /user is not supported
    '/a1FVx/dev1/user',
    '/a1FVx/dev1/user/',
    '/ota/device/rollback/a1FVx/dev1',
    '/ota/device/inform/a1FVx',
    '/ext/ntp/a1FVx/dev1/other',
    '/ext/rrpc/42',
    '/ext/rrpc/42/',
    '/ext/rrpc//a1FVx/dev1/user/get',
    '/ext/rrpc/42///a1FVx/dev1/user/get',
    '/broadcast/a1FVx',
    '/shadow/delete/a1FVx/dev1',
    '/ext/session/a1FVx/dev1',
    '/ext/error/a1FVx/dev1/x',
    '/as/mqtt/status/a1FVx/dev1',
    '$SYS/broker',
  ])('returns unknown for %j', (topic) => {
    expect(parseTopic(topic)).toEqual({ kind: 'unknown' });
  });
});

describe('validateTopicName', () => {
  it('accepts a custom topic of 128 characters with 7 separators', () => {
    const t = `/${PK}/${DN}/user/a/b/${'c'.repeat(128 - `/${PK}/${DN}/user/a/b/`.length)}`;
    expect(t).toHaveLength(128);
    expect(validateTopicName(t).ok).toBe(true);
  });
  it('rejects a custom topic longer than 128 characters or with more than 7 separators', () => {
    expect(validateTopicName(`/${PK}/${DN}/user/${'x'.repeat(120)}`).ok).toBe(false);
    expect(validateTopicName(`/${PK}/${DN}/user/a/b/c/d/e`).ok).toBe(false);
  });
  it('does not apply the custom limits to /sys/ and /ext/rrpc/ topics', () => {
    expect(validateTopicName(`/sys/${PK}/${DN}/thing/event/property/history/post_reply`).ok).toBe(true);
    expect(
      validateTopicName(`/ext/rrpc/1234567890123456789/sys/${PK}/${'d'.repeat(32)}/thing/service/${'s'.repeat(50)}`).ok,
    ).toBe(true);
  });
  it('rejects wildcards and topics without a leading slash', () => {
    expect(validateTopicName(`/${PK}/${DN}/user/+`).ok).toBe(false);
    expect(validateTopicName(`${PK}/${DN}/user/get`).ok).toBe(false);
  });
});

describe('validateTopicShortName', () => {
  it('accepts letters, digits and underscore levels', () => {
    expect(validateTopicShortName('update/error_2', 'PUB').ok).toBe(true);
  });
  it('accepts wildcards in SUB and ALL categories but not in PUB ones', () => {
    expect(validateTopicShortName('cmd/+', 'SUB').ok).toBe(true);
    expect(validateTopicShortName('cmd/#', 'ALL').ok).toBe(true);
    expect(validateTopicShortName('cmd/+', 'PUB').ok).toBe(false);
  });
  it.each(['', 'a//b', 'a-b', 'a/#/b', 'a/b/c/d/e', 'a+'])('rejects %j', (s) => {
    expect(validateTopicShortName(s, 'SUB').ok).toBe(false);
  });
});

describe('topic formatting', () => {
  it('formats the downstream topics the platform sends', () => {
    expect(sysTopic(PK, DN, 'thing/service/property/set')).toBe('/sys/a1FVx/dev1/thing/service/property/set');
    expect(sysTopic(PK, DN, '/thing/config/push')).toBe('/sys/a1FVx/dev1/thing/config/push');
    expect(replyTopic('/sys/a1FVx/dev1/thing/event/property/post')).toBe(
      '/sys/a1FVx/dev1/thing/event/property/post_reply',
    );
    expect(rrpcRequestTopic(PK, DN, '99')).toBe('/sys/a1FVx/dev1/rrpc/request/99');
    expect(rrpcResponseTopic(PK, DN, '99')).toBe('/sys/a1FVx/dev1/rrpc/response/99');
    expect(broadcastTopic(PK, 'news')).toBe('/broadcast/a1FVx/news');
    expect(broadcastRequestTopic(PK, DN, '7')).toBe('/sys/a1FVx/dev1/broadcast/request/7');
    expect(ntpResponseTopic(PK, DN)).toBe('/ext/ntp/a1FVx/dev1/response');
    expect(ntpRequestTopic(PK, DN)).toBe('/ext/ntp/a1FVx/dev1/request');
    expect(otaUpgradeTopic(PK, DN)).toBe('/ota/device/upgrade/a1FVx/dev1');
    expect(otaTopic('progress', PK, DN)).toBe('/ota/device/progress/a1FVx/dev1');
    expect(extRegisterTopic()).toBe('/ext/register');
    expect(extRegisterTopic('regnwl')).toBe('/ext/regnwl');
    expect(extSessionTopic(PK, DN, 'combine/login_reply')).toBe('/ext/session/a1FVx/dev1/combine/login_reply');
    expect(extErrorTopic(PK, DN)).toBe('/ext/error/a1FVx/dev1');
    expect(shadowTopic('get', PK, DN)).toBe('/shadow/get/a1FVx/dev1');
    expect(customTopic(PK, DN, 'get')).toBe('/a1FVx/dev1/user/get');
  });
  it('formats custom RRPC topics with a single slash whatever the inner topic looks like (D13)', () => {
    expect(extRrpcTopic('5', '/a1FVx/dev1/user/get')).toBe('/ext/rrpc/5/a1FVx/dev1/user/get');
    expect(extRrpcTopic('5', 'a1FVx/dev1/user/get')).toBe('/ext/rrpc/5/a1FVx/dev1/user/get');
    expect(parseTopic(extRrpcTopic('5', '/sys/a1FVx/dev1/thing/service/Op'))).toEqual({
      kind: 'extRrpc',
      messageId: '5',
      innerTopic: '/sys/a1FVx/dev1/thing/service/Op',
    });
  });
});
