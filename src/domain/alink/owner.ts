import { parseTopic } from './topics.ts';

/**
 * The device a topic belongs to (its `${pk}/${dn}` levels), whatever the family; for custom-topic RRPC, the device of
 * the inner topic. Used to tell a gateway's own traffic from its sub-devices' (alink-protocol.md §1.7).
 */
export function topicOwner(topic: string): { productKey: string; deviceName: string } | null {
  const t = parseTopic(topic);
  switch (t.kind) {
    case 'sys':
    case 'custom':
    case 'ntpRequest':
    case 'ntpResponse':
    case 'ota':
    case 'extSession':
    case 'extError':
    case 'shadow':
      return { productKey: t.productKey, deviceName: t.deviceName };
    case 'extRrpc':
      return topicOwner(t.innerTopic);
    default:
      return null;
  }
}

/** The same for a subscription filter: its identity levels must be concrete (no wildcard) to belong to one device. */
export function filterOwner(filter: string): { productKey: string; deviceName: string } | null {
  const concrete = filter.replace(/\/[+#](?=\/|$)/g, '/x');
  const o = topicOwner(concrete);
  if (!o) return null;
  // The identity levels themselves must not have been wildcards.
  return filter.includes(`/${o.productKey}/${o.deviceName}/`) || filter.endsWith(`/${o.productKey}/${o.deviceName}`)
    ? o
    : null;
}
