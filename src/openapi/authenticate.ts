import type { IncomingMessage } from 'node:http';
import type { AccessKeyLookup, ResolvedAccessKey } from '../services/access-keys.ts';
import { constantTimeEqual } from '../services/secrets.ts';
import { incompleteSignature, missing, RequestError, signatureMismatch } from './errors.ts';
import type { NonceStore } from './nonces.ts';
import { parseAcsTime } from './pct.ts';
import { acs3Signature, acs3StringToSign, parseAcs3Authorization, sha256Hex } from './signature-acs3.ts';
import { rpcSignature, rpcStringToSign } from './signature-rpc.ts';

export interface AuthDeps {
  lookup(accessKeyId: string): Promise<AccessKeyLookup>;
  nonces: NonceStore;
  maxSkewMs: number;
  now?: () => number;
}

export interface SignedRequest {
  method: string;
  headers: IncomingMessage['headers'];
  headersDistinct: NodeJS.Dict<string[]>;
  query: ReadonlyMap<string, string>;
  form: ReadonlyMap<string, string>;
  body: Buffer;
}

export interface Authenticated {
  key: ResolvedAccessKey;
  action: string;
  version: string;
  /** Query and form parameters, merged (form wins). */
  params: Map<string, string>;
  mode: 'ACS3' | 'RPC';
}

const RPC_REQUIRED = [
  'SignatureMethod',
  'SignatureVersion',
  'AccessKeyId',
  'SignatureNonce',
  'Timestamp',
  'Action',
  'Version',
  'Signature',
];

async function key(deps: AuthDeps, accessKeyId: string): Promise<ResolvedAccessKey> {
  const r = await deps.lookup(accessKeyId);
  if (r.status === 'notFound')
    throw new RequestError('InvalidAccessKeyId.NotFound', 404, 'Specified access key is not found.');
  if (r.status === 'revoked')
    throw new RequestError('InvalidAccessKeyId.Inactive', 400, 'Specified access key is disabled.');
  return r.key;
}

function checkTime(deps: AuthDeps, value: string | undefined): void {
  const t = value === undefined ? null : parseAcsTime(value);
  if (t === null)
    throw new RequestError(
      'InvalidTimeStamp.Format',
      400,
      `Specified time stamp or date value is not well formatted (expected YYYY-MM-DDTHH:mm:ssZ, got ${JSON.stringify(value ?? '')}).`,
    );
  const now = (deps.now ?? Date.now)();
  if (Math.abs(now - t) > deps.maxSkewMs) {
    throw new RequestError(
      'InvalidTimeStamp.Expired',
      400,
      `Specified time stamp or date value is expired: ${value} differs from the server time ${new Date(now).toISOString()} by more than ${deps.maxSkewMs / 1000} s.`,
    );
  }
}

async function checkNonce(deps: AuthDeps, accessKeyId: string, nonce: string): Promise<void> {
  // Remembered for twice the window: a request stamped at the far edge of the skew stays refused while it is valid.
  if (!(await deps.nonces.remember(accessKeyId, nonce, 2 * deps.maxSkewMs))) {
    throw new RequestError('SignatureNonceUsed', 400, 'Specified signature nonce was used already.');
  }
}

/**
 * cloud-api.md §3: parse (IncompleteSignature), key (InvalidAccessKeyId.*), time, signature, then nonce; the nonce is
 * recorded only once the signature verified, so nobody can burn another caller's nonces.
 */
export async function authenticate(deps: AuthDeps, r: SignedRequest): Promise<Authenticated> {
  const authorization = r.headers.authorization;
  const params = new Map([...r.query, ...r.form]);
  if (r.headers['x-acs-security-token'] !== undefined || params.has('SecurityToken') || params.has('BearerToken')) {
    throw incompleteSignature('STS security tokens and bearer tokens are not supported; sign with an AccessKey pair.');
  }
  if (authorization !== undefined) {
    const auth = parseAcs3Authorization(authorization);
    const h = (name: string) => {
      const v = r.headers[name];
      if (typeof v !== 'string' || v.trim() === '') throw incompleteSignature(`The ${name} header is required.`);
      return v.trim();
    };
    const action = h('x-acs-action');
    const version = h('x-acs-version');
    const nonce = h('x-acs-signature-nonce');
    const claimedHash = h('x-acs-content-sha256');
    const k = await key(deps, auth.accessKeyId);
    checkTime(deps, r.headers['x-acs-date'] as string | undefined);
    const hashedPayload = sha256Hex(r.body);
    const stringToSign = acs3StringToSign({
      method: r.method,
      query: r.query,
      headers: r.headersDistinct,
      signedHeaders: auth.signedHeaders,
      hashedPayload,
    });
    if (!constantTimeEqual(claimedHash.toLowerCase(), hashedPayload)) throw signatureMismatch(stringToSign);
    if (!constantTimeEqual(auth.signature.toLowerCase(), acs3Signature(k.secret, stringToSign)))
      throw signatureMismatch(stringToSign);
    await checkNonce(deps, k.accessKeyId, nonce);
    return { key: k, action, version, params, mode: 'ACS3' };
  }
  if (!params.has('Signature') && !params.has('SignatureMethod') && !params.has('AccessKeyId')) {
    throw incompleteSignature(
      'Sign the request: an ACS3-HMAC-SHA256 Authorization header or RPC Signature parameters.',
    );
  }
  for (const name of RPC_REQUIRED) if (!params.get(name)) throw missing(name);
  if (params.get('SignatureMethod') !== 'HMAC-SHA1')
    throw incompleteSignature(
      `SignatureMethod ${JSON.stringify(params.get('SignatureMethod'))} is not supported; use HMAC-SHA1.`,
    );
  if (params.get('SignatureVersion') !== '1.0')
    throw incompleteSignature(
      `SignatureVersion ${JSON.stringify(params.get('SignatureVersion'))} is not supported; use 1.0.`,
    );
  const k = await key(deps, params.get('AccessKeyId')!);
  checkTime(deps, params.get('Timestamp'));
  const stringToSign = rpcStringToSign(r.method, params);
  if (!constantTimeEqual(params.get('Signature')!, rpcSignature(k.secret, stringToSign)))
    throw signatureMismatch(stringToSign);
  await checkNonce(deps, k.accessKeyId, params.get('SignatureNonce')!);
  return { key: k, action: params.get('Action')!, version: params.get('Version')!, params, mode: 'RPC' };
}
