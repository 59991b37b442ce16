import { createHmac } from 'node:crypto';
import { canonicalize, pct } from './pct.ts';

/** cloud-api.md §3.2: RPC signature v1.0 with HMAC-SHA1 (`signatureAlgorithm: 'v2'` in the SDK, older SDKs, the CLI). */
export function rpcStringToSign(method: string, params: ReadonlyMap<string, string>): string {
  const signed = new Map(params);
  signed.delete('Signature');
  return `${method}&${pct('/')}&${pct(canonicalize(signed))}`;
}

export const rpcSignature = (secret: string, stringToSign: string): string =>
  createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64');
