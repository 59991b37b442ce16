import type { Client } from 'aedes';
import { canSubscribe, type TopicCategory } from '../domain/alink/acl.ts';
import { filterOwner, topicOwner } from '../domain/alink/owner.ts';
import { grantedFilterMatches } from '../domain/alink/topic-filter.ts';
import { parseTopic } from '../domain/alink/topics.ts';
import { autoCoversSys, autoSysFilter, autoSysPathOf, isAutomaticFilter } from './auto-subscriptions.ts';
import { deviceKey, sessionOf, type Session } from './sessions.ts';

/**
 * Subscription ACL beyond aedes' `authorizeSubscribe` (docs/security-device.md):
 *
 * - aedes 1.2 stores *every* filter of a SUBSCRIBE packet in the persistence once any one of them is granted
 *   (`storeSubscriptions` passes `packet.subscriptions`). The broker records the filters it granted to each
 *   connection here, and the persistence stores only those (`grantedOnly`).
 * - Forwarding re-checks the receiver (`mayReceive`, from `authorizeForward`, which aedes also calls for the offline
 *   queue of a persistent session): a topic reaches a connection only if it belongs to the connection's device or to a
 *   sub-device logged in over it right now. A filter stored before (or by a bug elsewhere) delivers nothing else.
 * - Subscriptions per device identity are bounded (alink-protocol.md §7: at most 100 topics per device).
 */

/**
 * authorizeSubscribe's answer that refuses a filter: aedes then grants it SUBACK_FAILURE of domain/mqtt-codes.ts
 * (`storeSubscriptions` in aedes lib/handlers/subscribe.js) and the connection stays (alink-protocol.md D7).
 */
export const REFUSED_SUBSCRIPTION = null;

interface Grants {
  /** Granted filters, by the device they belong to (a gateway holds its sub-devices' too). */
  byOwner: Map<string, Set<string>>;
}

const grants = new WeakMap<object, Grants>();

function grantsOf(client: object): Grants {
  let g = grants.get(client);
  if (!g) grants.set(client, (g = { byOwner: new Map() }));
  return g;
}

/** Whose namespace a filter belongs to on this connection: a sub-device's, or (anything else) the connection's device. */
export function ownerKeyOf(s: Session, filter: string): string {
  const o = filterOwner(filter) ?? s.device;
  return deviceKey(o.productKey, o.deviceName);
}

function countOwn(owner: { productKey: string; deviceName: string }, set: Set<string>): number {
  let n = 0;
  for (const f of set) if (!isAutomaticFilter(owner.productKey, owner.deviceName, f)) n++;
  return n;
}

/**
 * Called from authorizeSubscribe once the ACL has decided. A granted filter is recorded unless its device already holds
 * `max` filters on this connection (then it is refused: SUBACK_FAILURE). Returns whether the filter is granted.
 */
export function recordSubscribeDecision(
  client: Client,
  s: Session,
  filter: string,
  allowed: boolean,
  max: number,
): boolean {
  const g = grantsOf(client);
  const ownerDevice = filterOwner(filter) ?? s.device;
  const owner = deviceKey(ownerDevice.productKey, ownerDevice.deviceName);
  let set = g.byOwner.get(owner);
  if (!allowed) {
    set?.delete(filter);
    return false;
  }
  if (!set) g.byOwner.set(owner, (set = new Set()));
  // The platform's own subscriptions (D19/D22) are not the device's: they never count against its limit.
  if (
    !set.has(filter) &&
    !isAutomaticFilter(ownerDevice.productKey, ownerDevice.deviceName, filter) &&
    countOwn(ownerDevice, set) >= max
  )
    return false;
  set.add(filter);
  return true;
}

/**
 * aedes' `unsubscribe` event: the filters no longer count. One of the D19/D22 `/sys` filters (which the session holds
 * as one wider filter, auto-subscriptions.ts) stops being delivered through it (D19: a device's own UNSUBSCRIBE removes
 * one), until the device's next login.
 */
export function forgetFilters(client: Client, filters: readonly string[]): void {
  const s = sessionOf(client);
  for (const f of filters) {
    const owner = s && filterOwner(f);
    if (owner && autoSysPathOf(owner.productKey, owner.deviceName, f) !== undefined) (s.autoOff ??= new Set()).add(f);
  }
  const g = grants.get(client);
  if (!g) return;
  for (const set of g.byOwner.values()) for (const f of filters) set.delete(f);
}

/** A (sub-)device's automatic filters were (re)made: every D19/D22 filter of it is delivered again. */
export function resetAutoOff(s: Session, productKey: string, deviceName: string): void {
  if (!s.autoOff) return;
  const prefix = `/sys/${productKey}/${deviceName}/`;
  for (const f of s.autoOff) if (f.startsWith(prefix)) s.autoOff.delete(f);
  if (s.autoOff.size === 0) s.autoOff = undefined;
}

/**
 * A platform message on a `/sys` topic reaches the connection through the automatic filter only when the topic is one
 * of D19/D22 (and not unsubscribed); any other `/sys` topic only through a filter the device subscribed itself.
 */
function receivesSys(
  client: Client,
  s: Session,
  topic: string,
  t: { productKey: string; deviceName: string; path: readonly string[] },
): boolean {
  const off = s.autoOff;
  if (autoCoversSys(t.path, off && ((p) => off.has(`/sys/${t.productKey}/${t.deviceName}/${p}`)))) return true;
  const subs = (client as unknown as { subscriptions?: Record<string, unknown> }).subscriptions ?? {};
  const auto = autoSysFilter(t.productKey, t.deviceName);
  for (const f in subs) if (f !== auto && grantedFilterMatches(f, topic)) return true;
  return false;
}

/** The filters of one device (a sub-device of a gateway) on this connection, forgotten; returns them. */
export function takeOwnerFilters(client: object, productKey: string, deviceName: string): string[] {
  const g = grants.get(client);
  const key = deviceKey(productKey, deviceName);
  const set = g?.byOwner.get(key);
  if (!set) return [];
  g!.byOwner.delete(key);
  return [...set];
}

/**
 * For the persistence's addSubscriptions: keep only the filters this connection was granted. A client object that
 * never went through authorizeSubscribe (the persistence's own tests) is passed through unchanged.
 */
export function grantedOnly<T extends { topic: string }>(client: object, subs: readonly T[]): T[] {
  const g = grants.get(client);
  if (!g) return [...subs];
  return subs.filter((sub) => {
    for (const set of g.byOwner.values()) if (set.has(sub.topic)) return true;
    return false;
  });
}

/** The product categories the broker has loaded (sync); undefined when not loaded. */
export type CategoriesPeek = (productKey: string) => readonly TopicCategory[] | undefined;

/**
 * authorizeForward's ACL (synchronous): may this connection receive a platform publish on `topic`? Its own topics
 * (custom ones only with a SUB/ALL category when the categories are loaded), those of a sub-device logged in over it,
 * its product's broadcast topics, and `/ext/register` for a registration connection. Nothing else.
 */
export function mayReceive(client: Client, topic: string, peek: CategoriesPeek): boolean {
  const s = sessionOf(client);
  if (!s) return false;
  if (s.registration) return topic === '/ext/register';
  const owner = topicOwner(topic);
  if (!owner) {
    const t = parseTopic(topic);
    if (t.kind !== 'broadcast') return false;
    if (t.productKey === s.device.productKey) return true;
    for (const sub of s.subs?.values() ?? []) if (sub.device.productKey === t.productKey) return true;
    return false;
  }
  const self = owner.productKey === s.device.productKey && owner.deviceName === s.device.deviceName;
  const device = self ? s.device : s.subs?.get(deviceKey(owner.productKey, owner.deviceName))?.device;
  if (!device) return false;
  const t = parseTopic(topic);
  if (t.kind === 'sys') return receivesSys(client, s, topic, t);
  if (t.kind !== 'custom') return true;
  const categories = peek(device.productKey);
  return categories === undefined || canSubscribe(device, topic, categories);
}

/**
 * The QoS a platform publish on `topic` reaches this connection with, as aedes would deliver it: the highest QoS of
 * the connection's filters that deliver it (the automatic `/sys` filter only for the D19/D22 topics it stands for and
 * the device did not unsubscribe), or -1 when none does or `mayReceive` refuses it. For replies written directly
 * (deliver.ts).
 */
export function deliveryQos(client: Client, topic: string, peek: CategoriesPeek): number {
  if (!mayReceive(client, topic, peek)) return -1;
  const subs = (client as unknown as { subscriptions?: Record<string, { qos?: number }> }).subscriptions ?? {};
  let sys: { auto: string; covered: () => boolean } | null = null;
  if (topic.startsWith('/sys/')) {
    const t = parseTopic(topic);
    if (t.kind === 'sys') {
      const off = sessionOf(client)?.autoOff;
      sys = {
        auto: autoSysFilter(t.productKey, t.deviceName),
        covered: () => autoCoversSys(t.path, off && ((p) => off.has(`/sys/${t.productKey}/${t.deviceName}/${p}`))),
      };
    }
  }
  let granted = -1;
  for (const filter in subs) {
    const q = subs[filter]?.qos ?? 0;
    if (q <= granted || !grantedFilterMatches(filter, topic)) continue;
    if (sys && filter === sys.auto && !sys.covered()) continue;
    granted = q;
  }
  return granted;
}

/**
 * A sub-device left this gateway connection (logout, topology removed, disabled, deleted, taken over): its filters are
 * unsubscribed at once, so nothing of it is delivered or queued for the gateway any more.
 */
export function dropSubDeviceSubscriptions(
  client: Client,
  productKey: string,
  deviceName: string,
  onError: (err: unknown) => void,
): void {
  const filters = takeOwnerFilters(client, productKey, deviceName);
  const live = Object.keys((client as unknown as { subscriptions?: Record<string, unknown> }).subscriptions ?? {});
  for (const f of live) {
    const o = filterOwner(f);
    if (o && o.productKey === productKey && o.deviceName === deviceName && !filters.includes(f)) filters.push(f);
  }
  if (filters.length === 0 || client.closed) return;
  // The callback is required: aedes 1.2.0 calls it unconditionally.
  client.unsubscribe({ unsubscriptions: filters } as never, (err) => {
    if (err) onError(err);
  });
}
