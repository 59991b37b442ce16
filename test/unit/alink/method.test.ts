import { describe, expect, it } from 'vitest';
import {
  checkRequestMethod,
  methodForSysPath,
  sysPathForMethod,
  sysSuffixForMethod,
} from '../../../src/domain/alink/method.ts';
import { sysPathDirection } from '../../../src/domain/alink/sys-direction.ts';

const p = (s: string): string[] => s.split('/');

describe('methodForSysPath / sysPathForMethod', () => {
  it.each([
    ['thing/event/property/post', 'thing.event.property.post'],
    ['thing/event/alarm/post', 'thing.event.alarm.post'],
    ['thing/event/property/history/post', 'thing.event.property.history.post'],
    ['thing/event/property/pack/post', 'thing.event.property.pack.post'],
    ['thing/service/property/set', 'thing.service.property.set'],
    ['thing/service/Operation_Service', 'thing.service.Operation_Service'],
    ['thing/dynamicTsl/get', 'thing.dynamicTsl.get'],
    ['thing/topo/add/notify', 'thing.topo.add.notify'],
  ])('maps %s ↔ %s', (path, method) => {
    expect(methodForSysPath(p(path))).toBe(method);
    expect(sysSuffixForMethod(method)).toBe(path);
  });
  it.each(['thing/event/property/post_reply', 'rrpc/request/1', 'broadcast/request/1', 'thing/model/up_raw', ''])(
    'has no derived method for %j',
    (path) => {
      expect(methodForSysPath(p(path))).toBeNull();
    },
  );
  it.each(['', 'thing..post', 'thing.event.+.post', 'thing.a/b'])('rejects method %j', (m) => {
    expect(sysPathForMethod(m)).toBeNull();
  });
});

describe('checkRequestMethod (D10 6300)', () => {
  it('accepts the matching method', () => {
    expect(checkRequestMethod(p('thing/event/alarm/post'), 'thing.event.alarm.post')).toEqual({
      ok: true,
      value: 'thing.event.alarm.post',
    });
  });
  it('answers 6300 for a missing, empty or mismatching method', () => {
    for (const m of [undefined, '', 'thing.event.other.post', 'Thing.event.alarm.post']) {
      const r = checkRequestMethod(p('thing/event/alarm/post'), m);
      expect(r.ok ? null : r.error.code).toBe(6300);
    }
  });
  it('accepts any method on topics whose method is not derived from the topic (system RRPC)', () => {
    expect(checkRequestMethod(p('rrpc/request/9'), 'thing.service.Op').ok).toBe(true);
  });
});

describe('sysPathDirection', () => {
  it.each([
    ['thing/event/property/post', 'up'],
    ['thing/event/property/post_reply', 'down'],
    ['thing/service/property/set', 'down'],
    ['thing/service/property/set_reply', 'up'],
    ['thing/service/Op_reply', 'up'],
    ['thing/topo/add', 'up'],
    ['thing/topo/add_reply', 'down'],
    ['thing/topo/add/notify', 'down'],
    ['thing/topo/add/notify_reply', 'up'],
    ['thing/config/get', 'up'],
    ['thing/config/push', 'down'],
    ['rrpc/request/5', 'down'],
    ['rrpc/response/5', 'up'],
    ['broadcast/request/5', 'down'],
  ] as const)('%s is %s', (path, dir) => {
    expect(sysPathDirection(p(path))).toBe(dir);
  });
  it.each(['thing/unknown', 'rrpc/request', 'rrpc/request/5_reply/x', 'broadcast/other/1'])(
    '%s is not in the catalogue',
    (path) => {
      expect(sysPathDirection(p(path))).toBeNull();
    },
  );
});
