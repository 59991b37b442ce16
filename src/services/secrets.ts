import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Device and product secrets must be readable by the server (HMAC login verification needs the key itself), so they
 * are stored encrypted with AES-256-GCM under the platform's secret key, never hashed and never returned by the API
 * after registration. API tokens, which the server only needs to recognise, are stored as SHA-256 hashes.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('secret key must be 32 bytes');
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1.${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${ct.toString('base64url')}`;
  }

  /** A key for one purpose (e.g. signing download links), derived from the platform key: the same on every instance. */
  deriveKey(label: string): Buffer {
    return createHmac('sha256', this.key).update(`thingql:${label}`).digest();
  }

  decrypt(boxed: string): string {
    const [v, iv, tag, ct] = boxed.split('.');
    if (v !== 'v1' || !iv || !tag || ct === undefined) throw new Error('unreadable secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Constant-time comparison of two hex digests (or any two strings) of possibly different lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniform random string over [A-Za-z0-9] (rejection sampling, no modulo bias). */
export function randomAlnum(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248 && out.length < length) out += ALNUM[b % 62];
    }
  }
  return out;
}

/** Product keys look like the reference's (11 characters, e.g. `a1B2c3D4e5F`). */
export const newProductKey = (): string => `a1${randomAlnum(9)}`;
export const newProductSecret = (): string => randomAlnum(16);
/** The reference's device secrets are 32 hex characters. */
export const newDeviceSecret = (): string => randomBytes(16).toString('hex');
export const newIotId = (): string => randomAlnum(20);
export const newDeviceName = (): string => randomAlnum(20);
/** API tokens: `tq_` + 43 characters of 256-bit randomness. */
export const newApiToken = (): string => `tq_${randomBytes(32).toString('base64url')}`;
