import { and, eq, inArray } from 'drizzle-orm';
import { decodeRequest, encodeReply } from '../domain/alink/envelope.ts';
import { parseTopic, replyTopic, sysTopic } from '../domain/alink/topics.ts';
import { isFresh, normalizeSignMethod, signContent, verifySignature } from '../domain/auth/signature.ts';
import { devices, deviceTopology } from '../db/tables.ts';
import type { NewEvent } from '../events/types.ts';
import type { CommandDeps } from './commands.ts';
import type { CachedDevice, DeviceAuthService } from './device-auth.ts';
import type { Outbound, StepResult, TopicHandler } from './ingest.ts';
import type { DeviceRef, PresenceService } from './presence.ts';
import { createSubRegistration } from './sub-registration.ts';

/**
 * alink-protocol.md §7: ≤2000 sub-devices per gateway; ≤30 per sub-device registration; ≤50 per batch login; the
 * reference's gateway page: ≤1500 sub-devices online at once (428 past it). ThingQL: ≤200 devices per list/found report.
 */
export const LIMITS = { subDevicesPerGateway: 2000, registerBatch: 30, loginBatch: 50, subDevicesOnline: 1500, foundReport: 200 } as const;

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
  const content = signContent({ ...(clientId ? { clientId } : {}), deviceName: s(p.deviceName), productKey: s(p.productKey), ...(timestamp ? { timestamp } : {}) });
  return verifySignature(method, secret, content, p.sign) || (method !== 'hmacsha1' && verifySignature('hmacsha1', secret, content, p.sign));
}

const topoEvent = (gw: DeviceRef, action: 'add' | 'remove' | 'enable' | 'disable', subs: DeviceRef[]): NewEvent => ({
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
export function createGatewayService(deps: CommandDeps & { presence: PresenceService; deviceAuth: DeviceAuthService }) {
  const db = deps.database.db;
  const bound = new Map<number, Set<number>>();
  const subRegistration = createSubRegistration(deps);
  /** D2 for sub-devices: with a maximum clock skew set, their signed timestamp must be fresh too (issue 16). */
  const skew = deps.config.AUTH_MAX_CLOCK_SKEW_MS;
  const signOk = (p: Params, secret: string) => verifySubSign(p, secret) && (skew <= 0 || isFresh(s(p.timestamp) || undefined, Date.now(), skew));

  deps.hub.subscribe((e) => {
    if (e.type === 'thing.topo.lifecycle' || e.type === 'device.lifecycle') bound.clear();
  });

  async function boundSet(gatewayId: number): Promise<Set<number>> {
    let set = bound.get(gatewayId);
    if (!set) {
      const rows = await db.select({ id: deviceTopology.subDeviceId }).from(deviceTopology).where(eq(deviceTopology.gatewayId, gatewayId));
      set = new Set(rows.map((r) => r.id));
      bound.set(gatewayId, set);
    }
    return set;
  }

  function reply(msg: { topic: string; qos: number }, id: string | undefined, idType: 'string' | 'number' | undefined, code: number, data: unknown, message?: string): Outbound[] {
    return [{ topic: replyTopic(msg.topic), qos: msg.qos >= 1 ? 1 : 0, payload: encodeReply({ ...(id !== undefined ? { id } : {}), ...(idType ? { idType } : {}), code, data, ...(message ? { message } : {}) }) }];
  }

  const gatewayOnly = async (device: DeviceRef) => (await deps.productCache.get(device.productKey))?.product.nodeType === 'GATEWAY';

  /** thing/topo/add, thing/topo/delete, thing/topo/get, thing/sub/register, thing/list/found (§2.3). */
  const topo: TopicHandler = async ({ device: gw, msg }) => {
    const t = parseTopic(msg.topic);
    const path = t.kind === 'sys' ? t.path.join('/') : '';
    const decoded = decodeRequest(msg.payload);
    if (!decoded.ok) return { events: [], after: reply(msg, decoded.error.id, decoded.error.idType, 460, {}, decoded.error.message) };
    const req = decoded.value;
    const answer = (code: number, data: unknown, message?: string, events: NewEvent[] = []): StepResult => ({ events, after: req.ack ? reply(msg, req.id, req.idType, code, data, message) : [] });
    if (!(await gatewayOnly(gw))) return answer(460, {}, 'only gateway products manage sub-devices');
    const list = (Array.isArray(req.params) ? req.params : []) as Params[];

    if (path === 'thing/topo/get') {
      const ids = [...(await boundSet(gw.id))];
      const rows = ids.length ? await db.select().from(devices).where(inArray(devices.id, ids)) : [];
      return answer(200, rows.map((r) => ({ productKey: r.productKey, deviceName: r.deviceName })));
    }
    if (!Array.isArray(req.params) || list.length === 0) return answer(460, {}, 'params must be a non-empty array');

    if (path === 'thing/topo/add') {
      const added: DeviceRef[] = [];
      const resolved: { sub: CachedDevice }[] = [];
      for (const p of list) {
        if (s(p.productKey) === gw.productKey && s(p.deviceName) === gw.deviceName) return answer(6402, {}, 'a gateway cannot be its own sub-device');
        const sub = await deps.deviceAuth.lookup(s(p.productKey), s(p.deviceName));
        if (!sub) return answer(6100, {}, `device ${s(p.deviceName)} not found`);
        // D20: a bad signature answers 401 and changes nothing.
        if (!signOk(p, sub.secret)) return answer(401, {}, `invalid sign for ${sub.deviceName}`);
        resolved.push({ sub });
      }
      const current = await boundSet(gw.id);
      if (current.size + resolved.filter((r) => !current.has(r.sub.id)).length > LIMITS.subDevicesPerGateway) return answer(6400, {}, 'too many sub-devices for this gateway');
      const existing = await db.select().from(deviceTopology).where(inArray(deviceTopology.subDeviceId, resolved.map((r) => r.sub.id)));
      const other = existing.find((e) => e.gatewayId !== gw.id);
      if (other) return answer(6619, {}, 'sub-device already bound to another gateway');
      for (const r of resolved) if (!existing.some((e) => e.subDeviceId === r.sub.id)) added.push(r.sub);
      if (added.length) await db.insert(deviceTopology).values(added.map((d) => ({ subDeviceId: d.id, gatewayId: gw.id }))).onConflictDoNothing();
      bound.delete(gw.id);
      return answer(200, resolved.map((r) => ({ productKey: r.sub.productKey, deviceName: r.sub.deviceName })), undefined, added.length ? [topoEvent(gw, 'add', added)] : []);
    }

    if (path === 'thing/topo/delete') {
      const subs: DeviceRef[] = [];
      for (const p of list) {
        const sub = await deps.deviceAuth.lookup(s(p.productKey), s(p.deviceName));
        if (!sub || !(await boundSet(gw.id)).has(sub.id)) return answer(6401, {}, `topology relation with ${s(p.deviceName)} does not exist`);
        subs.push(sub);
      }
      await db.delete(deviceTopology).where(and(eq(deviceTopology.gatewayId, gw.id), inArray(deviceTopology.subDeviceId, subs.map((d) => d.id))));
      bound.delete(gw.id);
      return answer(200, subs.map((d) => ({ productKey: d.productKey, deviceName: d.deviceName })), undefined, [topoEvent(gw, 'remove', subs)]);
    }

    if (path === 'thing/sub/register') {
      // Scope, existing devices and rate: services/sub-registration.ts (issue 16, finding 4).
      const r = await subRegistration.register(gw, list);
      return answer(r.code, r.data, r.message, r.events);
    }

    if (path === 'thing/list/found') {
      const found: DeviceRef[] = [];
      if (list.length > LIMITS.foundReport) return answer(460, {}, `at most ${LIMITS.foundReport} sub-devices per report`);
      for (const p of list) {
        const sub = await deps.deviceAuth.lookup(s(p.productKey), s(p.deviceName));
        // The iotId only for a device this gateway may know of (bound to it, or in a product that allows it): a report
        // must not reveal which devices exist in other products (issue 16).
        const known = sub && ((await boundSet(gw.id)).has(sub.id) || (await subRegistration.allows(sub.productKey, gw.productKey)));
        found.push(known ? sub : { id: 0, iotId: '', productKey: s(p.productKey), deviceName: s(p.deviceName) });
      }
      const event: NewEvent = {
        type: 'thing.list.found',
        productKey: gw.productKey,
        deviceName: gw.deviceName,
        // alink-protocol.md §6.9
        data: { gwIotId: gw.iotId, gwProductKey: gw.productKey, gwDeviceName: gw.deviceName, devices: found.map((d) => ({ iotId: d.iotId || null, productKey: d.productKey, deviceName: d.deviceName })) },
      };
      return answer(200, {}, undefined, [event]);
    }
    return null;
  };

  return {
    topo,
    isBound: async (gatewayId: number, subId: number) => (await boundSet(gatewayId)).has(subId),

    /** A sub-device bound to this gateway, for the gateway's pack posts (§3.9, §3.10 codes). */
    async boundSubDevice(gw: DeviceRef, productKey: string, deviceName: string): Promise<DeviceRef | { code: number; message: string }> {
      const sub = await deps.deviceAuth.lookup(productKey, deviceName);
      if (!sub) return { code: 521, message: `sub-device ${deviceName} does not exist` };
      if (!sub.enabled) return { code: 522, message: `sub-device ${deviceName} is disabled` };
      if (!(await boundSet(gw.id)).has(sub.id)) return { code: 6401, message: `no topology relation with ${deviceName}` };
      return sub;
    },

    /** §1.7 combine/login: checks, then the sub-device goes ONLINE with its own connection epoch. */
    async login(gw: DeviceRef, p: Params, clientIp: string | null): Promise<SubLogin> {
      const productKey = s(p.productKey);
      const deviceName = s(p.deviceName);
      const fail = (code: number, message: string): SubLogin => ({ ok: false, code, message, productKey, deviceName });
      const sub = await deps.deviceAuth.lookup(productKey, deviceName);
      if (!sub) return fail(521, `sub-device ${deviceName} does not exist (deleted)`);
      if (!signOk(p, sub.secret)) return fail(6287, 'invalid sub-device sign');
      if (!sub.enabled) return fail(522, `sub-device ${deviceName} is disabled`);
      if (!(await boundSet(gw.id)).has(sub.id)) return fail(6401, `no topology relation between this gateway and ${deviceName}: add it with thing/topo/add first`);
      const connected = await deps.presence.connect(sub, clientIp, { secretEnc: sub.secretEnc });
      if (!connected) return fail(521, `sub-device ${deviceName} was deleted`);
      return { ok: true, code: 200, message: 'success', device: sub, epoch: connected.epoch, productKey, deviceName };
    },

    logout: (sub: DeviceRef, epoch: number, reason: Parameters<PresenceService['disconnect']>[2]) => deps.presence.disconnect(sub, epoch, reason),

    /** Notify a gateway that the cloud changed one of its sub-devices (thing/topo/change, §3.9). */
    topoChange(gw: { productKey: string; deviceName: string }, status: 0 | 1 | 2 | 8, subs: DeviceRef[], id: string): Outbound {
      return {
        topic: sysTopic(gw.productKey, gw.deviceName, 'thing/topo/change'),
        qos: 1,
        payload: Buffer.from(
          JSON.stringify({ id, version: '1.0', params: { status, subList: subs.map((d) => ({ productKey: d.productKey, deviceName: d.deviceName, iotId: d.iotId })) }, method: 'thing.topo.change' }),
        ),
      };
    },
  };
}

export type GatewayService = ReturnType<typeof createGatewayService>;

/** Upstream gateway topics handled by `topo` (§2.3). */
export function gatewayTopicRoute(topic: string): boolean {
  const t = parseTopic(topic);
  if (t.kind !== 'sys') return false;
  const p = t.path.join('/');
  return p === 'thing/topo/add' || p === 'thing/topo/delete' || p === 'thing/topo/get' || p === 'thing/sub/register' || p === 'thing/list/found';
}
