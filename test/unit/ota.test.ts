import { networkInterfaces } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseRange } from '../../src/services/ota/download.ts';
import { otaRoute } from '../../src/services/ota/handlers.ts';
import { checkLink, defaultBaseUrl, firmwareLink, linkSigner } from '../../src/services/ota/links.ts';
import { parseStep, upgradePush } from '../../src/services/ota/model.ts';

const signer = linkSigner(randomBytes(32));
const base = 'http://127.0.0.1:4000';

describe('OTA download links', () => {
  it('accepts its own link until it expires and names the firmware', () => {
    const now = Date.now();
    const link = firmwareLink(signer, `${base}/`, 42, now + 60_000);
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:4000\/ota\/firmware\/42\?expires=\d+&sig=[\w-]+$/);
    const path = link.slice(base.length);
    expect(checkLink(signer, path, now)).toEqual({ ok: true, firmwareId: 42 });
    expect(checkLink(signer, path, now + 60_001)).toEqual({ ok: false, status: 403, reason: 'link expired' });
  });

  it('refuses a link whose id, expiry or signature was changed, and one signed with another key', () => {
    const expires = Date.now() + 60_000;
    const path = firmwareLink(signer, base, 7, expires).slice(base.length);
    const sig = new URL(path, base).searchParams.get('sig')!;
    for (const tampered of [
      path.replace('/7?', '/8?'),
      path.replace(`expires=${expires}`, `expires=${expires + 1}`),
      path.replace(sig, `${sig.slice(0, -2)}AA`),
      path.replace(/&sig=.*/, ''),
      firmwareLink(linkSigner(randomBytes(32)), base, 7, expires).slice(base.length),
    ]) {
      expect(checkLink(signer, tampered, Date.now()), tampered).toMatchObject({ ok: false, status: 403 });
    }
  });

  it('answers 404 for paths that are not a firmware id', () => {
    expect(checkLink(signer, '/ota/firmware/abc?expires=1&sig=x', Date.now())).toMatchObject({
      ok: false,
      status: 404,
    });
    expect(checkLink(signer, '/ota/firmware/1/extra', Date.now())).toMatchObject({ ok: false, status: 404 });
  });

  it('points at this server when no public URL is given: bound to every interface, at an address devices can reach', () => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    expect(defaultBaseUrl('0.0.0.0', 4000)).toBe(`http://${external ?? '127.0.0.1'}:4000`);
    expect(defaultBaseUrl('iot.example.com', 80)).toBe('http://iot.example.com:80');
    expect(defaultBaseUrl('::1', 4000)).toBe('http://[::1]:4000');
  });
});

describe('OTA progress steps (alink-protocol.md §3.9)', () => {
  it('reads 0..100 and the four failure steps, as strings or numbers', () => {
    expect(['0', '1', '95', '100', ' 50 ', 100, -1, '-2', '-3', -4].map(parseStep)).toEqual([
      0, 1, 95, 100, 50, 100, -1, -2, -3, -4,
    ]);
  });

  it('refuses anything else', () => {
    expect(['101', '-5', '1.5', '', 'abc', null, undefined, 2.5, true, '1e2'].map(parseStep)).toEqual(
      Array(10).fill(null),
    );
  });
});

describe('parseRange', () => {
  it('serves one range, open-ended and suffix ranges, clamped to the size', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-500', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
  });

  it('is unsatisfiable past the end, and ignores what it cannot read (the whole body is sent)', () => {
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable');
    expect(parseRange(undefined, 100)).toBeNull();
    expect(parseRange('bytes=0-1,5-6', 100)).toBeNull();
    expect(parseRange('items=0-1', 100)).toBeNull();
    expect(parseRange('bytes=9-1', 100)).toBeNull();
  });
});

describe('upgrade push', () => {
  it('has the reference shape with the digest of the sign method (§3.9)', () => {
    const bytes = Buffer.from('firmware');
    const md5 = createHash('md5').update(bytes).digest('hex');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const fw = { size: bytes.length, version: '2.0.0', module: 'MCU', md5, sha256 };
    expect(JSON.parse(upgradePush(1507707025, { ...fw, signMethod: 'MD5' }, 'http://x/f').toString())).toEqual({
      code: '1000',
      data: {
        size: 8,
        version: '2.0.0',
        url: 'http://x/f',
        md5,
        sign: md5,
        signMethod: 'Md5',
        module: 'MCU',
        isDiff: 0,
      },
      id: 1507707025,
      message: 'success',
    });
    const sha = JSON.parse(upgradePush(1, { ...fw, signMethod: 'SHA256' }, 'http://x/f').toString());
    expect([sha.data.sign, sha.data.signMethod, sha.data.md5]).toEqual([sha256, 'SHA256', md5]);
  });
});

describe('otaRoute', () => {
  it('routes the three device uplinks and not the platform push', () => {
    expect(['inform', 'progress', 'request', 'upgrade'].map((a) => otaRoute(`/ota/device/${a}/pk1/dev1`))).toEqual([
      'inform',
      'progress',
      'request',
      null,
    ]);
    expect(otaRoute('/ota/device/progress/pk1')).toBeNull();
    expect(otaRoute('/sys/pk1/dev1/thing/ota/firmware/get')).toBeNull();
  });
});
