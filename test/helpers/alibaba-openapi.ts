import * as $Iot from '@alicloud/iot20180120';
import * as OpenApi from '@alicloud/openapi-client';
import type { TestPlatform } from './platform.ts';

export type SignatureMode = 'ACS3' | 'RPC';
/**
 * The SDK is CommonJS with `exports.default = Client`: Node's ESM loader hands the default import as module.exports
 * (so `Iot.default` is the class, as in Alibaba's samples), vitest's as the class itself.
 */
type ClientClass = typeof $Iot.default.default;
const loaded = $Iot.default as unknown as ClientClass | { default: ClientClass };
const Client: ClientClass = typeof loaded === 'function' ? loaded : loaded.default;
export type IotClient = InstanceType<ClientClass>;
export { $Iot };

/** An AccessKey pair made through GraphQL (cloud-api.md §8). */
export async function createAccessKey(
  t: TestPlatform,
  role: 'ADMIN' | 'OPERATOR' | 'VIEWER',
  productKeys?: string[],
): Promise<{ accessKeyId: string; accessKeySecret: string }> {
  const r = await t.gql(
    'mutation($i: CreateAccessKeyInput!) { createAccessKey(input: $i) { accessKey { accessKeyId } accessKeySecret userErrors { code message } } }',
    { i: { name: `${role} pair`, role, ...(productKeys ? { productKeys } : {}) } },
  );
  const p = r.data?.createAccessKey;
  if (!p || p.userErrors.length) throw new Error(JSON.stringify(r));
  return { accessKeyId: p.accessKey.accessKeyId, accessKeySecret: p.accessKeySecret };
}

/**
 * Alibaba's own server SDK, configured the way cloud-api.md §1 tells users to: endpoint host:port, protocol http,
 * timeouts raised above the SDK's 3 s for RRpc and sync services; `signatureAlgorithm: 'v2'` selects RPC signatures.
 */
export function iotClient(
  t: TestPlatform,
  key: { accessKeyId: string; accessKeySecret: string; securityToken?: string },
  mode: SignatureMode = 'ACS3',
  endpoint = `127.0.0.1:${t.platform.httpPort}`,
): IotClient {
  const config = new OpenApi.Config({
    ...key,
    endpoint,
    protocol: 'http',
    readTimeout: 15000,
    connectTimeout: 15000,
    ...(mode === 'RPC' ? { signatureAlgorithm: 'v2' } : {}),
  });
  return new Client(config);
}

/** What the SDK throws for a request failure (cloud-api.md §4): `.code`, `.statusCode`, `.data`. */
export async function sdkError(
  p: Promise<unknown>,
): Promise<{ code: string; statusCode: number; message: string; data: any }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; statusCode: number; message: string; data: any };
  }
  throw new Error('expected the SDK call to throw');
}
