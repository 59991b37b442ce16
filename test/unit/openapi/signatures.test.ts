import { describe, expect, it } from 'vitest';
import { memoryNonceStore } from '../../../src/openapi/nonces.ts';
import { Params, parseUrlEncoded } from '../../../src/openapi/params.ts';
import { parseAcsTime, pct } from '../../../src/openapi/pct.ts';
import {
  acs3Signature,
  acs3StringToSign,
  parseAcs3Authorization,
  sha256Hex,
} from '../../../src/openapi/signature-acs3.ts';
import { rpcSignature, rpcStringToSign } from '../../../src/openapi/signature-rpc.ts';

describe('OpenAPI signatures (cloud-api.md §3 test vectors)', () => {
  it('percent-encodes like the reference: space %20, * %2A, ~ kept', () => {
    expect(pct("a b*~!'()/+é")).toBe('a%20b%2A~%21%27%28%29%2F%2B%C3%A9');
  });

  it('computes the ACS3-HMAC-SHA256 vector', () => {
    const signedHeaders = 'host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version'.split(
      ';',
    );
    const empty = sha256Hex('');
    expect(empty.startsWith('e3b0c442')).toBe(true);
    const headers = {
      host: ['127.0.0.1:4000'],
      'x-acs-action': ['GetDeviceStatus'],
      'x-acs-content-sha256': [empty],
      'x-acs-date': ['2026-12-03T06:37:24Z'],
      'x-acs-signature-nonce': ['0f2c2998f2971564f98218662d650ad4'],
      'x-acs-version': ['2018-01-20'],
    };
    const query = new Map([
      ['ProductKey', 'a1B2c3D4e5F'],
      ['DeviceName', 'lamp 1'],
    ]);
    const sts = acs3StringToSign({ method: 'POST', query, headers, signedHeaders, hashedPayload: empty });
    expect(sts).toBe('ACS3-HMAC-SHA256\nfcf91f8c844283e9f8ed0577d53285e8c9e1b669a16237312ef5e401bbc3315a');
    expect(acs3Signature('testSecret', sts)).toBe('4e905ae1554471bd70e2adbb02c261793ad804c24d07582e81de2604dfa8d4c5');
  });

  it('computes the RPC HMAC-SHA1 vector', () => {
    const params = new Map(
      Object.entries({
        AccessKeyId: 'TQLexampleAccessKeyId001',
        Action: 'GetDeviceStatus',
        DeviceName: 'lamp 1',
        Format: 'json',
        ProductKey: 'a1B2c3D4e5F',
        SignatureMethod: 'HMAC-SHA1',
        SignatureNonce: '45e78b41f6e4c0442cde055d64af1af6',
        SignatureVersion: '1.0',
        Timestamp: '2026-12-03T06:37:24Z',
        Version: '2018-01-20',
        Signature: 'ignored',
      }),
    );
    expect(rpcStringToSign('POST', params).startsWith('POST&%2F&AccessKeyId%3D')).toBe(true);
    expect(rpcSignature('testSecret', rpcStringToSign('POST', params))).toBe('/jhwoXg50NGStEpj8hQ3w0v7ZeQ=');
  });

  it('refuses other algorithms and authorization headers missing a required signed header', () => {
    for (const h of [
      'ACS3-HMAC-SM3 Credential=a,SignedHeaders=host,Signature=x',
      'Bearer abc',
      'ACS3-HMAC-SHA256 Credential=a,Signature=x',
    ]) {
      expect(() => parseAcs3Authorization(h), h).toThrow(
        expect.objectContaining({ code: 'IncompleteSignature', status: 400 }),
      );
    }
    expect(() =>
      parseAcs3Authorization('ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host;x-acs-action,Signature=x'),
    ).toThrow(/x-acs-version/);
  });

  it('parses times strictly and decodes + as space only in form bodies', () => {
    expect(parseAcsTime('2026-12-03T06:37:24Z')).toBe(Date.UTC(2026, 11, 3, 6, 37, 24));
    expect(parseAcsTime('2026-12-03 06:37:24')).toBeNull();
    expect(parseUrlEncoded('a=x+y%20z', false).get('a')).toBe('x+y z');
    expect(parseUrlEncoded('a=x+y%20z', true).get('a')).toBe('x y z');
    expect(() => parseUrlEncoded('a=%E0%A4%A', false)).toThrow(expect.objectContaining({ status: 400 }));
  });

  it('reads flattened lists in index order and reports missing parameters by name', () => {
    const p = new Params(
      new Map([
        ['DeviceName.2', 'b'],
        ['DeviceName.10', 'c'],
        ['DeviceName.1', 'a'],
        ['Qos', '2'],
      ]),
    );
    expect(p.list('DeviceName')).toEqual(['a', 'b', 'c']);
    expect(() => p.req('ProductKey')).toThrow(
      expect.objectContaining({ code: 'MissingProductKey', message: 'ProductKey is mandatory for this action.' }),
    );
    expect(() => p.int('Qos', { min: 0, max: 1 })).toThrow(
      expect.objectContaining({ code: 'iot.common.InvalidFormattedParameter' }),
    );
  });

  it('remembers a nonce per AccessKey until it expires', async () => {
    let now = 1_000;
    const store = memoryNonceStore(1_000_000, () => now);
    expect(await store.remember('k1', 'n', 60_000)).toBe(true);
    expect(await store.remember('k1', 'n', 60_000)).toBe(false);
    expect(await store.remember('k2', 'n', 60_000)).toBe(true);
    expect(await store.remember('k3', 'n', 1)).toBe(true);
    now += 2;
    expect(await store.remember('k3', 'n', 1)).toBe(true);
  });
});
