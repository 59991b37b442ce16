import * as OpenApi from '@alicloud/openapi-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  $Iot,
  createAccessKey,
  iotClient,
  sdkError,
  type IotClient,
  type SignatureMode,
} from '../helpers/alibaba-openapi.ts';
import { productWithDevices } from '../helpers/devices.ts';
import { recordingProxy, send } from '../helpers/http-replay.ts';
import { usePlatform } from '../helpers/use-platform.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('Alibaba IoT OpenAPI: authentication, authorization and bad input', () => {
  const t = usePlatform('pglite');
  let pkA: string;
  let pkB: string;
  let devA: string;
  let iotIdB: string;
  let admin: { accessKeyId: string; accessKeySecret: string };
  let viewer: { accessKeyId: string; accessKeySecret: string };
  let operator: { accessKeyId: string; accessKeySecret: string };
  let scoped: { accessKeyId: string; accessKeySecret: string };
  let scopedAdmin: { accessKeyId: string; accessKeySecret: string };
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;

  beforeAll(async () => {
    const a = await productWithDevices(t, 1);
    const b = await productWithDevices(t, 1);
    [pkA, pkB, devA] = [a.productKey, b.productKey, a.devices[0]!.deviceName];
    iotIdB = (
      await t.gql('query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { iotId } }', {
        pk: pkB,
        dn: b.devices[0]!.deviceName,
      })
    ).data.device.iotId;
    [admin, viewer, operator, scoped, scopedAdmin] = await Promise.all([
      createAccessKey(t, 'ADMIN'),
      createAccessKey(t, 'VIEWER'),
      createAccessKey(t, 'OPERATOR'),
      createAccessKey(t, 'OPERATOR', [pkA]),
      createAccessKey(t, 'ADMIN', [pkA]),
    ]);
    proxy = await recordingProxy(t.platform.httpPort);
  });
  afterAll(async () => {
    await proxy?.close();
  });

  const status = (c: IotClient, pk = pkA, dn = devA) =>
    c.getDeviceStatus(new $Iot.GetDeviceStatusRequest({ productKey: pk, deviceName: dn }));

  describe.each(['ACS3', 'RPC'] as SignatureMode[])('%s signature', (mode) => {
    it('refuses a wrong secret with SignatureDoesNotMatch (HTTP 400) and shows the server string-to-sign, never the secret', async () => {
      const e = await sdkError(status(iotClient(t, { ...operator, accessKeySecret: 'x'.repeat(30) }, mode)));
      expect(e).toMatchObject({ code: 'SignatureDoesNotMatch', statusCode: 400 });
      expect(e.data.Message).toContain(mode === 'ACS3' ? 'ACS3-HMAC-SHA256\n' : 'POST&%2F&');
      expect(JSON.stringify(e.data)).not.toContain(operator.accessKeySecret);
      expect(e.data).toMatchObject({
        RequestId: expect.stringMatching(/^[0-9A-F-]{36}$/),
        HostId: `127.0.0.1:${t.platform.httpPort}`,
      });
    });

    it('refuses unknown and revoked AccessKeyIds', async () => {
      const unknown = await sdkError(
        status(iotClient(t, { accessKeyId: `TQL${'a'.repeat(21)}`, accessKeySecret: 'x' }, mode)),
      );
      expect(unknown).toMatchObject({ code: 'InvalidAccessKeyId.NotFound', statusCode: 404 });
      const k = await createAccessKey(t, 'VIEWER');
      const c = iotClient(t, k, mode);
      expect((await status(c)).body.success).toBe(true);
      const r = await t.gql(
        'mutation($i: RevokeAccessKeyInput!) { revokeAccessKey(input: $i) { userErrors { code } } }',
        { i: { accessKeyId: k.accessKeyId } },
      );
      expect(r.data.revokeAccessKey.userErrors).toEqual([]);
      expect(await sdkError(status(c))).toMatchObject({ code: 'InvalidAccessKeyId.Inactive', statusCode: 400 });
    });

    it('refuses a replayed request with SignatureNonceUsed, and the original succeeded', async () => {
      const c = iotClient(t, operator, mode, `127.0.0.1:${proxy.port}`);
      const r = await c.pub(
        new $Iot.PubRequest({
          productKey: pkA,
          topicFullName: `/${pkA}/${devA}/user/get`,
          messageContent: b64('once'),
        }),
      );
      expect(r.body.success).toBe(true);
      const replay = await send(t.platform.httpPort, proxy.seen.at(-1)!);
      expect(replay.status).toBe(400);
      expect(replay.json).toMatchObject({ Code: 'SignatureNonceUsed' });
      expect(replay.headers['x-acs-request-id']).toBe(replay.json.RequestId);
    });

    it('refuses a request signed more than 15 minutes away from the server clock', async () => {
      const c = iotClient(t, operator, mode);
      const real = Date.now.bind(Date);
      // The server reads its clock with Date.now; the SDK stamps requests with new Date(), which this leaves alone.
      const spy = vi.spyOn(Date, 'now').mockImplementation(() => real() + 16 * 60_000);
      try {
        expect(await sdkError(status(c))).toMatchObject({ code: 'InvalidTimeStamp.Expired', statusCode: 400 });
      } finally {
        spy.mockRestore();
      }
      expect((await status(c)).body.success).toBe(true);
    });

    it('answers a key limited to one product exactly as if other products did not exist', async () => {
      const c = iotClient(t, scoped, mode);
      expect((await status(c)).body.success).toBe(true);
      expect((await status(c, pkB, 'dev-0000')).body).toMatchObject({
        success: false,
        code: 'iot.prod.NotExistedProduct',
      });
      expect((await status(c, 'a1doesNotExist', 'dev-0000')).body).toMatchObject({
        success: false,
        code: 'iot.prod.NotExistedProduct',
      });
      expect((await c.getDeviceStatus(new $Iot.GetDeviceStatusRequest({ iotId: iotIdB }))).body).toMatchObject({
        success: false,
        code: 'iot.device.NotExistedDevice',
      });
      const pub = await c.pub(
        new $Iot.PubRequest({ productKey: pkB, topicFullName: `/${pkB}/dev-0000/user/get`, messageContent: b64('x') }),
      );
      expect(pub.body).toMatchObject({ success: false, code: 'iot.prod.NotExistedProduct' });
      const list = await c.queryProductList(new $Iot.QueryProductListRequest({ currentPage: 1, pageSize: 50 }));
      expect(list.body.data!.list!.productInfo!.map((p) => p.productKey)).toEqual([pkA]);
      expect(list.body.data!.total).toBe(1);
    });

    it('refuses actions above the key role with iot.common.RamActionPermissionDeny', async () => {
      const v = iotClient(t, viewer, mode);
      expect((await status(v)).body.success).toBe(true);
      const pub = await v.pub(
        new $Iot.PubRequest({ productKey: pkA, topicFullName: `/${pkA}/${devA}/user/get`, messageContent: b64('x') }),
      );
      expect(pub.body).toMatchObject({ success: false, code: 'iot.common.RamActionPermissionDeny' });
      const create = await iotClient(t, operator, mode).createProduct(
        new $Iot.CreateProductRequest({ productName: 'Not allowed', nodeType: 0 }),
      );
      expect(create.body).toMatchObject({ success: false, code: 'iot.common.RamActionPermissionDeny' });
      const scopedCreate = await iotClient(t, scopedAdmin, mode).createProduct(
        new $Iot.CreateProductRequest({ productName: 'Not allowed', nodeType: 0 }),
      );
      expect(scopedCreate.body).toMatchObject({ success: false, code: 'iot.common.RamActionPermissionDeny' });
      const viewerDetail = await v.queryDeviceDetail(
        new $Iot.QueryDeviceDetailRequest({ productKey: pkA, deviceName: devA }),
      );
      expect(viewerDetail.body.data!.deviceSecret).toBeUndefined();
      const adminDetail = await iotClient(t, admin, mode).queryDeviceDetail(
        new $Iot.QueryDeviceDetailRequest({ productKey: pkA, deviceName: devA }),
      );
      expect(adminDetail.body.data!.deviceSecret).toMatch(/^[0-9a-f]{32}$/);
    });

    it('answers missing parameters, unknown actions and other versions with the gateway codes', async () => {
      const c = iotClient(t, operator, mode);
      const missing = await sdkError(
        c.pub(new $Iot.PubRequest({ topicFullName: `/${pkA}/${devA}/user/get`, messageContent: b64('x') })),
      );
      expect(missing).toMatchObject({ code: 'MissingProductKey', statusCode: 400 });
      expect(missing.data.Message).toBe('ProductKey is mandatory for this action.');
      const call = (action: string, version = '2018-01-20') =>
        c.callApi(
          new OpenApi.Params({
            action,
            version,
            protocol: 'HTTP',
            pathname: '/',
            method: 'POST',
            authType: 'AK',
            style: 'RPC',
            reqBodyType: 'formData',
            bodyType: 'json',
          }),
          new OpenApi.OpenApiRequest({ query: { ProductKey: pkA } }),
          {} as Parameters<IotClient['callApi']>[2],
        );
      expect(await sdkError(call('BatchRegisterDeviceWithApplyId'))).toMatchObject({
        code: 'InvalidAction.NotFound',
        statusCode: 404,
      });
      expect(await sdkError(call('QueryProduct', '2017-04-20'))).toMatchObject({
        code: 'InvalidVersion',
        statusCode: 400,
      });
      expect(((await call('QueryProduct')) as { body: any }).body).toMatchObject({
        Success: true,
        Data: { ProductKey: pkA },
      });
    });

    it('refuses STS security tokens with IncompleteSignature', async () => {
      const c = iotClient(t, { ...operator, securityToken: 'sts-token' }, mode);
      expect(await sdkError(status(c))).toMatchObject({ code: 'IncompleteSignature', statusCode: 400 });
    });
  });

  it('refuses a body larger than the limit with HTTP 413 and keeps serving; a payload above MQTT_MAX_PAYLOAD is ParameterSizeLimit', async () => {
    const c = iotClient(t, operator);
    const huge = await sdkError(
      c.pub(
        new $Iot.PubRequest({
          productKey: pkA,
          topicFullName: `/${pkA}/${devA}/user/get`,
          messageContent: 'A'.repeat(2 * 1024 * 1024),
        }),
      ),
    );
    expect(huge).toMatchObject({ code: 'RequestEntityTooLarge', statusCode: 413 });
    const big = await c.pub(
      new $Iot.PubRequest({
        productKey: pkA,
        topicFullName: `/${pkA}/${devA}/user/get`,
        messageContent: Buffer.alloc(300 * 1024, 1).toString('base64'),
      }),
    );
    expect(big.body).toMatchObject({ success: false, code: 'iot.common.ParameterSizeLimit' });
    expect((await status(c)).body.success).toBe(true);
  });

  /** A request with no body and no signature to the platform's HTTP port (Host `x` plus `headers`). */
  const bare = (method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}) =>
    send(t.platform.httpPort, { method, url, headers: { host: 'x', ...headers }, body: Buffer.alloc(0) });
  /** A form POST to / (no Action signature). */
  const postForm = (body: string) =>
    send(t.platform.httpPort, {
      method: 'POST',
      url: '/',
      headers: { host: 'x', 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(body),
    });

  it('answers malformed percent-encoding and an unsigned request with clear 400s', async () => {
    const bad = await bare('POST', '/?Action=Pub&ProductKey=%E0%A4%A');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ Code: 'InvalidParameter', Message: expect.stringContaining('percent-encoding') });
    const unsigned = await bare('GET', '/?Action=QueryProduct&ProductKey=x');
    expect(unsigned.status).toBe(400);
    expect(unsigned.json).toMatchObject({ Code: 'IncompleteSignature' });
  });

  it('leaves every other request on / alone: GET / is the web console, a form POST without Action redirects to /graphql', async () => {
    const get = await bare('GET', '/', { accept: 'text/html' });
    // The console page, or its "being built" page when the console has no build yet: HTML either way, never the OpenAPI.
    expect([200, 503]).toContain(get.status);
    expect(String(get.headers['content-type'])).toContain('text/html');
    const form = await postForm('a=b');
    expect(form.status).toBe(302);
    const rpcInForm = await postForm('Action=QueryProduct');
    expect(rpcInForm.status).toBe(400);
    expect(rpcInForm.json).toMatchObject({ Code: 'IncompleteSignature' });
  });

  it('counts calls by known action and outcome in thingql_openapi_requests_total; unknown actions as "other"', async () => {
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/thingql_openapi_requests_total\{action="GetDeviceStatus",code="OK"\} [1-9]/);
    expect(metrics).toMatch(
      /thingql_openapi_requests_total\{action="Pub",code="iot.common.RamActionPermissionDeny"\} [1-9]/,
    );
    expect(metrics).toMatch(/thingql_openapi_requests_total\{action="other",code="InvalidAction.NotFound"\} [1-9]/);
    expect(metrics).not.toContain('BatchRegisterDeviceWithApplyId');
  });
});
