import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { incompleteSignature } from './errors.ts';
import { canonicalize } from './pct.ts';

/** cloud-api.md §3.1: ACS3-HMAC-SHA256, the SDK's default signature. */
export const ACS3 = 'ACS3-HMAC-SHA256';
const REQUIRED_SIGNED = [
  'host',
  'x-acs-action',
  'x-acs-version',
  'x-acs-date',
  'x-acs-signature-nonce',
  'x-acs-content-sha256',
];

export interface Acs3Authorization {
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

/** `ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<h1;h2>,Signature=<hex>`; anything else is IncompleteSignature. */
export function parseAcs3Authorization(header: string): Acs3Authorization {
  const space = header.indexOf(' ');
  const algorithm = space < 0 ? header : header.slice(0, space);
  if (algorithm !== ACS3)
    throw incompleteSignature(
      `Unsupported signature algorithm ${JSON.stringify(algorithm.slice(0, 40))}; use ${ACS3} or RPC HMAC-SHA1.`,
    );
  const fields = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!accessKeyId || !signedHeaders || !signature)
    throw incompleteSignature('The Authorization header needs Credential, SignedHeaders and Signature.');
  const list = signedHeaders.split(';');
  const absent = REQUIRED_SIGNED.filter((h) => !list.includes(h));
  if (absent.length > 0) throw incompleteSignature(`SignedHeaders must include ${absent.join(', ')}.`);
  return { accessKeyId, signedHeaders: list, signature };
}

/** Header values as signed: trimmed; a header sent several times has its trimmed values sorted and joined with `,`. */
function headerValue(headers: NodeJS.Dict<string[]>, name: string): string {
  const values = headers[name];
  if (!values || values.length === 0) return '';
  if (values.length === 1) return values[0]!.trim();
  return values
    .map((v) => v.trim())
    .sort()
    .join(',');
}

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** Steps 3-6 of §3.1: the string to sign (its hash does not involve the AccessKeyId or the secret). */
export function acs3StringToSign(a: {
  method: string;
  query: ReadonlyMap<string, string>;
  headers: NodeJS.Dict<string[]> | IncomingHttpHeaders;
  signedHeaders: readonly string[];
  hashedPayload: string;
}): string {
  const distinct = a.headers as NodeJS.Dict<string[]>;
  const canonicalHeaders = a.signedHeaders.map((h) => `${h}:${headerValue(distinct, h)}\n`).join('');
  const canonicalRequest = [
    a.method,
    '/',
    canonicalize(a.query),
    canonicalHeaders,
    a.signedHeaders.join(';'),
    a.hashedPayload,
  ].join('\n');
  return `${ACS3}\n${sha256Hex(canonicalRequest)}`;
}

export const acs3Signature = (secret: string, stringToSign: string): string =>
  createHmac('sha256', secret).update(stringToSign).digest('hex');
