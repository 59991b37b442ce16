import { createHmac } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import {
  alinkLogin,
  brokerUrl,
  connectDevice,
  productWithDevices,
  sleep,
  type DeviceCreds,
  type Transport,
} from '../helpers/devices.ts';
import { iot } from '../helpers/link-sdk.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { connackCode } from '../helpers/raw-mqtt.ts';
import { DEVICE_QUERY, watchStatus } from '../helpers/status.ts';
import { describeEachDb } from '../helpers/services-env.ts';

type Method = 'hmacmd5' | 'hmacsha1' | 'hmacsha256';

/** alink-protocol.md §1.6: sign = hex HMAC(productSecret, `deviceName${dn}productKey${pk}random${random}`). */
const registerSign = (ps: string, pk: string, dn: string, random: string, method: Method = 'hmacsha256') =>
  createHmac(method.slice(4), ps).update(`deviceName${dn}productKey${pk}random${random}`).digest('hex');

interface RegisterReply {
  code: number;
  data?: { productKey: string; deviceName: string; deviceSecret: string };
  message: string;
}

async function httpRegister(
  t: TestPlatform,
  form: Record<string, string>,
): Promise<{ status: number; body: RegisterReply }> {
  const res = await fetch(`${t.httpUrl}/auth/register/device`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as RegisterReply };
}

function form(
  ps: string,
  pk: string,
  dn: string,
  signMethod: Method = 'hmacsha256',
  random = `r${Math.random().toString(36).slice(2)}`,
) {
  return { productKey: pk, deviceName: dn, random, signMethod, sign: registerSign(ps, pk, dn, random, signMethod) };
}

/** §1.6 B: ClientId `id|securemode=2,authType=register,random=..,signmethod=..|`, username `dn&pk`. */
function registerLogin(ps: string, pk: string, dn: string, random = 'xyz', method: Method = 'hmacsha256') {
  return {
    clientId: `reg-${dn}|securemode=2,authType=register,random=${random},signmethod=${method}|`,
    username: `${dn}&${pk}`,
    password: registerSign(ps, pk, dn, random, method),
  };
}

describeEachDb('dynamic registration, one product one secret (§1.6) (%s)', (kind) => {
  const t = usePlatform(kind);
  let pk: string;
  let ps: string;
  let devs: DeviceCreds[];
  let plainPk: string;
  let plainDevs: DeviceCreds[];
  beforeAll(async () => {
    ({ productKey: pk, devices: devs } = await productWithDevices(t, 12, { dynamicRegistration: true }));
    ({ productKey: plainPk, devices: plainDevs } = await productWithDevices(t, 1));
    const p = await t.gql(`query($pk: String!) { product(productKey: $pk) { dynamicRegistration productSecret } }`, {
      pk,
    });
    expect(p.data.product.dynamicRegistration).toBe(true);
    ps = p.data.product.productSecret;
  });

  it('shows the product secret to ADMIN only', async () => {
    expect(ps).toMatch(/^\S{16,}$/);
    const key = await t.gql(
      `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { token userErrors { code } } }`,
      {
        i: { name: 'operator', role: 'OPERATOR' },
      },
    );
    const asOperator = await t.gql(
      `query($pk: String!) { product(productKey: $pk) { productKey productSecret } }`,
      { pk },
      key.data.createApiKey.token,
    );
    expect(asOperator.data.product).toEqual({ productKey: pk, productSecret: null });
  });

  it('POST /auth/register/device (form) returns the device secret, with each sign method', async () => {
    for (const [i, method] of (['hmacmd5', 'hmacsha1', 'hmacsha256'] as const).entries()) {
      const dev = devs[i]!;
      const r = await httpRegister(t, form(ps, pk, dev.deviceName, method));
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        code: 200,
        data: { productKey: pk, deviceName: dev.deviceName, deviceSecret: dev.deviceSecret },
        message: 'success',
      });
    }
    // The secret works for a normal login (§1.2).
    const c = await connectDevice(t, 'tcp', {
      productKey: pk,
      deviceName: devs[0]!.deviceName,
      deviceSecret: devs[0]!.deviceSecret,
    });
    await c.endAsync();
  });

  it('refuses a wrong sign (6600), an unsupported signMethod (6292), a product without dynamic registration (6288), and a device that already logged in (6289)', async () => {
    const dev = devs[3]!;
    const wrong = {
      ...form(ps, pk, dev.deviceName),
      sign: registerSign('not-the-product-secret', pk, dev.deviceName, 'r1'),
    };
    expect((await httpRegister(t, wrong)).body.code).toBe(6600);
    expect((await httpRegister(t, { ...form(ps, pk, dev.deviceName), signMethod: 'sha256' })).body.code).toBe(6292);
    expect((await httpRegister(t, { ...form(ps, pk, dev.deviceName), signMethod: 'hmacsha512' })).body.code).toBe(6292);
    // A product without dynamic registration, even with a sign made with its real secret.
    const plainSecret = (
      await t.gql(`query($pk: String!) { product(productKey: $pk) { productSecret } }`, { pk: plainPk })
    ).data.product.productSecret;
    expect((await httpRegister(t, form(plainSecret, plainPk, plainDevs[0]!.deviceName))).body.code).toBe(6288);

    // Not yet activated: registration may be repeated; after the first login (activation) it is refused.
    expect((await httpRegister(t, form(ps, pk, dev.deviceName))).body.code).toBe(200);
    expect((await httpRegister(t, form(ps, pk, dev.deviceName))).body.code).toBe(200);
    const c = await connectDevice(t, 'tcp', dev);
    await c.endAsync();
    const again = await httpRegister(t, form(ps, pk, dev.deviceName));
    expect(again.body).toMatchObject({ code: 6289 });
    expect(again.body.data).toBeUndefined();
  });

  it('answers 460 for missing parameters and 405 for GET, without a secret', async () => {
    const { sign: _sign, ...noSign } = form(ps, pk, devs[4]!.deviceName);
    const r = await httpRegister(t, noSign);
    expect(r.body.code).toBe(460);
    expect(r.body.data).toBeUndefined();
    expect((await fetch(`${t.httpUrl}/auth/register/device`)).status).toBe(405);
  });

  describe.each<Transport>(['tcp', 'ws'])('over MQTT/%s (authType=register)', (transport) => {
    const base = transport === 'tcp' ? 5 : 8;

    it('CONNACK 0, the secret pushed on /ext/register, then the connection closes; the secret then logs in normally', async () => {
      const dev = devs[base]!;
      const status = await watchStatus(t, pk, dev.deviceName);
      const c = mqtt.connect(brokerUrl(t, transport), {
        ...registerLogin(ps, pk, dev.deviceName),
        reconnectPeriod: 0,
        connectTimeout: 5000,
      });
      const seen: string[] = [];
      const pushed = new Promise<{ topic: string; payload: Buffer }>((resolve) =>
        c.on('message', (topic, payload) => resolve({ topic, payload })),
      );
      const connack = new Promise<number>((resolve, reject) => {
        c.once('connect', (p) => resolve(p.returnCode ?? 0));
        c.once('error', reject);
      });
      const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
      c.on('connect', () => seen.push('connack'));
      c.on('message', () => seen.push('message'));
      c.on('close', () => seen.push('close'));
      expect(await connack).toBe(0);
      const msg = await pushed;
      await closed;
      expect(seen).toEqual(['connack', 'message', 'close']);
      expect(msg.topic).toBe('/ext/register');
      expect(JSON.parse(msg.payload.toString())).toEqual({
        productKey: pk,
        deviceName: dev.deviceName,
        deviceSecret: dev.deviceSecret,
      });
      // Registering is not a login: no status change, the device is still not activated.
      await sleep(100);
      expect(status.events()).toEqual([]);
      expect((await t.gql(DEVICE_QUERY, { pk, dn: dev.deviceName })).data.device).toMatchObject({
        state: 'UNACTIVE',
        activatedAt: null,
      });

      const secret = JSON.parse(msg.payload.toString()).deviceSecret as string;
      const login = await connectDevice(t, transport, {
        productKey: pk,
        deviceName: dev.deviceName,
        deviceSecret: secret,
      });
      expect((await status.waitFor(1))[0]).toMatchObject({ status: 'ONLINE', connectionEpoch: 1 });
      await login.endAsync();
      await status.close();
    });

    it('refuses a wrong product-secret signature with CONNACK 4 and an activated device with CONNACK 5', async () => {
      const dev = devs[base + 1]!;
      expect(await connackCode(t, transport, registerLogin('wrong-secret', pk, dev.deviceName))).toBe(4);
      expect(
        await connackCode(t, transport, {
          ...registerLogin(ps, pk, dev.deviceName),
          clientId: `x|securemode=2,authType=register,random=xyz,signmethod=hmacsha512|`,
        }),
      ).toBe(4);
      expect(await connackCode(t, transport, registerLogin(ps, plainPk, plainDevs[0]!.deviceName))).toBe(5);
      expect(await connackCode(t, transport, alinkLogin(dev))).toBe(0); // activates it
      await sleep(100);
      expect(await connackCode(t, transport, registerLogin(ps, pk, dev.deviceName))).toBe(5);
    });
  });

  it.each([
    ['its default hmacsha1', undefined, 10],
    ['signMethod hmacsha256 (it still signs with HMAC-SHA1)', 'hmacsha256', 11],
  ] as const)(
    "the Link SDK's iot.register (HTTPS form, %s) gets the secret from ThingQL's endpoint",
    async (_label, signMethod, i) => {
      const dev = devs[i]!;
      const res = await new Promise<{ code: number; data?: unknown }>((resolve) =>
        iot.register(
          {
            productKey: pk,
            productSecret: ps,
            deviceName: dev.deviceName,
            registerURL: `${t.httpUrl}/auth/register/device`,
            ...(signMethod ? { signMethod } : {}),
          },
          resolve,
        ),
      );
      expect(res).toMatchObject({
        code: 200,
        data: { productKey: pk, deviceName: dev.deviceName, deviceSecret: dev.deviceSecret },
      });
    },
  );
});
