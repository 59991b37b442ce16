/**
 * Parsing of the Alink MQTT CONNECT identity fields (alink-protocol.md §1.2, §8.1, D3).
 *
 * ClientId: `${clientId}|k1=v1,k2=v2,...|` — the Node SDK 1.2.8 sends
 * `${pk}&${dn}|securemode=3,signmethod=hmacsha1,timestamp=${Date.now()},lan=NodeJS,_v=1.2.8|`
 * (lib/model.js `genConnectPrarms`), the C SDK `${pk}.${dn}|...|`.
 * Username: `${dn}&${pk}`.
 */
import { err, ok, type Result } from '../result.ts';

export interface ParsedClientId {
  /** The device-chosen id before the first `|` (§1.2), trimmed. May be empty. */
  clientId: string;
  /** Extension params between the `|`; keys and values trimmed, unknown keys kept (D3). */
  params: Record<string, string>;
}

/** §1.2: the plain clientId is at most 64 characters. */
export const MAX_CLIENT_ID_LENGTH = 64;

/**
 * Split on `|` (D3). Accepted shapes: `id|params|` (canonical) and `id|params` (trailing `|` missing — lenient);
 * anything after the closing `|` other than whitespace is malformed. A ClientId without any `|` block is not an
 * Alink login. Items are `k=v` separated by commas; whitespace around keys and values is tolerated (the SDK's unused
 * `genConnectPrarms1` even puts newlines there); empty items (a trailing comma) are skipped; an item without `=`, an
 * empty key or a key given twice (which value was signed?) is malformed.
 */
export function parseClientId(raw: string): Result<ParsedClientId, string> {
  const parts = raw.split('|');
  if (parts.length < 2) return err("ClientId has no '|...|' extension block");
  if (parts.length > 3 || (parts[2] ?? '').trim() !== '') return err("unexpected text after the closing '|'");
  const clientId = (parts[0] ?? '').trim();
  if (clientId.length > MAX_CLIENT_ID_LENGTH) return err(`clientId longer than ${MAX_CLIENT_ID_LENGTH} characters`);

  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const item of (parts[1] ?? '').split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) return err(`extension item '${item.trim()}' is not key=value`);
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === '') return err('extension item with an empty key');
    if (Object.hasOwn(params, key)) return err(`extension key '${key}' given twice`);
    params[key] = value;
  }
  return ok({ clientId, params: { ...params } });
}

/** Case-insensitive lookup of an extension param (`signmethod` vs `signMethod`, D20 leniency). */
export function getParam(params: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(params)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

export interface ParsedUsername {
  deviceName: string;
  productKey: string;
}

/**
 * Username `${dn}&${pk}` (§1.2). Device names (`-_@.:` plus letters/digits, §5.4 RegisterDevice) and product keys
 * never contain `&`, so exactly one `&` with both sides non-empty is required.
 */
export function parseUsername(u: string): Result<ParsedUsername, string> {
  const parts = u.split('&');
  if (parts.length !== 2) return err("username must be '${deviceName}&${productKey}'");
  const [deviceName = '', productKey = ''] = parts;
  if (deviceName === '' || productKey === '') return err('username has an empty deviceName or productKey');
  return ok({ deviceName, productKey });
}
