import type { Client } from 'aedes';
import type { CachedDevice } from '../services/device-auth.ts';
import { deviceKey, type DeviceConnection } from '../services/ports.ts';
import type { OfflineReason } from '../services/presence.ts';
import type { TopicCategory } from '../domain/alink/acl.ts';
import type { Owner, Uplink } from '../domain/alink/uplink.ts';

/** A topic's classification and its ACL verdict for this connection, valid while the product's categories are. */
export interface PublishDecision {
  uplink: Uplink;
  owner: Owner | null;
  categories: readonly TopicCategory[] | null;
  allowed: boolean;
}

/** What the broker knows about one authenticated connection. */
export interface Session {
  device: CachedDevice;
  clientIp: string | null;
  /** The connection epoch this session got at login (presence, D6). */
  epoch: number;
  /** Why the broker closed it, when it did (D15); otherwise the client went away. */
  reason: OfflineReason | null;
  /** Dynamic registration connection (§1.6 B): gets its secret on /ext/register, then is closed. */
  registration: { productKey: string; deviceName: string; deviceSecret: string } | null;
  ended: boolean;
  /** Submission order of this connection's publishes: each waits for the previous one to be submitted. */
  ingestTail: Promise<unknown>;
  /**
   * Settles once the platform-side subscriptions (D19/D22) of this session are in place: a device that never subscribes
   * (`_ss=1`) may publish right after CONNACK, and its first reply must not be published before it is subscribed.
   */
  subscribed?: { promise: Promise<void>; resolve: () => void };
  /**
   * Gateways: sub-devices logged in over this connection (alink-protocol.md §1.7), by `${pk}\u0000${dn}`. Created on
   * first use (SessionRegistry.subDevicesOf): most connections never carry one.
   */
  subs?: Map<string, SubSession>;
  /** D19/D22 `/sys` filters the device unsubscribed from since it logged in (subscription-acl.ts `forgetFilters`). */
  autoOff?: Set<string> | undefined;
  /** This connection as services see it (ports.ts). */
  connection?: DeviceConnection;
  /** ACL decisions of this connection's publishes, by topic (authorize.ts). */
  acl?: Map<string, PublishDecision>;
}

export type SubSession = { device: CachedDevice; epoch: number };

/**
 * The sub-devices of one gateway connection: a Map that also keeps the registry's index of which connections carry
 * which device, so that a status event finds the gateways to update without visiting every connection.
 */
class SubDevices extends Map<string, SubSession> {
  constructor(
    private readonly client: Client,
    private readonly index: Map<string, Set<Client>>,
  ) {
    super();
  }

  override set(key: string, value: SubSession): this {
    super.set(key, value);
    let set = this.index.get(key);
    if (!set) this.index.set(key, (set = new Set()));
    set.add(this.client);
    return this;
  }

  override delete(key: string): boolean {
    if (!super.delete(key)) return false;
    const set = this.index.get(key);
    set?.delete(this.client);
    if (set?.size === 0) this.index.delete(key);
    return true;
  }

  override clear(): void {
    for (const key of [...this.keys()]) this.delete(key);
  }
}

const kSession = Symbol('thingql.session');
export { deviceKey };
type WithSession = Client & { [kSession]?: Session };

export const sessionOf = (client: Client | null | undefined): Session | undefined =>
  (client as WithSession | null | undefined)?.[kSession];
export const attachSession = (client: Client, s: Session): void => {
  (client as WithSession)[kSession] = s;
};

/** The live connection of each device on this instance: takeover (D6) and kicks (disable, delete, secret reset). */
export class SessionRegistry {
  private readonly byDevice = new Map<string, Client>();
  /** The connections each device is logged in over as a sub-device (kept by SubDevices). */
  private readonly carriers = new Map<string, Set<Client>>();

  /** The sub-device map of a connection, created on first use. */
  subDevicesOf(client: Client): Map<string, SubSession> {
    const s = sessionOf(client)!;
    return (s.subs ??= new SubDevices(client, this.carriers));
  }

  /** The connections here over which a device is logged in as a sub-device (its gateways'). */
  carrying(productKey: string, deviceName: string): Client[] {
    const set = this.carriers.get(deviceKey(productKey, deviceName));
    return set ? [...set] : [];
  }

  get(productKey: string, deviceName: string): Client | undefined {
    return this.byDevice.get(deviceKey(productKey, deviceName));
  }

  /**
   * Make `client` the device's live connection. Returns the connection it replaces (to be closed as TAKEN_OVER), or
   * `client` itself when a newer login of the same device already won the race (higher epoch).
   */
  claim(client: Client): Client | null {
    const s = sessionOf(client)!;
    const k = deviceKey(s.device.productKey, s.device.deviceName);
    const current = this.byDevice.get(k);
    if (current && current !== client) {
      const cs = sessionOf(current)!;
      if (cs.epoch > s.epoch) return client;
      this.byDevice.set(k, client);
      return current;
    }
    this.byDevice.set(k, client);
    return null;
  }

  release(client: Client): void {
    const s = sessionOf(client);
    const k = s && deviceKey(s.device.productKey, s.device.deviceName);
    if (k && this.byDevice.get(k) === client) this.byDevice.delete(k);
  }

  ofProduct(productKey: string): Client[] {
    return [...this.byDevice.values()].filter((c) => sessionOf(c)?.device.productKey === productKey);
  }

  all(): Client[] {
    return [...this.byDevice.values()];
  }

  get size(): number {
    return this.byDevice.size;
  }
}
