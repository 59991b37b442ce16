import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { redisNonceStore } from '../../src/openapi/nonces.ts';
import { $Iot, createAccessKey, iotClient, sdkError } from '../helpers/alibaba-openapi.ts';
import { productWithDevices } from '../helpers/devices.ts';
import { recordingProxy, send } from '../helpers/http-replay.ts';
import { useCluster } from '../helpers/use-platform.ts';
import { requireService } from '../helpers/services-env.ts';

const redisUrl = process.env.TEST_REDIS_URL;
const enabled = requireService('TEST_REDIS_URL', 'TEST_DATABASE_URL');

describe.runIf(requireService('TEST_REDIS_URL'))('OpenAPI nonces in Redis', () => {
  it('a nonce remembered by one instance is refused by another', async () => {
    const [ra, rb] = [new Redis(redisUrl!), new Redis(redisUrl!)];
    const [a, b] = [redisNonceStore(ra), redisNonceStore(rb)];
    const nonce = `${Date.now()}-${Math.random()}`;
    expect(await a.remember('TQLkey', nonce, 60_000)).toBe(true);
    expect(await b.remember('TQLkey', nonce, 60_000)).toBe(false);
    expect(await b.remember('TQLother', nonce, 60_000)).toBe(true);
    await a.close();
    await b.close();
  });
});

describe.runIf(enabled)('OpenAPI on two instances over one Redis and one PostgreSQL', () => {
  const { a, b } = useCluster();
  let pk: string;
  beforeAll(async () => {
    pk = (await productWithDevices(a, 1)).productKey;
  });

  it('refuses on B a request replayed from A, and a key revoked on A on B', async () => {
    const key = await createAccessKey(a, 'VIEWER');
    const proxy = await recordingProxy(a.platform.httpPort);
    try {
      const r = await iotClient(a, key, 'ACS3', `127.0.0.1:${proxy.port}`).queryProduct(
        new $Iot.QueryProductRequest({ productKey: pk }),
      );
      expect(r.body.success).toBe(true);
      const replay = await send(b.platform.httpPort, proxy.seen.at(-1)!);
      expect(replay.json).toMatchObject({ Code: 'SignatureNonceUsed' });
    } finally {
      await proxy.close();
    }
    const onB = iotClient(b, key, 'RPC');
    expect((await onB.queryProduct(new $Iot.QueryProductRequest({ productKey: pk }))).body.success).toBe(true);
    await a.gql('mutation($i: RevokeAccessKeyInput!) { revokeAccessKey(input: $i) { userErrors { code } } }', {
      i: { accessKeyId: key.accessKeyId },
    });
    // B learns of the revocation from the event log; poll until it does (no timing asserted).
    for (let i = 0; ; i++) {
      const e = await onB.queryProduct(new $Iot.QueryProductRequest({ productKey: pk })).then(
        () => null,
        (err: { code: string }) => err,
      );
      if (e) {
        expect(e.code).toBe('InvalidAccessKeyId.Inactive');
        break;
      }
      if (i > 200) throw new Error('B never saw the revocation');
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(await sdkError(onB.queryProduct(new $Iot.QueryProductRequest({ productKey: pk })))).toMatchObject({
      code: 'InvalidAccessKeyId.Inactive',
    });
  });
});
