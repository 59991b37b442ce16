import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getParam, parseClientId, parseUsername } from '../../../src/domain/auth/client-id.ts';
import {
  hmacHex,
  normalizeSignMethod,
  registerSignContent,
  signContent,
  verifyDeviceLogin,
  verifySignature,
} from '../../../src/domain/auth/signature.ts';

const require = createRequire(import.meta.url);

// alink-protocol.md §1.3 example; expected values computed independently with `openssl dgst -hmac ds-secret`.
const CONTENT = 'clientId12345deviceNamedev1productKeya1FVxtimestamp789';
const SECRET = 'ds-secret';
const VECTORS = {
  hmacmd5: '3562d7f19d193f4cabc6ea109aa2cd57',
  hmacsha1: '43a5ebb51ed45755e5cfbd3ce65b7e5c05cf5729',
  hmacsha256: '79f40e1984738a0ddc70381b408da47c2fe8ebeb391f50857ace57de5d0393b4',
} as const;

describe('signContent', () => {
  it('concatenates sorted name+value pairs without separators (§1.3 example)', () => {
    expect(signContent({ productKey: 'a1FVx', timestamp: '789', deviceName: 'dev1', clientId: '12345' })).toBe(CONTENT);
  });
  it('omits clientId and timestamp when they are not given', () => {
    expect(signContent({ deviceName: 'dev1', productKey: 'a1FVx' })).toBe('deviceNamedev1productKeya1FVx');
  });
  it('builds the dynamic-registration content deviceName…productKey…random… (§1.6)', () => {
    expect(registerSignContent({ deviceName: 'dev1', productKey: 'a1FVx', random: 'r4nd0m' })).toBe(
      'deviceNamedev1productKeya1FVxrandomr4nd0m',
    );
    expect(hmacHex('hmacsha1', 'ps-secret', 'deviceNamedev1productKeya1FVxrandomr4nd0m')).toBe(
      '420495aa958efba15b7c01de0fb5c3277f3eb8f3',
    );
  });
});

describe('hmacHex / verifySignature', () => {
  for (const [method, hex] of Object.entries(VECTORS) as [keyof typeof VECTORS, string][]) {
    it(`computes the ${method} vector of the §1.3 example as lower-case hex`, () => {
      expect(hmacHex(method, SECRET, CONTENT)).toBe(hex);
    });
    it(`accepts the ${method} signature in lower and upper case`, () => {
      expect(verifySignature(method, SECRET, CONTENT, hex)).toBe(true);
      expect(verifySignature(method, SECRET, CONTENT, hex.toUpperCase())).toBe(true);
    });
  }
  it('rejects a signature made with the wrong secret', () => {
    expect(verifySignature('hmacsha1', 'other-secret', CONTENT, VECTORS.hmacsha1)).toBe(false);
  });
  it('rejects a signature of another method (md5 hex checked as sha1) without throwing on the length mismatch', () => {
    expect(verifySignature('hmacsha1', SECRET, CONTENT, VECTORS.hmacmd5)).toBe(false);
    expect(verifySignature('hmacsha256', SECRET, CONTENT, '')).toBe(false);
  });
  it('rejects a signature differing in one hex digit', () => {
    const bad = `${VECTORS.hmacsha1.slice(0, -1)}0`;
    expect(verifySignature('hmacsha1', SECRET, CONTENT, bad)).toBe(false);
  });
});

describe('normalizeSignMethod', () => {
  it('accepts the three methods in any case', () => {
    expect(normalizeSignMethod('HmacSHA256')).toBe('hmacsha256');
    expect(normalizeSignMethod('HMACMD5')).toBe('hmacmd5');
    expect(normalizeSignMethod('hmacsha1')).toBe('hmacsha1');
  });
  it('returns null for unsupported methods', () => {
    expect(normalizeSignMethod('sha256')).toBeNull();
    expect(normalizeSignMethod('hmacsha512')).toBeNull();
    expect(normalizeSignMethod('')).toBeNull();
  });
});

describe('parseClientId', () => {
  it('splits the §1.3 example into clientId and params', () => {
    expect(parseClientId('12345|securemode=3,signmethod=hmacsha1,timestamp=789|')).toEqual({
      ok: true,
      value: { clientId: '12345', params: { securemode: '3', signmethod: 'hmacsha1', timestamp: '789' } },
    });
  });
  it('keeps unknown keys such as lan and _v of the Node SDK and tolerates whitespace around keys', () => {
    const r = parseClientId('a1&d| securemode = 3 ,\n signmethod=hmacsha1, lan=NodeJS,_v=1.2.8,|');
    expect(r.ok && r.value.params).toEqual({ securemode: '3', signmethod: 'hmacsha1', lan: 'NodeJS', _v: '1.2.8' });
  });
  it('accepts a missing closing bar and an empty clientId', () => {
    expect(parseClientId('|securemode=2,signmethod=hmacmd5')).toEqual({
      ok: true,
      value: { clientId: '', params: { securemode: '2', signmethod: 'hmacmd5' } },
    });
  });
  it.each([
    ['no bar at all', 'plain-mqtt-client'],
    ['text after the closing bar', 'id|securemode=3|junk'],
    ['too many bars', 'id|a=1|b=2|'],
    ['an item without =', 'id|securemode|'],
    ['an empty key', 'id|=3|'],
    ['a duplicate key', 'id|timestamp=1,timestamp=2|'],
    ['a clientId of 65 characters', `${'x'.repeat(65)}|securemode=3|`],
  ])('rejects a ClientId with %s', (_name, raw) => {
    expect(parseClientId(raw).ok).toBe(false);
  });
  it('accepts a clientId of exactly 64 characters', () => {
    expect(parseClientId(`${'x'.repeat(64)}|securemode=3|`).ok).toBe(true);
  });
  it('looks params up case-insensitively', () => {
    expect(getParam({ signMethod: 'hmacsha1' }, 'signmethod')).toBe('hmacsha1');
  });
});

describe('parseUsername', () => {
  it('reads deviceName&productKey', () => {
    expect(parseUsername('dev1&a1FVx')).toEqual({ ok: true, value: { deviceName: 'dev1', productKey: 'a1FVx' } });
  });
  it.each(['dev1', 'dev1&', '&a1FVx', 'a&b&c', ''])('rejects %j', (u) => {
    expect(parseUsername(u).ok).toBe(false);
  });
});

describe('verifyDeviceLogin', () => {
  const base = {
    rawClientId: '12345|securemode=3,signmethod=hmacsha1,timestamp=789|',
    username: 'dev1&a1FVx',
    password: VECTORS.hmacsha1,
    deviceSecret: SECRET,
  };
  it('accepts the §1.3 example and returns the identity', () => {
    const r = verifyDeviceLogin(base);
    expect(r.ok && r.value).toMatchObject({
      clientId: '12345',
      productKey: 'a1FVx',
      deviceName: 'dev1',
      signMethod: 'hmacsha1',
      timestamp: '789',
    });
  });
  it('accepts the password as an upper-case hex Buffer and the signmethod in any case', () => {
    const rawClientId = '12345|securemode=2,signmethod=HmacSha256,timestamp=789|';
    const password = Buffer.from(VECTORS.hmacsha256.toUpperCase());
    expect(verifyDeviceLogin({ ...base, rawClientId, password }).ok).toBe(true);
  });
  it('omits the timestamp from the content when the ClientId carries none', () => {
    const password = hmacHex('hmacmd5', SECRET, 'clientId12345deviceNamedev1productKeya1FVx');
    expect(verifyDeviceLogin({ ...base, rawClientId: '12345|securemode=3,signmethod=hmacmd5|', password }).ok).toBe(
      true,
    );
  });
  it.each([
    ['a wrong secret', { deviceSecret: 'nope' }, 'BAD_SIGNATURE'],
    [
      'a timestamp differing from the signed one',
      { rawClientId: '12345|securemode=3,signmethod=hmacsha1,timestamp=790|' },
      'BAD_SIGNATURE',
    ],
    ['another device in the username', { username: 'dev2&a1FVx' }, 'BAD_SIGNATURE'],
    ['an unsupported signmethod', { rawClientId: '12345|securemode=3,signmethod=sha1|' }, 'UNSUPPORTED_SIGN_METHOD'],
    ['a missing signmethod', { rawClientId: '12345|securemode=3|' }, 'UNSUPPORTED_SIGN_METHOD'],
    ['a malformed ClientId', { rawClientId: '12345' }, 'MALFORMED_CLIENT_ID'],
    ['a malformed username', { username: 'dev1' }, 'MALFORMED_USERNAME'],
    ['no password', { password: undefined }, 'MISSING_PASSWORD'],
    [
      'authType=register',
      { rawClientId: '12345|securemode=2,authType=register,random=1,signmethod=hmacsha1|' },
      'NOT_SECRET_AUTH',
    ],
  ])('rejects %s', (_name, patch, reason) => {
    const r = verifyDeviceLogin({ ...base, ...patch });
    expect(r.ok ? null : r.error.reason).toBe(reason);
  });
  it('enforces a configured clock skew only when asked to', () => {
    expect(verifyDeviceLogin({ ...base, maxClockSkewMs: 1000, nowMs: 5000 }).ok).toBe(false);
    expect(verifyDeviceLogin({ ...base, maxClockSkewMs: 1000, nowMs: 1500 }).ok).toBe(true);
  });
  it('reads a ten-digit timestamp as seconds for the clock skew (Python Link SDK)', () => {
    const seconds = '1764750000';
    const rawClientId = `12345|securemode=3,signmethod=hmacsha1,timestamp=${seconds}|`;
    const password = hmacHex(
      'hmacsha1',
      base.deviceSecret,
      `clientId12345deviceNamedev1productKeya1FVxtimestamp${seconds}`,
    );
    const at = Number(seconds) * 1000;
    expect(verifyDeviceLogin({ ...base, rawClientId, password, maxClockSkewMs: 60_000, nowMs: at + 30_000 }).ok).toBe(
      true,
    );
    expect(verifyDeviceLogin({ ...base, rawClientId, password, maxClockSkewMs: 60_000, nowMs: at + 120_000 }).ok).toBe(
      false,
    );
  });
});

describe('alibabacloud-iot-device-sdk 1.2.8 compatibility', () => {
  // The SDK's own code paths: lib/model.js (genConnectPrarms) and lib/utils.js (hmacSign, signUtil).
  const Model = require('alibabacloud-iot-device-sdk/lib/model.js');
  const utils = require('alibabacloud-iot-device-sdk/lib/utils.js');
  afterEach(() => vi.restoreAllMocks());

  it('verifies the CONNECT fields the SDK generates for fixed inputs', () => {
    const model = new Model({ ProductKey: 'a1FVx', DeviceName: 'dev1', DeviceSecret: SECRET });
    model.timestamp = 789;
    const p = model.genConnectPrarms();
    expect(p.clientId).toBe('a1FVx&dev1|securemode=3,signmethod=hmacsha1,timestamp=789,lan=NodeJS,_v=1.2.8|');
    expect(p.username).toBe('dev1&a1FVx');
    expect([p.keepalive, p.clean]).toEqual([60, false]);
    expect(p.password).toBe(hmacHex('hmacsha1', SECRET, 'clientIda1FVx&dev1deviceNamedev1productKeya1FVxtimestamp789'));
    const r = verifyDeviceLogin({
      rawClientId: p.clientId,
      username: p.username,
      password: p.password,
      deviceSecret: SECRET,
    });
    expect(r.ok && r.value.clientId).toBe('a1FVx&dev1');
  });

  it('reproduces the SDK hmacSign helper for the §1.3 content', () => {
    expect(utils.hmacSign('sha1', SECRET, CONTENT)).toBe(VECTORS.hmacsha1);
  });

  it('verifies the sub-device sign of the SDK gateway login (utils.signUtil)', () => {
    vi.spyOn(Date, 'now').mockReturnValue(1_700_000_000_000);
    const s = utils.signUtil({ productKey: 'a1Sub', deviceName: 'sub1', deviceSecret: 'sub-secret' });
    expect(s).toMatchObject({ clientId: 'a1Sub&sub1', timestamp: 1_700_000_000_000, signMethod: 'hmacsha1' });
    const content = signContent({
      clientId: s.clientId,
      deviceName: 'sub1',
      productKey: 'a1Sub',
      timestamp: String(s.timestamp),
    });
    expect(verifySignature('hmacsha1', 'sub-secret', content, s.sign)).toBe(true);
  });

  it('accepts an SDK device configured with signAlgorithm md5, which announces hmacmd5 but signs with SHA-1', () => {
    const model = new Model({ productKey: 'a1FVx', deviceName: 'dev1', deviceSecret: SECRET, signAlgorithm: 'md5' });
    const p = model.genConnectPrarms();
    expect(p.clientId).toContain('signmethod=hmacmd5');
    expect(p.password).toHaveLength(40); // SHA-1, not MD5
    const r = verifyDeviceLogin({
      rawClientId: p.clientId,
      username: p.username,
      password: p.password,
      deviceSecret: SECRET,
    });
    expect(r.ok).toBe(true);
    const wrong = verifyDeviceLogin({
      rawClientId: p.clientId,
      username: p.username,
      password: p.password,
      deviceSecret: 'other-secret',
    });
    expect(wrong.ok).toBe(false);
  });
});
