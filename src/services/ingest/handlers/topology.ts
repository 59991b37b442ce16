import { ALINK } from '../../../domain/alink/codes.ts';
import { decodeRequest } from '../../../domain/alink/envelope.ts';
import { findDeviceNames, insertDeviceIfAbsent } from '../../../db/repositories/devices.ts';
import { bindSubDevices, findBindings, unbindSubDevices } from '../../../db/repositories/gateways.ts';
import type { NewEvent } from '../../../events/types.ts';
import type { CachedDevice, DeviceAuthService } from '../../device-auth.ts';
import { lifecycleEvent } from '../../devices.ts';
import { LIMITS, topoEvent, type GatewayService } from '../../gateway.ts';
import type { DeviceIdentity } from '../../presence.ts';
import type { ProductCache } from '../../product-cache.ts';
import { newDeviceSecret, newIotId, type SecretBox } from '../../secrets.ts';
import { alinkReply } from '../reply.ts';
import type { Handled, Outbound, UplinkHandler } from '../types.ts';

type Params = Record<string, unknown>;
const s = (v: unknown) => (v == null ? '' : String(v));

/**
 * Gateway topology uplinks (alink-protocol.md §2.3, §3.9, D20): `thing/topo/{add,delete,get}`, `thing/sub/register`,
 * `thing/list/found`. Checks that need no lock run first; the writes (and the reads that decide them) run inside the
 * message's commit (`inTx`), so the topology, the `thing.topo.lifecycle` event and the stored message are one
 * transaction. The gateway's cached topology is dropped after the commit.
 */
export function createTopologyHandler(deps: {
  products: ProductCache;
  deviceAuth: DeviceAuthService;
  gateway: GatewayService;
  secrets: SecretBox;
}): UplinkHandler<'topology'> {
  const { gateway } = deps;
  return async (gw, request) => {
    const action = request.uplink.action;
    const decoded = decodeRequest(request.payload);
    if (!decoded.ok)
      return {
        replies: alinkReply(
          request,
          { id: decoded.error.id, idType: decoded.error.idType },
          { code: ALINK.PARAM_ERROR, message: decoded.error.message },
        ),
      };
    const req = decoded.value;
    const reply = (code: number, data: unknown, message?: string): Outbound[] =>
      alinkReply(request, req, { code, data, message });
    const answer = (code: number, data: unknown, message?: string, events: NewEvent[] = []): Handled => ({
      events,
      replies: reply(code, data, message),
    });
    if ((await deps.products.get(gw.productKey))?.product.nodeType !== 'GATEWAY')
      return answer(ALINK.PARAM_ERROR, {}, 'only gateway products manage sub-devices');
    const list = (Array.isArray(req.params) ? req.params : []) as Params[];
    const forget = () => gateway.forgetBound(gw.id);

    if (action === 'get') {
      const ids = [...(await gateway.boundSubDevices(gw.id))];
      return {
        inTx: async (tx) => {
          const rows = await findDeviceNames(tx, ids);
          return {
            replies: reply(
              ALINK.SUCCESS,
              rows.map((r) => ({ productKey: r.productKey, deviceName: r.deviceName })),
            ),
          };
        },
      };
    }
    if (!Array.isArray(req.params) || list.length === 0)
      return answer(ALINK.PARAM_ERROR, {}, 'params must be a non-empty array');

    if (action === 'add') {
      const resolved: CachedDevice[] = [];
      for (const p of list) {
        if (s(p.productKey) === gw.productKey && s(p.deviceName) === gw.deviceName)
          return answer(ALINK.TOPO_CANNOT_ADD_SELF, {}, 'a gateway cannot be its own sub-device');
        const sub = await deps.deviceAuth.lookup(s(p.productKey), s(p.deviceName));
        if (!sub) return answer(ALINK.DEVICE_NOT_FOUND, {}, `device ${s(p.deviceName)} not found`);
        // D20: a bad signature answers 401 and changes nothing.
        if (!gateway.verifySubDeviceSign(p, sub.secret))
          return answer(ALINK.AUTH_ERROR, {}, `invalid sign for ${sub.deviceName}`);
        resolved.push(sub);
      }
      const current = await gateway.boundSubDevices(gw.id);
      if (current.size + resolved.filter((r) => !current.has(r.id)).length > LIMITS.subDevicesPerGateway)
        return answer(ALINK.GATEWAY_SUBDEVICE_LIMIT, {}, 'too many sub-devices for this gateway');
      return {
        inTx: async (tx) => {
          const existing = await findBindings(
            tx,
            resolved.map((r) => r.id),
          );
          if (existing.some((e) => e.gatewayId !== gw.id))
            return {
              replies: reply(ALINK.SUBDEVICE_BOUND_TO_OTHER_GATEWAY, {}, 'sub-device already bound to another gateway'),
            };
          const added: DeviceIdentity[] = resolved.filter((r) => !existing.some((e) => e.subDeviceId === r.id));
          if (added.length)
            await bindSubDevices(
              tx,
              gw.id,
              added.map((d) => d.id),
            );
          return {
            events: added.length ? [topoEvent(gw, 'add', added)] : [],
            replies: reply(
              ALINK.SUCCESS,
              resolved.map((r) => ({ productKey: r.productKey, deviceName: r.deviceName })),
            ),
          };
        },
        committed: forget,
      };
    }

    if (action === 'delete') {
      const subs: DeviceIdentity[] = [];
      for (const p of list) {
        const sub = await deps.deviceAuth.lookup(s(p.productKey), s(p.deviceName));
        if (!sub || !(await gateway.boundSubDevices(gw.id)).has(sub.id))
          return answer(ALINK.TOPO_NOT_EXIST, {}, `topology relation with ${s(p.deviceName)} does not exist`);
        subs.push(sub);
      }
      return {
        inTx: async (tx) => {
          await unbindSubDevices(
            tx,
            gw.id,
            subs.map((d) => d.id),
          );
          return { events: [topoEvent(gw, 'remove', subs)] };
        },
        replies: reply(
          ALINK.SUCCESS,
          subs.map((d) => ({ productKey: d.productKey, deviceName: d.deviceName })),
        ),
        committed: forget,
      };
    }

    if (action === 'subRegister') {
      // Scope (setSubDeviceGateways), existing devices and rate: services/sub-registration.ts.
      const checked = await gateway.subRegistration.check(gw, list);
      if (!checked.ok) return answer(checked.code, {}, checked.message);
      const slots = checked.slots.map((x) =>
        'existing' in x ? x.existing : { pk: x.create.productKey, dn: x.create.deviceName },
      );
      if (!slots.some((x) => 'pk' in x)) return answer(ALINK.SUCCESS, slots);
      return {
        inTx: async (tx) => {
          const out: Record<string, string>[] = [];
          const events: NewEvent[] = [];
          for (const slot of slots) {
            if (!('pk' in slot)) {
              out.push(slot as Record<string, string>);
              continue;
            }
            const { pk, dn } = slot as { pk: string; dn: string };
            const secret = newDeviceSecret();
            const row = await insertDeviceIfAbsent(tx, {
              iotId: newIotId(),
              productKey: pk,
              deviceName: dn,
              secretEnc: deps.secrets.encrypt(secret),
            });
            if (!row)
              return {
                events,
                replies: reply(ALINK.DEVICE_ALREADY_ACTIVATED, {}, `device ${dn} was registered meanwhile`),
              };
            events.push(lifecycleEvent('create', row));
            out.push({ iotId: row.iotId, productKey: pk, deviceName: dn, deviceSecret: secret });
          }
          return { events, replies: reply(ALINK.SUCCESS, out) };
        },
      };
    }

    // thing/list/found (§6.9)
    if (list.length > LIMITS.foundReport)
      return answer(ALINK.PARAM_ERROR, {}, `at most ${LIMITS.foundReport} sub-devices per report`);
    const found: DeviceIdentity[] = [];
    for (const p of list) {
      const sub = await deps.deviceAuth.lookup(s(p.productKey), s(p.deviceName));
      // The iotId only for a device this gateway may know of (bound to it, or in a product that allows it): a report
      // must not reveal which devices exist in other products.
      const known =
        sub &&
        ((await gateway.boundSubDevices(gw.id)).has(sub.id) ||
          (await gateway.subRegistration.allows(sub.productKey, gw.productKey)));
      found.push(known ? sub : { id: 0, iotId: '', productKey: s(p.productKey), deviceName: s(p.deviceName) });
    }
    const event: NewEvent = {
      type: 'thing.list.found',
      productKey: gw.productKey,
      deviceName: gw.deviceName,
      data: {
        gwIotId: gw.iotId,
        gwProductKey: gw.productKey,
        gwDeviceName: gw.deviceName,
        devices: found.map((d) => ({ iotId: d.iotId || null, productKey: d.productKey, deviceName: d.deviceName })),
      },
    };
    return answer(ALINK.SUCCESS, {}, undefined, [event]);
  };
}
