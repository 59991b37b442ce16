import { getParam, parseClientId, parseUsername } from '../domain/auth/client-id.ts';
import {
  normalizeSignMethod,
  registerSignContent,
  verifyDeviceLogin,
  verifySignatureLenient,
} from '../domain/auth/signature.ts';
import { ALINK } from '../domain/alink/codes.ts';
import { findDeviceCredentials } from '../db/repositories/devices.ts';
import { findProductRegistration } from '../db/repositories/products.ts';
import type { ServiceDeps } from './deps.ts';
import { createLoginLimits } from './login-limits.ts';
import type { DeviceIdentity } from './presence.ts';

export interface CachedDevice extends DeviceIdentity {
  enabled: boolean;
  activated: boolean;
  secret: string;
  /** The stored (encrypted) secret: a login commits only if it is still the device's secret (revocation). */
  secretEnc: string;
}

export type LoginResult =
  | { ok: true; device: CachedDevice; clientId: string; params: Record<string, string> }
  /** D1: BAD_CREDENTIALS → CONNACK 4, DISABLED → 5, THROTTLED (too many failures) → 3; `why` is for logs only. */
  | { ok: false; failure: 'BAD_CREDENTIALS' | 'DISABLED' | 'THROTTLED'; why: string };

export type RegisterResult =
  | { ok: true; productKey: string; deviceName: string; deviceSecret: string }
  /** alink-protocol.md §1.6 error codes. */
  | { ok: false; code: number; message: string };

const MAX_CACHE = 200_000;
/** Unknown devices are remembered apart, in a smaller cache: logins for made-up names never evict real devices. */
const MAX_MISSING = 10_000;

/**
 * Device login (alink-protocol.md §1.2-1.4, D1-D3) and dynamic registration (§1.6). Credentials are cached so that a
 * warm login does not read the database; any change to a device (lifecycle, secret reset, from any instance through
 * the event log) drops its entry. A generation counter makes sure that a lookup racing with an invalidation never
 * stores the stale row.
 */
export function createDeviceAuthService(deps: ServiceDeps) {
  const { database, secrets, config, hub } = deps;
  const db = database.db;
  const cache = new Map<string, CachedDevice>();
  const missing = new Map<string, null>();
  const limits = createLoginLimits(config);
  const forget = (k: string) => {
    cache.delete(k);
    missing.delete(k);
  };
  let generation = 0;
  const key = (pk: string, dn: string) => `${pk}\u0000${dn}`;

  hub.on(['device.lifecycle', 'registry.changed', 'device.status'], (e) => {
    if (e.type === 'device.lifecycle' || (e.type === 'registry.changed' && e.data.entity === 'device')) {
      generation++;
      if (e.productKey && e.deviceName) forget(key(e.productKey, e.deviceName));
    } else if (e.type === 'device.status' && e.productKey && e.deviceName) {
      const c = cache.get(key(e.productKey, e.deviceName));
      if (c) c.activated = true;
    } else if (e.type === 'registry.changed' && e.data.entity === 'product' && e.data.what === 'deleted') {
      generation++;
      for (const k of [...cache.keys(), ...missing.keys()]) if (k.startsWith(`${e.productKey}\u0000`)) forget(k);
    }
  });

  /**
   * Cache misses are read in batches: while one read is in flight, the misses that arrive wait for the next one and
   * go together (a login storm after a restart costs a few queries, not one per device).
   */
  const waiting = new Map<
    string,
    {
      productKey: string;
      deviceName: string;
      resolvers: ((v: CachedDevice | null) => void)[];
      rejecters: ((e: unknown) => void)[];
    }
  >();
  let reading = false;

  async function readBatch(): Promise<void> {
    reading = true;
    while (waiting.size > 0) {
      const batch = new Map([...waiting].slice(0, 500));
      for (const k of batch.keys()) waiting.delete(k);
      const gen = generation;
      try {
        const pairs = [...batch.values()];
        const rows = await findDeviceCredentials(db, pairs);
        const found = new Map(rows.map((r) => [key(r.productKey, r.deviceName), r]));
        for (const [k, w] of batch) {
          const r = found.get(k);
          const value: CachedDevice | null = r
            ? {
                id: r.id,
                iotId: r.iotId,
                productKey: r.productKey,
                deviceName: r.deviceName,
                enabled: r.enabled,
                activated: r.activated,
                secret: secrets.decrypt(r.secretEnc),
                secretEnc: r.secretEnc,
              }
            : null;
          if (gen === generation && value) {
            if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value!);
            cache.set(k, value);
          } else if (gen === generation) {
            if (missing.size >= MAX_MISSING) missing.delete(missing.keys().next().value!);
            missing.set(k, null);
          }
          for (const res of w.resolvers) res(value);
        }
      } catch (err) {
        for (const w of batch.values()) for (const rej of w.rejecters) rej(err);
      }
    }
    reading = false;
  }

  function lookup(productKey: string, deviceName: string): Promise<CachedDevice | null> {
    const k = key(productKey, deviceName);
    const hit = cache.get(k) ?? missing.get(k);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const w = waiting.get(k) ?? { productKey, deviceName, resolvers: [], rejecters: [] };
      w.resolvers.push(resolve);
      w.rejecters.push(reject);
      waiting.set(k, w);
      // A lone miss is read at once; at most 500 devices per query.
      if (!reading) void readBatch();
    });
  }

  async function verify(
    rawClientId: string,
    username: string,
    password: Buffer | undefined,
    productKey: string,
    deviceName: string,
  ): Promise<LoginResult> {
    const device = await lookup(productKey, deviceName);
    if (!device) return { ok: false, failure: 'BAD_CREDENTIALS', why: 'unknown device' };
    const r = verifyDeviceLogin({
      rawClientId,
      username,
      password,
      deviceSecret: device.secret,
      ...(config.AUTH_MAX_CLOCK_SKEW_MS > 0
        ? { maxClockSkewMs: config.AUTH_MAX_CLOCK_SKEW_MS, nowMs: Date.now() }
        : {}),
    });
    if (!r.ok) return { ok: false, failure: 'BAD_CREDENTIALS', why: r.error.reason };
    // Checked after the signature so that a disabled device's status is not revealed to someone without its secret.
    if (!device.enabled) return { ok: false, failure: 'DISABLED', why: 'device disabled' };
    return { ok: true, device, clientId: r.value.clientId, params: r.value.params };
  }

  return {
    lookup,
    limits,

    /**
     * Device-secret login. Never says which part was wrong (D1). `source` (the client address) and the device each
     * have a budget of failed logins per minute; past it logins are refused before any check (THROTTLED).
     */
    async login(
      rawClientId: string,
      username: string | undefined,
      password: Buffer | undefined,
      source: string | null = null,
    ): Promise<LoginResult> {
      const user = parseUsername(username ?? '');
      if (!user.ok) {
        limits.failed(source, null, null);
        return { ok: false, failure: 'BAD_CREDENTIALS', why: user.error };
      }
      const { productKey: pk, deviceName: dn } = user.value;
      const throttled = limits.throttled(source, pk, dn);
      if (throttled) return { ok: false, failure: 'THROTTLED', why: `too many failed logins for this ${throttled}` };
      const result = await verify(rawClientId, username ?? '', password, pk, dn);
      if (!result.ok && result.failure === 'BAD_CREDENTIALS')
        limits.failed(source, result.why === 'unknown device' ? null : pk, result.why === 'unknown device' ? null : dn);
      return result;
    },

    /**
     * §1.6 dynamic registration of a pre-registered device name with the product secret (HTTPS form and MQTT
     * `authType=register`). A device that has been activated (first login) cannot register again (6289).
     */
    async register(input: {
      productKey: string;
      deviceName: string;
      random: string;
      signMethod: string;
      sign: string;
    }): Promise<RegisterResult> {
      if (!limits.register(input.productKey))
        return {
          ok: false,
          code: ALINK.TOO_MANY_REQUESTS,
          message: 'too many registrations for this product: try again later',
        };
      const method = normalizeSignMethod(input.signMethod);
      if (!method) return { ok: false, code: ALINK.SIGN_METHOD_NOT_SUPPORTED, message: 'sign method not supported' };
      const product = await findProductRegistration(db, input.productKey);
      if (!product) return { ok: false, code: ALINK.PRODUCT_NOT_FOUND, message: 'product not found' };
      if (!product.dynamicRegistration)
        return {
          ok: false,
          code: ALINK.DYNREG_DISABLED,
          message: 'dynamic registration is not enabled for this product',
        };
      const content = registerSignContent({
        deviceName: input.deviceName,
        productKey: input.productKey,
        random: input.random,
      });
      // As for logins, the Node Link SDK's register() signs with HMAC-SHA1 whatever signMethod it sends.
      if (!verifySignatureLenient(method, secrets.decrypt(product.secretEnc), content, input.sign)) {
        return { ok: false, code: ALINK.SIGN_VERIFY_FAILED, message: 'signature verification failed' };
      }
      const device = await lookup(input.productKey, input.deviceName);
      if (!device) return { ok: false, code: ALINK.DEVICE_NOT_FOUND, message: 'device not found' };
      if (!device.enabled) return { ok: false, code: ALINK.DEVICE_DISABLED, message: 'device disabled' };
      if (device.activated)
        return { ok: false, code: ALINK.DEVICE_ALREADY_ACTIVATED, message: 'device already activated' };
      return { ok: true, productKey: input.productKey, deviceName: input.deviceName, deviceSecret: device.secret };
    },

    /** Reads the MQTT `authType=register` CONNECT (§1.6 B): ClientId `id|securemode=2,authType=register,random=..,signmethod=..|`. */
    parseRegisterConnect(rawClientId: string, username: string | undefined, password: Buffer | undefined) {
      const cid = parseClientId(rawClientId);
      const user = parseUsername(username ?? '');
      if (!cid.ok || !user.ok) return null;
      const authType = getParam(cid.value.params, 'authType');
      if (authType !== 'register') return authType ? { unsupported: authType } : null;
      return {
        productKey: user.value.productKey,
        deviceName: user.value.deviceName,
        random: getParam(cid.value.params, 'random') ?? '',
        signMethod: getParam(cid.value.params, 'signmethod') ?? '',
        sign: password?.toString('utf8') ?? '',
      };
    },
  };
}

export type DeviceAuthService = ReturnType<typeof createDeviceAuthService>;
