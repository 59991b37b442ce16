import { canPublish } from '../domain/alink/acl.ts';
import { classifyUplink, uplinkOwner, type Uplink } from '../domain/alink/uplink.ts';
import type { CachedDevice } from '../services/device-auth.ts';
import type { ProductCache } from '../services/product-cache.ts';
import type { GatewaySessions } from './gateway-sessions.ts';
import type { PublishDecision, Session } from './sessions.ts';

export type PublishVerdict =
  | { ok: true; device: CachedDevice; uplink: Uplink; self: boolean }
  /** Bound to this gateway but not logged in: answered with 520 on /ext/error, not a disconnect (§3.10). */
  | { ok: false; noSession: CachedDevice }
  | { ok: false; noSession?: undefined };

/** Topics remembered per connection; past it the cache starts over (a device uses a handful of topics). */
const ACL_CACHE_TOPICS = 64;

/**
 * Publish ACL (alink-protocol.md D7; §1.7 for a gateway acting for its sub-devices). The topic is classified once
 * (domain/alink/uplink.ts) and the verdict cached per connection and topic: it only depends on the acting device's
 * identity (fixed by the topic) and its product's topic categories (re-checked when the product cache changes them).
 * Ingest is NOT called here: the broker routes an allowed publish afterwards (route-publish.ts).
 */
export function createPublishAuthorizer(deps: { products: ProductCache; gateway: GatewaySessions }) {
  function decisionOf(s: Session, topic: string): PublishDecision {
    const cache = (s.acl ??= new Map());
    let d = cache.get(topic);
    if (!d) {
      const uplink = classifyUplink(topic);
      d = { uplink, owner: uplinkOwner(uplink), categories: null, allowed: false };
      if (cache.size >= ACL_CACHE_TOPICS) cache.clear();
      cache.set(topic, d);
    }
    return d;
  }

  return async function authorizePublish(s: Session, topic: string): Promise<PublishVerdict> {
    const d = decisionOf(s, topic);
    const acting = await deps.gateway.acting(s, d.owner);
    if (acting.kind === 'deny') return { ok: false };
    if (acting.kind === 'noSession') return { ok: false, noSession: acting.device };
    const device = acting.kind === 'self' ? s.device : acting.device;
    const info = await deps.products.get(device.productKey);
    if (!info) return { ok: false };
    if (d.categories !== info.categories) {
      d.allowed = canPublish(device, topic, info.categories);
      d.categories = info.categories;
    }
    return d.allowed ? { ok: true, device, uplink: d.uplink, self: acting.kind === 'self' } : { ok: false };
  };
}

export type PublishAuthorizer = ReturnType<typeof createPublishAuthorizer>;
