import dns from 'node:dns';
import net, { type LookupFunction } from 'node:net';

/**
 * Where WEBHOOK and AMQP actions may connect (SSRF). By default only public unicast addresses:
 * loopback, link-local (cloud metadata at 169.254.169.254), private, shared (CGNAT), unspecified, multicast,
 * reserved and IPv6 forms that embed IPv4 (mapped, NAT64, 6to4) are refused. RULE_ALLOW_PRIVATE_TARGETS=true allows
 * them, narrowed to RULE_PRIVATE_TARGETS when that list is set.
 *
 * The check runs on the resolved addresses at every delivery, and the connection is made to the address that was
 * checked (a pinned lookup), so a DNS answer that changes between check and connect (rebinding) cannot swap it.
 */
export interface TargetPolicy {
  allowPrivate: boolean;
  /** With allowPrivate: the only private ranges allowed (CIDR or single addresses); empty = every private range. */
  privateRanges: readonly string[];
}

// Two lists: net.BlockList also checks IPv4 addresses against IPv6 rules as IPv4-mapped (::ffff:0:0/96 would
// catch every IPv4 address).
const NON_PUBLIC_V4 = new net.BlockList();
const NON_PUBLIC_V6 = new net.BlockList();
for (const [net4, bits] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // shared address space (CGNAT)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  NON_PUBLIC_V4.addSubnet(net4, bits, 'ipv4');
}
for (const [net6, bits] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::ffff:0:0', 96], // IPv4-mapped
  ['64:ff9b::', 96], // NAT64
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  NON_PUBLIC_V6.addSubnet(net6, bits, 'ipv6');
}

const familyOf = (address: string): 'ipv4' | 'ipv6' | null =>
  net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : null;

function allowList(ranges: readonly string[]): net.BlockList | null {
  if (ranges.length === 0) return null;
  const list = new net.BlockList();
  for (const r of ranges) {
    const [addr, bits] = r.split('/') as [string, string | undefined];
    const fam = familyOf(addr);
    if (!fam) continue;
    if (bits === undefined) list.addAddress(addr, fam);
    else list.addSubnet(addr, Number(bits), fam);
  }
  return list;
}

export class DestinationRefused extends Error {
  constructor() {
    // One text whatever the address, port or reason: the answer must not help map the internal network.
    super(
      'destination not allowed: it resolves to a private, local or reserved address (see RULE_ALLOW_PRIVATE_TARGETS)',
    );
    this.name = 'DestinationRefused';
  }
}

export function createTargetGuard(policy: TargetPolicy) {
  const allowed = allowList(policy.privateRanges);

  /** May a connection go to this IP address? */
  function addressAllowed(address: string): boolean {
    const fam = familyOf(address);
    if (!fam) return false;
    if (!(fam === 'ipv4' ? NON_PUBLIC_V4 : NON_PUBLIC_V6).check(address, fam)) return true;
    if (!policy.allowPrivate) return false;
    return allowed === null || allowed.check(address, fam);
  }

  /** A URL host given as an IP literal that is refused outright: checked when a rule is saved (names: at delivery). */
  function literalRefused(hostname: string): boolean {
    const host = hostname.replace(/^\[|\]$/g, '');
    return familyOf(host) !== null && !addressAllowed(host);
  }

  /**
   * Resolve `hostname` (every address it has) and return the one to connect to; DestinationRefused when any of them
   * is not allowed (a name that also points inside is not a public destination).
   */
  async function resolve(hostname: string): Promise<{ address: string; family: 4 | 6 }> {
    const host = hostname.replace(/^\[|\]$/g, '');
    const fam = familyOf(host);
    const found = fam
      ? [{ address: host, family: fam === 'ipv4' ? 4 : 6 }]
      : await dns.promises.lookup(host, { all: true, verbatim: true });
    if (found.length === 0 || found.some((a) => !addressAllowed(a.address))) throw new DestinationRefused();
    const first = found[0]!;
    return { address: first.address, family: first.family === 6 ? 6 : 4 };
  }

  return { addressAllowed, literalRefused, resolve };
}

export type TargetGuard = ReturnType<typeof createTargetGuard>;

/** A `lookup` for net/http/tls that answers with the address already checked, whatever it is asked. */
export function pinnedLookup(target: { address: string; family: 4 | 6 }): LookupFunction {
  return ((_host: string, options: dns.LookupOptions, callback: (...a: unknown[]) => void) => {
    const cb = typeof options === 'function' ? (options as (...a: unknown[]) => void) : callback;
    const all = typeof options === 'object' && options !== null && options.all;
    if (all) cb(null, [{ address: target.address, family: target.family }]);
    else cb(null, target.address, target.family);
  }) as LookupFunction;
}
