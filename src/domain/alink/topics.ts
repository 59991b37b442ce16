/**
 * Alink topic catalogue: parse every topic family a device may use (alink-protocol.md §2.3-2.6) and format every
 * topic the platform sends. Topic *names* only — filters with wildcards are handled in topic-filter.ts.
 */
import { err, ok, type Result } from '../result.ts';
import { isValidFilter, isValidTopicName } from './topic-filter.ts';

export type OtaAction = 'inform' | 'progress' | 'request' | 'upgrade';
export type ShadowAction = 'update' | 'get';

export type ParsedTopic =
  /** `/sys/${pk}/${dn}/${path...}` — TSL / Alink system topics (§2.3), system RRPC and all-device broadcast. */
  | { kind: 'sys'; productKey: string; deviceName: string; path: string[] }
  /** `/${pk}/${dn}/user/${shortName}` — custom topic categories (§2.2). */
  | { kind: 'custom'; productKey: string; deviceName: string; shortName: string }
  | { kind: 'ntpRequest'; productKey: string; deviceName: string }
  | { kind: 'ntpResponse'; productKey: string; deviceName: string }
  | { kind: 'ota'; action: OtaAction; productKey: string; deviceName: string }
  /** `/ext/rrpc/${messageId}${innerTopic}` — custom-topic RRPC (§2.5, D12, D13). */
  | { kind: 'extRrpc'; messageId: string; innerTopic: string }
  | { kind: 'broadcast'; productKey: string; suffix: string }
  /** `/ext/session/${pk}/${dn}/${action}` — action e.g. `combine/login`, `combine/batch_logout_reply` (§1.7). */
  | { kind: 'extSession'; productKey: string; deviceName: string; action: string }
  | { kind: 'extError'; productKey: string; deviceName: string }
  | { kind: 'shadow'; action: ShadowAction; productKey: string; deviceName: string }
  /** `/ext/register` (pre-registered names) or `/ext/regnwl` (without pre-registration), §1.6. */
  | { kind: 'extRegister'; mode: 'register' | 'regnwl' }
  | { kind: 'unknown' };

const OTA_ACTIONS: readonly string[] = ['inform', 'progress', 'request', 'upgrade'];
const RRPC_PREFIX = '/ext/rrpc/';
const UNKNOWN: ParsedTopic = { kind: 'unknown' };

const nonEmpty = (levels: readonly string[]): boolean => levels.length > 0 && levels.every((l) => l.length > 0);

/** Parse a topic name. Anything not in the catalogue, containing wildcards or empty identity levels is `unknown`. */
export function parseTopic(topic: string): ParsedTopic {
  if (!isValidTopicName(topic) || !topic.startsWith('/')) return UNKNOWN;
  if (topic.startsWith(RRPC_PREFIX)) return parseExtRrpc(topic);
  const l = topic.split('/').slice(1); // drop the empty level before the leading '/'
  const [a, b, c, d, e] = l;
  if (a === undefined || b === undefined) return UNKNOWN;

  if (a === 'sys') {
    const path = l.slice(3);
    if (c === undefined || !nonEmpty([b, c]) || !nonEmpty(path)) return UNKNOWN;
    return { kind: 'sys', productKey: b, deviceName: c, path };
  }
  if (a === 'ext') {
    if (l.length === 2 && (b === 'register' || b === 'regnwl')) return { kind: 'extRegister', mode: b };
    if (c === undefined || d === undefined || !nonEmpty([c, d])) return UNKNOWN;
    if (b === 'ntp' && l.length === 5 && e === 'request') return { kind: 'ntpRequest', productKey: c, deviceName: d };
    if (b === 'ntp' && l.length === 5 && e === 'response') return { kind: 'ntpResponse', productKey: c, deviceName: d };
    if (b === 'error' && l.length === 4) return { kind: 'extError', productKey: c, deviceName: d };
    const rest = l.slice(4);
    if (b === 'session' && nonEmpty(rest)) {
      return { kind: 'extSession', productKey: c, deviceName: d, action: rest.join('/') };
    }
    return UNKNOWN;
  }
  if (a === 'ota') {
    // /ota/device/${action}/${pk}/${dn}
    if (l.length !== 5 || b !== 'device' || c === undefined || !OTA_ACTIONS.includes(c)) return UNKNOWN;
    if (d === undefined || e === undefined || !nonEmpty([d, e])) return UNKNOWN;
    return { kind: 'ota', action: c as OtaAction, productKey: d, deviceName: e };
  }
  if (a === 'shadow') {
    if (l.length !== 4 || (b !== 'update' && b !== 'get') || c === undefined || d === undefined) return UNKNOWN;
    if (!nonEmpty([c, d])) return UNKNOWN;
    return { kind: 'shadow', action: b, productKey: c, deviceName: d };
  }
  if (a === 'broadcast') {
    const suffix = l.slice(2);
    if (!nonEmpty([b]) || !nonEmpty(suffix)) return UNKNOWN;
    return { kind: 'broadcast', productKey: b, suffix: suffix.join('/') };
  }
  // Custom topic: /${pk}/${dn}/user/${shortName...}. The legacy form without `/user` is not supported: current Link SDKs do not use it.
  if (c === 'user') {
    const short = l.slice(3);
    if (!nonEmpty([a, b]) || !nonEmpty(short)) return UNKNOWN;
    return { kind: 'custom', productKey: a, deviceName: b, shortName: short.join('/') };
  }
  return UNKNOWN;
}

/**
 * `/ext/rrpc/${messageId}${topic}`: the inner topic keeps its leading '/' (D13), and the Go-client form with a doubled
 * slash (`/ext/rrpc/${id}//${pk}/${dn}/user/get`, §2.5) is accepted too. The inner topic is returned with exactly one
 * leading '/'. Three or more slashes are not a known client form and are `unknown`.
 */
function parseExtRrpc(topic: string): ParsedTopic {
  const rest = topic.slice(RRPC_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return UNKNOWN;
  const messageId = rest.slice(0, slash);
  let inner = rest.slice(slash);
  if (inner.startsWith('//')) inner = inner.slice(1);
  if (inner.startsWith('//') || inner.length < 2) return UNKNOWN;
  return { kind: 'extRrpc', messageId, innerTopic: inner };
}

// ---------------------------------------------------------------------------------------------------------------
// Topic-name validation (§2.1)

/** §2.1 / §7 limits. They are the *custom topic* rules: /sys/ topics (`.../thing/event/property/history/post` has 8
 *  separators) and `/ext/rrpc/...` topics (id + full inner topic) legitimately exceed them. */
export const CUSTOM_TOPIC_MAX_LENGTH = 128;
export const CUSTOM_TOPIC_MAX_SEPARATORS = 7;
const CUSTOM_LEVEL = /^[A-Za-z0-9_]+$/;

/**
 * Validate a topic name a device publishes to: MQTT-valid, starts with '/', and for custom topics within the §2.1
 * length/separator limits. Levels of other families are checked by parseTopic/ACL, not here.
 */
export function validateTopicName(topic: string): Result<string, string> {
  if (!isValidTopicName(topic)) return err('not a valid MQTT topic name (empty, NUL or wildcard)');
  if (!topic.startsWith('/')) return err("topic must start with '/'");
  const t = parseTopic(topic);
  if (t.kind === 'custom') {
    if (topic.length > CUSTOM_TOPIC_MAX_LENGTH) return err(`custom topic longer than ${CUSTOM_TOPIC_MAX_LENGTH} chars`);
    const seps = topic.split('/').length - 1;
    if (seps > CUSTOM_TOPIC_MAX_SEPARATORS) return err(`custom topic has more than ${CUSTOM_TOPIC_MAX_SEPARATORS} '/'`);
    // §2.1: custom levels are letters, digits and underscore, none empty.
    const bad = t.shortName.split('/').find((l) => !CUSTOM_LEVEL.test(l));
    if (bad !== undefined) return err(`custom topic level '${bad}': letters, digits and underscore only`);
  }
  return ok(topic);
}

/**
 * Validate a topic category's short name (the part after `/user/`, §2.1/§2.2): levels of letters, digits and
 * underscore, no empty level, at most 4 levels (so `/${pk}/${dn}/user/...` keeps ≤7 separators). `+` and `#` are
 * allowed as whole levels for SUB and ALL categories (brief; the reference documents them for Subscribe).
 */
export function validateTopicShortName(shortName: string, operation: 'PUB' | 'SUB' | 'ALL'): Result<string, string> {
  const levels = shortName.split('/');
  if (levels.length > CUSTOM_TOPIC_MAX_SEPARATORS - 3) return err('topic short name has more than 4 levels');
  const wildcardsAllowed = operation !== 'PUB';
  for (const level of levels) {
    if (level === '+' || level === '#') {
      if (!wildcardsAllowed) return err('wildcards are only allowed in SUB or ALL topic categories');
      continue;
    }
    if (!CUSTOM_LEVEL.test(level)) return err(`invalid level '${level}': letters, digits and underscore only`);
  }
  if (!isValidFilter(`/x/y/user/${shortName}`)) return err("'#' must be the last level");
  return ok(shortName);
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting: every topic the platform sends (and the upstream ones, for tests and replies)

const trimSlash = (s: string): string => s.replace(/^\/+/, '');

/** `/sys/${pk}/${dn}/${suffix}` — suffix without leading '/', e.g. `thing/service/property/set`. */
export const sysTopic = (pk: string, dn: string, suffix: string): string => `/sys/${pk}/${dn}/${trimSlash(suffix)}`;
/** `/${pk}/${dn}/user/${shortName}`. */
export const customTopic = (pk: string, dn: string, shortName: string): string =>
  `/${pk}/${dn}/user/${trimSlash(shortName)}`;
/** Reply convention (§2.3, D11): request topic + `_reply`. */
export const replyTopic = (requestTopic: string): string => `${requestTopic}_reply`;

/** System RRPC / synchronous services (§2.5, D12). */
export const rrpcRequestTopic = (pk: string, dn: string, messageId: string): string =>
  sysTopic(pk, dn, `rrpc/request/${messageId}`);
export const rrpcResponseTopic = (pk: string, dn: string, messageId: string): string =>
  sysTopic(pk, dn, `rrpc/response/${messageId}`);
/** Custom-topic RRPC (D13): `/ext/rrpc/${messageId}${topic}` with the topic's single leading '/'. */
export const extRrpcTopic = (messageId: string, innerTopic: string): string =>
  `${RRPC_PREFIX}${messageId}/${trimSlash(innerTopic)}`;

/**
 * Sync services and RRPC for `ext=1` sessions (D21): `/ext/rrpc/${messageId}/sys/${pk}/${dn}/thing/service/${identifier}`
 * (single slash after the message id); the device answers on the same topic.
 */
export const extRrpcServiceTopic = (messageId: string, pk: string, dn: string, identifier: string): string =>
  extRrpcTopic(messageId, sysTopic(pk, dn, `thing/service/${identifier}`));

/** Broadcast (§2.6, D14): topic mode and all-online-devices mode. */
export const broadcastTopic = (pk: string, suffix: string): string => `/broadcast/${pk}/${trimSlash(suffix)}`;
export const broadcastRequestTopic = (pk: string, dn: string, messageId: string): string =>
  sysTopic(pk, dn, `broadcast/request/${messageId}`);

/** NTP (§2.4, D16). */
export const ntpRequestTopic = (pk: string, dn: string): string => `/ext/ntp/${pk}/${dn}/request`;
export const ntpResponseTopic = (pk: string, dn: string): string => `/ext/ntp/${pk}/${dn}/response`;

/** OTA (§2.4). The platform sends only `upgrade`. */
export const otaTopic = (action: OtaAction, pk: string, dn: string): string => `/ota/device/${action}/${pk}/${dn}`;
export const otaUpgradeTopic = (pk: string, dn: string): string => otaTopic('upgrade', pk, dn);

/** Gateway sub-device session (§1.7), e.g. action `combine/login_reply`. */
export const extSessionTopic = (pk: string, dn: string, action: string): string =>
  `/ext/session/${pk}/${dn}/${trimSlash(action)}`;
/** Sub-device error notification to a gateway (§2.4). */
export const extErrorTopic = (pk: string, dn: string): string => `/ext/error/${pk}/${dn}`;
/** Device shadow (§2.4): devices publish `update`, the platform answers on `get`. */
export const shadowTopic = (action: ShadowAction, pk: string, dn: string): string => `/shadow/${action}/${pk}/${dn}`;
/** MQTT dynamic registration result (§1.6 B/C). */
export const extRegisterTopic = (mode: 'register' | 'regnwl' = 'register'): string => `/ext/${mode}`;

/**
 * The platform's replies (`/sys/.../..._reply`, `/ext/.../..._reply`: to a property post, an event, a sub-device
 * login, a topology change...) answer a request the device made on its current connection. They are delivered at the
 * request's QoS, but never queued for offline delivery: after a reconnect the device resends what was not
 * acknowledged and is answered again (resends are deduplicated, not stored twice). Storing them cost a persistent
 * session (`clean: false`, the Link SDKs' default) three statements per reply (queue, packet id, delete on PUBACK)
 * outside the ingest commit: most of the database's work per property post. A custom topic
 * (`/${pk}/${dn}/user/..._reply`, published by an application) is an application message like any other and is
 * queued as before.
 */
export function isReplyTopic(topic: string | undefined): boolean {
  return topic !== undefined && (topic.startsWith('/sys/') || topic.startsWith('/ext/')) && topic.endsWith('_reply');
}
