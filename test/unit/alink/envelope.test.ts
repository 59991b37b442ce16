import { describe, expect, it } from 'vitest';
import { ALINK, defaultMessage, isDeviceDefinedCode } from '../../../src/domain/alink/codes.ts';
import { decodeReply, decodeRequest, encodeReply, encodeRequest } from '../../../src/domain/alink/envelope.ts';

const buf = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('decodeRequest', () => {
  it('decodes the §3.1 envelope', () => {
    const r = decodeRequest(
      buf('{"id":"123","version":"1.0","sys":{"ack":1},"params":{"Power":"on"},"method":"thing.event.property.post"}'),
    );
    expect(r).toEqual({
      ok: true,
      value: {
        id: '123',
        idType: 'string',
        version: '1.0',
        ack: true,
        params: { Power: 'on' },
        method: 'thing.event.property.post',
      },
    });
  });
  it('keeps the Node SDK id with its |exp-topic| suffix verbatim (D11)', () => {
    const id = '7|exp-topic|/sys/a1FVx/dev1/thing/event/property/post_reply';
    const r = decodeRequest(
      buf(JSON.stringify({ id, version: '1.0', params: {}, method: 'thing.event.property.post' })),
    );
    expect(r.ok && r.value.id).toBe(id);
  });
  it('keeps a numeric id as its exact source text, even beyond 2^53', () => {
    const r = decodeRequest(buf('{"params":{"id":1},"id" : 12345678901234567891 ,"method":"m"}'));
    expect(r.ok && [r.value.id, r.value.idType]).toEqual(['12345678901234567891', 'number']);
    const r2 = decodeRequest(buf('{"id":1.50e2}'));
    expect(r2.ok && r2.value.id).toBe('1.50e2');
  });
  it('reads sys.ack 0 as no reply wanted, and defaults to ack', () => {
    expect(decodeRequest(buf('{"id":"1","sys":{"ack":0}}'))).toMatchObject({ ok: true, value: { ack: false } });
    expect(decodeRequest(buf('{"id":"1","sys":{}}'))).toMatchObject({ ok: true, value: { ack: true } });
    expect(decodeRequest(buf('{"id":"1"}'))).toMatchObject({ ok: true, value: { ack: true } });
  });
  it('answers 460 for a missing id but still returns the method and ack it could read', () => {
    expect(decodeRequest(buf('{"sys":{"ack":0},"method":"thing.event.property.post","params":{}}'))).toEqual({
      ok: false,
      error: { code: 460, message: 'id missing', ack: false, method: 'thing.event.property.post' },
    });
  });
  it.each([
    ['not JSON', '{"id":'],
    ['an array', '[{"id":"1"}]'],
    ['a string', '"hello"'],
    ['null', 'null'],
    ['an id of the wrong type', '{"id":{"x":1}}'],
    ['an empty payload', ''],
  ])('answers 460 for %s', (_name, payload) => {
    const r = decodeRequest(buf(payload));
    expect(r.ok ? null : r.error.code).toBe(ALINK.PARAM_ERROR);
  });
  it('ignores a UTF-8 byte order mark', () => {
    expect(decodeRequest(buf('\uFEFF{"id":"1"}')).ok).toBe(true);
  });
});

describe('encodeReply', () => {
  it('writes id, code, data, message, method, version in the reference order with message success', () => {
    const out = encodeReply({ id: '123', code: 200, data: {}, method: 'thing.event.property.post' }).toString();
    expect(out).toBe(
      '{"id":"123","code":200,"data":{},"message":"success","method":"thing.event.property.post","version":"1.0"}',
    );
  });
  it('echoes a numeric id as the same JSON number and a string id as a string', () => {
    expect(JSON.parse(encodeReply({ id: '42', idType: 'number', code: 200 }).toString()).id).toBe(42);
    expect(encodeReply({ id: '12345678901234567891', idType: 'number', code: 200 }).toString()).toContain(
      '"id":12345678901234567891,',
    );
    expect(JSON.parse(encodeReply({ id: '42', code: 200 }).toString()).id).toBe('42');
  });
  it('round-trips a decoded request id exactly', () => {
    const req = decodeRequest(buf('{"id":99,"method":"x"}'));
    if (!req.ok) throw new Error('decode failed');
    expect(encodeReply({ id: req.value.id, idType: req.value.idType, code: 200 }).toString()).toMatch(/^\{"id":99,/);
  });
  it('omits the id when none could be read and carries an error message', () => {
    const out = JSON.parse(encodeReply({ code: 460, message: 'id missing' }).toString());
    expect(out).toEqual({ code: 460, data: {}, message: 'id missing', version: '1.0' });
  });
  it('carries per-property failures in data with code 200 (§3.3 example)', () => {
    const out = encodeReply({
      id: '1',
      code: 200,
      data: { LightSwitch: 'tsl parse: params not exist' },
      method: 'thing.event.property.post',
    });
    expect(out.toString()).toBe(
      '{"id":"1","code":200,"data":{"LightSwitch":"tsl parse: params not exist"},"message":"success","method":"thing.event.property.post","version":"1.0"}',
    );
  });
});

describe('encodeRequest', () => {
  it('shapes downstream requests like the reference (§3.4) without a sys block', () => {
    const out = encodeRequest({
      id: '123',
      method: 'thing.service.property.set',
      params: { temperature: 30.5 },
    }).toString();
    expect(out).toBe(
      '{"id":"123","version":"1.0","params":{"temperature":30.5},"method":"thing.service.property.set"}',
    );
  });
  it('adds sys.ack only when asked', () => {
    expect(JSON.parse(encodeRequest({ id: '1', method: 'm', params: {}, ack: false }).toString()).sys).toEqual({
      ack: 0,
    });
  });
});

describe('decodeReply', () => {
  it('decodes a device reply {id, code, data}', () => {
    expect(decodeReply(buf('{"id":"123","code":200,"data":{"outArg":1}}'))).toEqual({
      ok: true,
      value: { id: '123', idType: 'string', code: 200, data: { outArg: 1 } },
    });
  });
  it('accepts a numeric string code and defaults data to {}', () => {
    expect(decodeReply(buf('{"id":"1","code":"100001"}'))).toMatchObject({
      ok: true,
      value: { code: 100001, data: {} },
    });
  });
  it('answers 460 for a reply without a code', () => {
    expect(decodeReply(buf('{"id":"1","data":{}}'))).toMatchObject({ ok: false, error: { code: 460, id: '1' } });
  });
});

describe('codes', () => {
  it('names the wire values of §3.10 and D10', () => {
    expect([
      ALINK.SUCCESS,
      ALINK.PARAM_ERROR,
      ALINK.METHOD_INVALID,
      ALINK.TSL_PARAMS_NOT_EXIST,
      ALINK.TSL_NOT_INT,
    ]).toEqual([200, 460, 6300, 6304, 6306]);
    expect([ALINK.SUBDEVICE_SIGN_INVALID, ALINK.TOO_MANY_PROPERTIES, ALINK.DEVICE_OFFLINE]).toEqual([6287, 6104, 9201]);
  });
  it('recognises device-defined codes and default messages', () => {
    expect(isDeviceDefinedCode(100000)).toBe(true);
    expect(isDeviceDefinedCode(110001)).toBe(false);
    expect(defaultMessage(200)).toBe('success');
  });
});
