import type { Config } from '../config.ts';
import { WindowCounter } from './rate-limit.ts';

export type LimitsConfig = Pick<
  Config,
  | 'AUTH_MAX_FAILURES_PER_SOURCE'
  | 'AUTH_MAX_FAILURES_PER_DEVICE'
  | 'DYNAMIC_REGISTRATION_PER_MINUTE'
  | 'SUB_REGISTRATION_PER_MINUTE'
>;

const DEFAULTS: LimitsConfig = {
  AUTH_MAX_FAILURES_PER_SOURCE: 60,
  AUTH_MAX_FAILURES_PER_DEVICE: 10,
  DYNAMIC_REGISTRATION_PER_MINUTE: 60,
  SUB_REGISTRATION_PER_MINUTE: 60,
};

/**
 * Per-instance login and registration budgets (docs/security-device.md):
 * - failed logins per source address and per device, per minute: once used up, further logins from that source or for
 *   that device are refused before any secret is looked at (CONNACK 3, "server unavailable": try later). A correct
 *   login does not count. Unknown devices count against their source like any other failure.
 * - dynamic registrations (§1.6) per product, and sub-device registrations per gateway, per minute.
 */
export function createLoginLimits(config: Partial<LimitsConfig> = {}) {
  const c = { ...DEFAULTS, ...config };
  const bySource = new WindowCounter(c.AUTH_MAX_FAILURES_PER_SOURCE);
  const byDevice = new WindowCounter(c.AUTH_MAX_FAILURES_PER_DEVICE);
  const registrations = new WindowCounter(c.DYNAMIC_REGISTRATION_PER_MINUTE);
  const subRegistrations = new WindowCounter(c.SUB_REGISTRATION_PER_MINUTE);
  const deviceKey = (pk: string, dn: string) => `${pk}\u0000${dn}`;

  return {
    /** Why a login may not even be tried now, or null. */
    throttled(source: string | null, productKey: string, deviceName: string): 'source' | 'device' | null {
      if (source !== null && bySource.exhausted(source)) return 'source';
      if (byDevice.exhausted(deviceKey(productKey, deviceName))) return 'device';
      return null;
    },
    failed(source: string | null, productKey: string | null, deviceName: string | null): void {
      if (source !== null) bySource.add(source);
      if (productKey !== null && deviceName !== null) byDevice.add(deviceKey(productKey, deviceName));
    },
    /** One dynamic registration attempt for the product; false when its budget is used up. */
    register(productKey: string): boolean {
      return registrations.take(productKey);
    },
    /** `n` sub-device registrations by one gateway; false (nothing counted) when they do not fit its budget. */
    subRegister(gatewayId: number, n: number): boolean {
      return subRegistrations.take(String(gatewayId), n);
    },
  };
}

export type LoginLimits = ReturnType<typeof createLoginLimits>;
