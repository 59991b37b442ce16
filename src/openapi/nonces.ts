import type { Redis } from 'ioredis';

/**
 * Signature nonces seen per AccessKeyId within the clock-skew window (cloud-api.md §3): `remember` answers false when
 * the nonce was seen already. In memory per instance, or in Redis (`SET NX PX`) so replay is caught across instances.
 */
export interface NonceStore {
  remember(accessKeyId: string, nonce: string, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Entries expire in insertion order (one TTL for all), so expired ones are swept from the front. */
export function memoryNonceStore(maxEntries = 1_000_000, clock: () => number = Date.now): NonceStore {
  const seen = new Map<string, number>();
  const sweep = (now: number) => {
    for (const [k, expires] of seen) {
      if (expires > now && seen.size < maxEntries) break;
      seen.delete(k);
    }
  };
  return {
    async remember(accessKeyId, nonce, ttlMs) {
      const now = clock();
      sweep(now);
      const key = `${accessKeyId}\n${nonce}`;
      const expires = seen.get(key);
      if (expires !== undefined && expires > now) return false;
      seen.delete(key);
      seen.set(key, now + ttlMs);
      return true;
    },
    async close() {
      seen.clear();
    },
  };
}

export function redisNonceStore(redis: Redis, prefix = 'thingql:openapi:nonce:'): NonceStore {
  return {
    async remember(accessKeyId, nonce, ttlMs) {
      const r = await redis.set(`${prefix}${accessKeyId}:${nonce}`, '1', 'PX', ttlMs, 'NX');
      return r === 'OK';
    },
    async close() {
      redis.disconnect();
    },
  };
}
