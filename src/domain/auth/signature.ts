/**
 * Alink password signing (alink-protocol.md §1.3, §1.6, §8.2, D2).
 *
 * Cross-checked with alibabacloud-iot-device-sdk 1.2.8: lib/model.js `genConnectPrarms` signs
 * `'clientId' + clientId + 'deviceName' + dn + 'productKey' + pk + 'timestamp' + timestamp` with the DeviceSecret,
 * lower-case hex (crypto-js `toString()`), and lib/utils.js `deviceRegisterSign` signs
 * `'deviceName' + dn + 'productKey' + pk + 'random' + random` with the ProductSecret. Note: the SDK's `hmacSign`
 * ignores its `type` argument and always computes HMAC-SHA1, so an SDK device configured with
 * `signAlgorithm: 'md5'|'sha256'` announces a method it does not use; ThingQL verifies with the announced method (D2)
 * and also accepts HMAC-SHA1 (verifySignatureLenient).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { err, ok, type Result } from '../result.ts';
import { getParam, parseClientId, parseUsername } from './client-id.ts';

export type SignMethod = 'hmacmd5' | 'hmacsha1' | 'hmacsha256';

const DIGEST: Record<SignMethod, string> = { hmacmd5: 'md5', hmacsha1: 'sha1', hmacsha256: 'sha256' };

/** D2: `hmacmd5`, `hmacsha1`, `hmacsha256`, any case (surrounding whitespace ignored); anything else → null. */
export function normalizeSignMethod(s: string): SignMethod | null {
  const m = s.trim().toLowerCase();
  return m === 'hmacmd5' || m === 'hmacsha1' || m === 'hmacsha256' ? m : null;
}

export interface SignFields {
  clientId?: string;
  deviceName: string;
  productKey: string;
  timestamp?: string;
}

/**
 * §1.3: parameter names sorted alphabetically (clientId < deviceName < productKey < timestamp), `name + value`
 * concatenated with no separator. `clientId` and `timestamp` are included only when given.
 */
export function signContent(f: SignFields): string {
  const entries: [string, string | undefined][] = [
    ['clientId', f.clientId],
    ['deviceName', f.deviceName],
    ['productKey', f.productKey],
    ['timestamp', f.timestamp],
  ];
  return entries
    .filter((e): e is [string, string] => e[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => k + v)
    .join('');
}

/** §1.6: dynamic-registration sign content `deviceName${dn}productKey${pk}random${random}` (key = ProductSecret). */
export function registerSignContent(f: { deviceName: string; productKey: string; random: string }): string {
  return `deviceName${f.deviceName}productKey${f.productKey}random${f.random}`;
}

/** Lower-case hex HMAC of `content` (UTF-8) with `key` (UTF-8). */
export function hmacHex(method: SignMethod, key: string, content: string): string {
  return createHmac(DIGEST[method], key).update(content, 'utf8').digest('hex');
}

/**
 * D2: hex compared case-insensitively (C SDK sends upper case, Node SDK / Go client lower case) and in constant time.
 * A length mismatch returns false without calling timingSafeEqual (which would throw).
 */
export function verifySignature(method: SignMethod, key: string, content: string, providedHex: string): boolean {
  const expected = Buffer.from(hmacHex(method, key, content), 'utf8');
  const provided = Buffer.from(providedHex.trim().toLowerCase(), 'utf8');
  if (provided.length !== expected.length) return false;
  return timingSafeEqual(provided, expected);
}

/**
 * The Node Link SDK 1.2.8 (lib/utils.js `hmacSign`) announces signmethod=hmacmd5 or hmacsha256 when configured so, but
 * always signs with HMAC-SHA1, both for its login password and for its dynamic-registration sign
 * (`deviceRegisterSign`). Devices built on it must work unchanged (§9: a superset, never a subset), so HMAC-SHA1 with
 * the same key is accepted as well: it proves possession of the key as strongly as the announced method.
 */
export function verifySignatureLenient(method: SignMethod, key: string, content: string, providedHex: string): boolean {
  return (
    verifySignature(method, key, content, providedHex) ||
    (method !== 'hmacsha1' && verifySignature('hmacsha1', key, content, providedHex))
  );
}

export type LoginFailureReason =
  | 'MALFORMED_CLIENT_ID'
  | 'MALFORMED_USERNAME'
  | 'NOT_SECRET_AUTH' // authType=register|regnwl|connwl: handled by the dynamic-registration flow (§1.6, §8.1)
  | 'UNSUPPORTED_SIGN_METHOD'
  | 'TIMESTAMP_SKEW'
  | 'MISSING_PASSWORD'
  | 'BAD_SIGNATURE';

/** For logs only: D1 says the CONNACK never reveals which part was wrong. */
export interface LoginFailure {
  reason: LoginFailureReason;
  message: string;
}

export interface DeviceLogin {
  clientId: string;
  params: Record<string, string>;
  productKey: string;
  deviceName: string;
  signMethod: SignMethod;
  securemode?: string;
  timestamp?: string;
}

export interface VerifyDeviceLoginInput {
  rawClientId: string;
  username: string;
  /** MQTT password: a Buffer from the broker, or a string. */
  password: Buffer | string | undefined;
  deviceSecret: string;
  /** D2: optional maximum clock skew; when both are given, the ClientId must carry a fresh timestamp (isFresh). */
  maxClockSkewMs?: number;
  nowMs?: number;
}

/**
 * D2 freshness, when a maximum skew is set: the signed timestamp (decimal milliseconds, §1.2) must be there and within
 * the skew of now.
 */
export function isFresh(timestamp: string | undefined, nowMs: number, maxClockSkewMs: number): boolean {
  if (timestamp === undefined || !/^\d{1,16}$/.test(timestamp)) return false;
  // §1.2 says milliseconds, but the Python Link SDK sends seconds (`str(int(time.time()))`): ten digits are seconds.
  const ms = timestamp.length === 10 ? Number(timestamp) * 1000 : Number(timestamp);
  return Math.abs(nowMs - ms) <= maxClockSkewMs;
}

const fail = (reason: LoginFailureReason, message: string): Result<never, LoginFailure> => err({ reason, message });

/**
 * Device-secret login (§1.2/§1.3): parse ClientId and username, then verify the password against
 * `signContent({ clientId (part before the first '|', omitted when empty), deviceName, productKey, timestamp (when
 * present in the ClientId) })`. The caller looks the DeviceSecret up by the username's pk/dn beforehand, and maps any
 * failure to CONNACK 4 (D1).
 */
export function verifyDeviceLogin(input: VerifyDeviceLoginInput): Result<DeviceLogin, LoginFailure> {
  const cid = parseClientId(input.rawClientId);
  if (!cid.ok) return fail('MALFORMED_CLIENT_ID', cid.error);
  const user = parseUsername(input.username);
  if (!user.ok) return fail('MALFORMED_USERNAME', user.error);
  const { clientId, params } = cid.value;
  const { productKey, deviceName } = user.value;

  const authType = getParam(params, 'authType');
  if (authType !== undefined && authType !== '') return fail('NOT_SECRET_AUTH', `authType=${authType}`);

  const signMethod = normalizeSignMethod(getParam(params, 'signmethod') ?? '');
  if (signMethod === null) return fail('UNSUPPORTED_SIGN_METHOD', 'signmethod missing or not supported');

  const timestamp = getParam(params, 'timestamp');
  if (
    input.maxClockSkewMs !== undefined &&
    input.nowMs !== undefined &&
    !isFresh(timestamp, input.nowMs, input.maxClockSkewMs)
  ) {
    return fail(
      'TIMESTAMP_SKEW',
      timestamp === undefined
        ? 'no timestamp while a maximum clock skew is set'
        : 'timestamp outside the allowed clock skew',
    );
  }

  const password = typeof input.password === 'string' ? input.password : input.password?.toString('utf8');
  if (password === undefined || password === '') return fail('MISSING_PASSWORD', 'no password');

  const content = signContent({
    ...(clientId !== '' ? { clientId } : {}),
    deviceName,
    productKey,
    ...(timestamp !== undefined ? { timestamp } : {}),
  });
  // The Node Link SDK signs with HMAC-SHA1 whatever it announces: see verifySignatureLenient.
  if (!verifySignatureLenient(signMethod, input.deviceSecret, content, password)) {
    return fail('BAD_SIGNATURE', 'password does not match the signature');
  }
  const securemode = getParam(params, 'securemode');
  return ok({
    clientId,
    params,
    productKey,
    deviceName,
    signMethod,
    ...(securemode !== undefined ? { securemode } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
  });
}
