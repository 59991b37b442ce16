/**
 * Uplink classification: what a device's publish IS, decided once per message from its topic (alink-protocol.md
 * §2.3-2.5, §3). The ingest pipeline picks its handler by `kind` from a table (services/ingest/handlers.ts); the ACL
 * and the gateway's "acting for" decision read `owner` from the same value. Nothing downstream parses the topic again.
 *
 * To support a new uplink: add a member to `Uplink` with the parts its handler needs, a rule in `classifyUplink`,
 * and a handler in the table (the `Record<UplinkKind, ...>` type refuses to compile until there is one).
 */
import { parseTopic, type ParsedTopic } from './topics.ts';

export interface Owner {
  productKey: string;
  deviceName: string;
}

/** Parts common to every /sys/ uplink: the path after `/sys/${pk}/${dn}/` (method check, D10 6300). */
interface Sys extends Owner {
  path: readonly string[];
}

export type TopologyAction = 'add' | 'delete' | 'get' | 'subRegister' | 'listFound';
export type BatchSessionAction = 'combine/batch_login' | 'combine/batch_logout';

export type Uplink =
  /** `thing/event/property/post` (§3.3). */
  | ({ kind: 'propertyPost' } & Sys)
  /** `thing/event/property/history/post` (§3.9 history post). */
  | ({ kind: 'propertyHistoryPost' } & Sys)
  /** `thing/event/property/pack/post` (§3.9 gateway pack post). */
  | ({ kind: 'propertyPackPost' } & Sys)
  /** `thing/event/${eventId}/post` (§3.6). */
  | ({ kind: 'eventPost'; eventId: string } & Sys)
  /** `thing/service/${id}_reply`, `thing/service/property/{set,get}_reply` (§3.4, §3.7, §6.7). */
  | ({ kind: 'serviceReply'; requestPath: string } & Sys)
  /** `rrpc/response/${messageId}` (§2.5, D12). */
  | ({ kind: 'rrpcResponse'; messageId: string } & Sys)
  /** `/ext/rrpc/${messageId}${innerTopic}` (D13): owner is the inner topic's device. */
  | ({ kind: 'extRrpcResponse'; messageId: string; innerTopic: string } & Owner)
  /** `thing/topo/{add,delete,get}`, `thing/sub/register`, `thing/list/found` (§2.3, §3.9). */
  | ({ kind: 'topology'; action: TopologyAction } & Sys)
  /** `thing/deviceinfo/{update,delete}` (§6.12). */
  | ({ kind: 'deviceTags'; op: 'update' | 'delete' } & Sys)
  /** `thing/property/desired/{get,delete}`. */
  | ({ kind: 'desiredProperties'; op: 'get' | 'delete' } & Sys)
  /** `/ota/device/{inform,progress,request}/${pk}/${dn}` (§2.4). */
  | ({ kind: 'otaInform' } & Owner)
  | ({ kind: 'otaProgress' } & Owner)
  | ({ kind: 'otaRequest' } & Owner)
  /** `thing/ota/firmware/get` (§2.3, D23): the Python and C Link SDKs' OTA pull. */
  | ({ kind: 'otaFirmwareGet' } & Sys)
  /** `/shadow/update/${pk}/${dn}` (§2.4): device shadow update, get and delete. */
  | ({ kind: 'shadowUpdate' } & Owner)
  /** `/ext/ntp/${pk}/${dn}/request` (D16). */
  | ({ kind: 'ntpRequest' } & Owner)
  /** `/ext/session/${pk}/${dn}/${action}`: sub-device login/logout over a gateway connection (§1.7). */
  | ({ kind: 'subDeviceSession'; action: string } & Owner)
  /** `/ext/session/${pk}/${dn}/combine/batch_login|batch_logout` (§1.7, D24). */
  | ({ kind: 'subDeviceBatchSession'; action: BatchSessionAction } & Owner)
  /** `/${pk}/${dn}/user/${shortName}` custom topics (§2.2): opaque, stored and forwarded. */
  | ({ kind: 'custom'; shortName: string } & Owner)
  /** Anything else the ACL lets through (other `/sys/.../thing/...` paths): stored and forwarded. */
  | { kind: 'other'; owner: Owner | null; path?: readonly string[] };

export type UplinkKind = Uplink['kind'];
export type UplinkOf<K extends UplinkKind> = Extract<Uplink, { kind: K }>;

const TOPOLOGY: Readonly<Record<string, TopologyAction>> = {
  'thing/topo/add': 'add',
  'thing/topo/delete': 'delete',
  'thing/topo/get': 'get',
  'thing/sub/register': 'subRegister',
  'thing/list/found': 'listFound',
};

function classifySys(t: Extract<ParsedTopic, { kind: 'sys' }>): Uplink {
  const { productKey, deviceName, path: p } = t;
  const sys: Sys = { productKey, deviceName, path: p };
  const [a, b, c, d, e] = p;
  if (a === 'thing') {
    if (b === 'event' && p.length === 4 && d === 'post')
      return c === 'property' ? { kind: 'propertyPost', ...sys } : { kind: 'eventPost', eventId: c!, ...sys };
    if (b === 'event' && c === 'property' && p.length === 5 && e === 'post') {
      if (d === 'history') return { kind: 'propertyHistoryPost', ...sys };
      if (d === 'pack') return { kind: 'propertyPackPost', ...sys };
    }
    if (
      b === 'service' &&
      p[p.length - 1]!.endsWith('_reply') &&
      (p.length === 3 || (p.length === 4 && c === 'property'))
    ) {
      return { kind: 'serviceReply', requestPath: p.join('/').slice(0, -'_reply'.length), ...sys };
    }
    if (b === 'deviceinfo' && p.length === 3 && (c === 'update' || c === 'delete'))
      return { kind: 'deviceTags', op: c, ...sys };
    if (b === 'property' && c === 'desired' && p.length === 4 && (d === 'get' || d === 'delete'))
      return { kind: 'desiredProperties', op: d, ...sys };
    if (b === 'ota' && c === 'firmware' && d === 'get' && p.length === 4) return { kind: 'otaFirmwareGet', ...sys };
    const topo = p.length === 3 ? TOPOLOGY[p.join('/')] : undefined;
    if (topo) return { kind: 'topology', action: topo, ...sys };
  }
  if (a === 'rrpc' && b === 'response' && p.length === 3) return { kind: 'rrpcResponse', messageId: c!, ...sys };
  return { kind: 'other', owner: { productKey, deviceName }, path: p };
}

/** The one parse of an uplink topic. Topics outside the catalogue are `other` with no owner. */
export function classifyUplink(topic: string): Uplink {
  const t = parseTopic(topic);
  switch (t.kind) {
    case 'sys':
      return classifySys(t);
    case 'custom':
      return { kind: 'custom', productKey: t.productKey, deviceName: t.deviceName, shortName: t.shortName };
    case 'ntpRequest':
      return { kind: 'ntpRequest', productKey: t.productKey, deviceName: t.deviceName };
    case 'ota': {
      const owner = { productKey: t.productKey, deviceName: t.deviceName };
      if (t.action === 'inform') return { kind: 'otaInform', ...owner };
      if (t.action === 'progress') return { kind: 'otaProgress', ...owner };
      if (t.action === 'request') return { kind: 'otaRequest', ...owner };
      return { kind: 'other', owner };
    }
    case 'extSession':
      if (t.action === 'combine/batch_login' || t.action === 'combine/batch_logout') {
        return { kind: 'subDeviceBatchSession', action: t.action, productKey: t.productKey, deviceName: t.deviceName };
      }
      return { kind: 'subDeviceSession', action: t.action, productKey: t.productKey, deviceName: t.deviceName };
    case 'extRrpc': {
      const inner = parseTopic(t.innerTopic);
      const owner =
        inner.kind === 'sys' || inner.kind === 'custom'
          ? { productKey: inner.productKey, deviceName: inner.deviceName }
          : null;
      return owner
        ? { kind: 'extRrpcResponse', messageId: t.messageId, innerTopic: t.innerTopic, ...owner }
        : { kind: 'other', owner: null };
    }
    case 'shadow':
      if (t.action === 'update') return { kind: 'shadowUpdate', productKey: t.productKey, deviceName: t.deviceName };
      return { kind: 'other', owner: { productKey: t.productKey, deviceName: t.deviceName } };
    case 'ntpResponse':
    case 'extError':
      return { kind: 'other', owner: { productKey: t.productKey, deviceName: t.deviceName } };
    default:
      return { kind: 'other', owner: null };
  }
}

/** The device an uplink belongs to (a gateway's own traffic or one of its sub-devices', §1.7). */
export function uplinkOwner(u: Uplink): Owner | null {
  return u.kind === 'other' ? u.owner : { productKey: u.productKey, deviceName: u.deviceName };
}

/** The /sys/ path of an uplink (empty for other families). */
export function uplinkPath(u: Uplink): readonly string[] {
  return 'path' in u && u.path ? u.path : [];
}
