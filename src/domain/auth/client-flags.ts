/**
 * What the extension flags of an Alink ClientId (alink-protocol.md §1.2, D3) ask of the platform, read once at login.
 * Signature-relevant keys (`securemode`, `signmethod`, `timestamp`, `authType`, `random`, `instanceId`) are read by
 * signature.ts / device-auth.ts; this reads the ones that change how the platform talks to the session afterwards.
 *
 * Seen on the wire:
 * - Node Link SDK 1.2.8: `${pk}&${dn}|securemode=3,signmethod=hmacsha1,timestamp=${ms},lan=NodeJS,_v=1.2.8|`
 * - Python Link SDK 1.2.13: `${pk}&${dn}|securemode=3,signmethod=hmacsha1,ext=1,_ss=1,lan=Python,_v=1.2.13,timestamp=${s}|`
 * - C Link SDK 4.x: `${pk}.${dn}|timestamp=2524608000000,_ss=1,_v=sdk-c-4.x,securemode=2,signmethod=hmacsha256,ext=3,...|`
 */
import { getParam } from './client-id.ts';
import type { ParsedClientId } from './client-id.ts';

export interface ClientFlags {
  /** D21: sync services and RRPC travel as `/ext/rrpc/${id}/sys/${pk}/${dn}/thing/service/${id}`. */
  extRrpc: boolean;
  /** D22: the device never subscribes to system topics itself (the platform subscribes for it; ThingQL always does). */
  platformSubscribes: boolean;
  /** Informational: SDK language and version (`lan`, `_v`), gateway flag (`gw`). */
  lan: string | null;
  sdkVersion: string | null;
  gateway: boolean;
}

/**
 * `ext` is a bit set on the wire (the Python SDK's `connwl` logins send `ext=3`, the C SDK 4.x `ext=3`): bit 0 asks for
 * the extended RRPC form. Anything that is not a non-negative integer counts as 0.
 */
function extBits(v: string | undefined): number {
  return v !== undefined && /^\d{1,9}$/.test(v) ? Number(v) : 0;
}

export function clientFlags(params: ParsedClientId['params']): ClientFlags {
  return {
    extRrpc: (extBits(getParam(params, 'ext')) & 1) === 1,
    platformSubscribes: getParam(params, '_ss') === '1',
    lan: getParam(params, 'lan') ?? null,
    sdkVersion: getParam(params, '_v') ?? null,
    gateway: getParam(params, 'gw') === '1',
  };
}
