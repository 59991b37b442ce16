import { ALINK } from '../domain/alink/codes.ts';
import { sysTopic } from '../domain/alink/topics.ts';
import { isFresh, normalizeSignMethod, signContent, verifySignature } from '../domain/auth/signature.ts';
import { listBoundSubDeviceIds } from '../db/repositories/gateways.ts';
import type { NewEvent } from '../events/types.ts';
import type { CoreServiceDeps } from './core-deps.ts';
import type { CachedDevice, DeviceAuthService } from './device-auth.ts';
import type { Outbound } from './ingest/types.ts';
import type { DeviceIdentity, PresenceService } from './presence.ts';
import { createSubRegistration } from './sub-registration.ts';

/**
 * alink-protocol.md §7: ≤2000 sub-devices per gateway; ≤30 per sub-device registration; ≤50 per batch login; the
 * reference's gateway page: ≤1500 sub-devices online at once (428 past it). ThingQL: ≤200 devices per list/found report.
 */
export const LIMITS = {
  subDevicesPerGateway: 2000,
  registerBatch: 30,
  loginBatch: 50,
  subDevicesOnline: 1500,
  foundReport: 200,
} as const;

type Params = Record<string, unknown>;
const s = (v: unknown) => (v == null ? '' : String(v));

export interface SubLogin {
  ok: boolean;
  code: number;
  message: string;
  device?: CachedDevice;
  epoch?: number;
  productKey: string;
  deviceName: string;
}

/**
 * D20: signmethod or signMethod in any case; timestamp as number or string; clientId optional (then the signed
 * content omits it). `sign` = HMAC(sub-device secret, clientId..deviceName..productKey..timestamp..) as in §1.3.
 */
export function verifySubSign(p: Params, secret: string): boolean {
  const method = normalizeSignMethod(s(p.signmethod ?? p.signMethod ?? p.SignMethod));
  if (!method || typeof p.sign !== 'string') return false;
  const clientId = s(p.clientId);
  const timestamp = s(p.timestamp);
  const content = signContent({
    ...(clientId ? { clientId } : {}),
    deviceName: s(p.deviceName),
    productKey: s(p.productKey),
    ...(timestamp ? { timestamp } : {}),
  });
  return (
    verifySignature(method, secret, content, p.sign) ||
    (method !== 'hmacsha1' && verifySignature('hmacsha1', secret, content, p.sign))
  );
}

export const topoEvent = (
  gw: DeviceIdentity,
  action: 'add' | 'remove' | 'enable' | 'disable',
  subs: DeviceIdentity[],
): NewEvent => ({
  type: 'thing.topo.lifecycle',
  productKey: gw.productKey,
  deviceName: gw.deviceName,
  // alink-protocol.md §6.8
  data: {
    action,
    gwIotId: gw.iotId,
    gwProductKey: gw.productKey,
    gwDeviceName: gw.deviceName,
    devices: subs.map((d) => ({ iotId: d.iotId, productKey: d.productKey, deviceName: d.deviceName })),
    messageCreateTime: Date.now(),
  },
});

/**
 * Gateways and sub-devices (alink-protocol.md §1.7, §2.3, §3.9, §3.10, D20): topology with signed sub-device lists,
 * sub-device registration, found sub-devices, sub-device login/logout over the gateway's connection. Topology lives
 * in the database; which sub-devices are logged in through which connection is the broker's (connection state).
 */
export function createGatewayService(
  deps: CoreServiceDeps & { presence: PresenceService; deviceAuth: DeviceAuthService },
) {
  const db = deps.database.db;
  const bound = new Map<number, Set<number>>();
  const subRegistration = createSubRegistration(deps);
  /** D2 for sub-devices: with a maximum clock skew set, their signed timestamp must be fresh too. */
  const skew = deps.config.AUTH_MAX_CLOCK_SKEW_MS;
  const signOk = (p: Params, secret: string) =>
    verifySubSign(p, secret) && (skew <= 0 || isFresh(s(p.timestamp) || undefined, Date.now(), skew));

  deps.hub.on(['thing.topo.lifecycle', 'device.lifecycle'], () => bound.clear());

  async function boundSet(gatewayId: number): Promise<Set<number>> {
    let set = bound.get(gatewayId);
    if (!set) {
      set = new Set(await listBoundSubDeviceIds(db, gatewayId));
      bound.set(gatewayId, set);
    }
    return set;
  }

  return {
    /** D20 signature of a sub-device, and its timestamp's freshness when a maximum clock skew is set. */
    verifySubDeviceSign: signOk,
    /** Sub-device registration scope (`setSubDeviceGateways`) and the checks on existing devices. */
    subRegistration,
    /** The sub-devices bound to a gateway (cached until a topology or lifecycle event). */
    boundSubDevices: boundSet,
    /** Drop the cached topology of a gateway (after a commit that changed it). */
    forgetBound: (gatewayId: number) => void bound.delete(gatewayId),
    isBound: async (gatewayId: number, subId: number) => (await boundSet(gatewayId)).has(subId),

    /** A sub-device bound to this gateway, for the gateway's pack posts (§3.9, §3.10 codes). */
    async boundSubDevice(
      gw: DeviceIdentity,
      productKey: string,
      deviceName: string,
    ): Promise<DeviceIdentity | { code: number; message: string }> {
      const sub = await deps.deviceAuth.lookup(productKey, deviceName);
      if (!sub) return { code: ALINK.SUBDEVICE_DELETED, message: `sub-device ${deviceName} does not exist` };
      if (!sub.enabled) return { code: ALINK.SUBDEVICE_DISABLED, message: `sub-device ${deviceName} is disabled` };
      if (!(await boundSet(gw.id)).has(sub.id))
        return { code: ALINK.TOPO_NOT_EXIST, message: `no topology relation with ${deviceName}` };
      return sub;
    },

    /** §1.7 combine/login: checks, then the sub-device goes ONLINE with its own connection epoch. */
    async login(gw: DeviceIdentity, p: Params, clientIp: string | null): Promise<SubLogin> {
      const productKey = s(p.productKey);
      const deviceName = s(p.deviceName);
      const fail = (code: number, message: string): SubLogin => ({ ok: false, code, message, productKey, deviceName });
      const sub = await deps.deviceAuth.lookup(productKey, deviceName);
      if (!sub) return fail(ALINK.SUBDEVICE_DELETED, `sub-device ${deviceName} does not exist (deleted)`);
      if (!signOk(p, sub.secret)) return fail(ALINK.SUBDEVICE_SIGN_INVALID, 'invalid sub-device sign');
      if (!sub.enabled) return fail(ALINK.SUBDEVICE_DISABLED, `sub-device ${deviceName} is disabled`);
      if (!(await boundSet(gw.id)).has(sub.id))
        return fail(
          ALINK.TOPO_NOT_EXIST,
          `no topology relation between this gateway and ${deviceName}: add it with thing/topo/add first`,
        );
      const connected = await deps.presence.connect(sub, clientIp, { secretEnc: sub.secretEnc });
      if (!connected) return fail(ALINK.SUBDEVICE_DELETED, `sub-device ${deviceName} was deleted`);
      return {
        ok: true,
        code: ALINK.SUCCESS,
        message: 'success',
        device: sub,
        epoch: connected.epoch,
        productKey,
        deviceName,
      };
    },

    logout: (sub: DeviceIdentity, epoch: number, reason: Parameters<PresenceService['disconnect']>[2]) =>
      deps.presence.disconnect(sub, epoch, reason),

    /** Notify a gateway that the cloud changed one of its sub-devices (thing/topo/change, §3.9). */
    topoChange(
      gw: { productKey: string; deviceName: string },
      status: 0 | 1 | 2 | 8,
      subs: DeviceIdentity[],
      id: string,
    ): Outbound {
      return {
        topic: sysTopic(gw.productKey, gw.deviceName, 'thing/topo/change'),
        qos: 1,
        payload: Buffer.from(
          JSON.stringify({
            id,
            version: '1.0',
            params: {
              status,
              subList: subs.map((d) => ({ productKey: d.productKey, deviceName: d.deviceName, iotId: d.iotId })),
            },
            method: 'thing.topo.change',
          }),
        ),
      };
    },
  };
}

export type GatewayService = ReturnType<typeof createGatewayService>;
