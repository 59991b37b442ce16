import { ALINK } from '../domain/alink/codes.ts';
import { DomainError } from '../domain/errors.ts';
import {
  allowsSubDeviceGateway,
  findGatewayIdOf,
  listSubDeviceGatewayProducts,
  replaceSubDeviceGatewayProducts,
} from '../db/repositories/gateways.ts';
import { findProduct, findProductsByKeys } from '../db/repositories/products.ts';
import type { Principal } from './access.ts';
import { assertProductVisible, requireRole } from './access.ts';
import type { DeviceAuthService } from './device-auth.ts';
import type { ServiceDeps } from './deps.ts';
import type { DeviceIdentity } from './presence.ts';
import type { ProductCache } from './product-cache.ts';

/** alink-protocol.md §7: at most 30 sub-devices per thing/sub/register request. */
export const REGISTER_BATCH = 30;
const NAME = /^[A-Za-z0-9\-_@.:]{4,32}$/;

/** In request order: an existing unactivated sub-device's record (answered as is), or a name to create in the commit. */
export type SubRegisterSlot =
  | { existing: Record<string, string> }
  | { create: { productKey: string; deviceName: string } };

export type SubRegisterCheck = { ok: true; slots: SubRegisterSlot[] } | { ok: false; code: number; message: string };

/**
 * Sub-device dynamic registration by a gateway, `thing/sub/register` (alink-protocol.md §1.7, §2.3). The reference registers sub-devices only in products of the same account with dynamic registration enabled, and
 * returns the secret of a pre-registered device that has not been activated. ThingQL has one owner for every
 * product, so the product must also name the gateway's product in its allow-list (`setSubDeviceGateways`):
 * - a product the gateway may not use answers 6250 (as for a product that does not exist: nothing is revealed);
 *   dynamic registration off answers 6288;
 * - an existing device: its secret only while it is unactivated, enabled, and not bound to another gateway
 *   (6289 / 6204 / 6619 otherwise), the reference's pre-registration behaviour;
 * - a new name is created in the message's commit (services/ingest/handlers/topology.ts);
 * - each gateway registers at most SUB_REGISTRATION_PER_MINUTE sub-devices a minute (429 past it).
 */
export function createSubRegistration(
  deps: Pick<ServiceDeps, 'database'> & { productCache: ProductCache; deviceAuth: DeviceAuthService },
) {
  const db = deps.database.db;

  const allowed = (productKey: string, gatewayProductKey: string): Promise<boolean> =>
    allowsSubDeviceGateway(db, productKey, gatewayProductKey);

  return {
    /** Does this product allow gateways of `gatewayProductKey`? */
    allows: allowed,

    /** The checks of a registration request, before its commit (which creates the new names). */
    async check(gw: DeviceIdentity, list: Record<string, unknown>[]): Promise<SubRegisterCheck> {
      const fail = (code: number, message: string): SubRegisterCheck => ({ ok: false, code, message });
      if (list.length > REGISTER_BATCH)
        return fail(ALINK.PARAM_ERROR, `at most ${REGISTER_BATCH} sub-devices per request`);
      if (!deps.deviceAuth.limits.subRegister(gw.id, list.length))
        return fail(ALINK.TOO_MANY_REQUESTS, 'too many sub-device registrations by this gateway: try again later');
      const slots: SubRegisterSlot[] = [];
      for (const p of list) {
        const pk = p.productKey == null ? '' : String(p.productKey);
        const dn = p.deviceName == null ? '' : String(p.deviceName);
        const info = await deps.productCache.get(pk);
        if (!info || !(await allowed(pk, gw.productKey)))
          return fail(ALINK.PRODUCT_NOT_FOUND, `product ${pk} not found`);
        if (!info.product.dynamicRegistration)
          return fail(ALINK.DYNREG_DISABLED, `dynamic registration is not enabled for product ${pk}`);
        if (!NAME.test(dn)) return fail(ALINK.SUBDEVICE_NAME_INVALID, `sub-device name ${dn} is not valid`);
        const existing = await deps.deviceAuth.lookup(pk, dn);
        if (existing) {
          if (existing.activated) return fail(ALINK.DEVICE_ALREADY_ACTIVATED, `device ${dn} is already activated`);
          if (!existing.enabled) return fail(ALINK.DEVICE_DISABLED, `device ${dn} is disabled`);
          const boundTo = await findGatewayIdOf(db, existing.id);
          if (boundTo !== null && boundTo !== gw.id)
            return fail(ALINK.SUBDEVICE_BOUND_TO_OTHER_GATEWAY, `device ${dn} is bound to another gateway`);
          slots.push({
            existing: { iotId: existing.iotId, productKey: pk, deviceName: dn, deviceSecret: existing.secret },
          });
        } else slots.push({ create: { productKey: pk, deviceName: dn } });
      }
      return { ok: true, slots };
    },
  };
}

/** The allow-list, managed in GraphQL (`Product.subDeviceGateways`, `setSubDeviceGateways`). */
export function createSubDeviceGatewayService(deps: ServiceDeps) {
  const db = deps.database.db;
  return {
    list: (productKey: string): Promise<string[]> => listSubDeviceGatewayProducts(db, productKey),
    async set(p: Principal, productKey: string, gatewayProductKeys: readonly string[]): Promise<string[]> {
      requireRole(p, 'ADMIN');
      assertProductVisible(p, productKey);
      const keys = [...new Set(gatewayProductKeys)];
      return deps.log.transaction(async (tx, emit) => {
        if (!(await findProduct(tx, productKey)))
          throw new DomainError('PRODUCT_NOT_FOUND', `product ${productKey} does not exist`, ['input', 'productKey']);
        const gateways = keys.length ? await findProductsByKeys(tx, keys) : [];
        for (const k of keys) {
          const g = gateways.find((x) => x.productKey === k);
          if (g?.nodeType !== 'GATEWAY' || (p.productKeys !== null && !p.productKeys.includes(k))) {
            throw new DomainError('PRODUCT_NOT_FOUND', `gateway product ${k} does not exist`, [
              'input',
              'gatewayProductKeys',
            ]);
          }
        }
        await replaceSubDeviceGatewayProducts(tx, productKey, keys);
        emit({
          type: 'registry.changed',
          productKey,
          data: { entity: 'product', what: 'subDeviceGateways', productKey },
        });
        return keys.sort();
      });
    },
  };
}
