import type { MqttClient } from 'mqtt';
import { sql } from 'drizzle-orm';
import { query } from '../../src/db/client.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, nextMessage, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';

/**
 * Threat: a gateway reaches into other products with thing/sub/register, reading the secret of any unactivated device
 * of a product with dynamic registration, and creating devices there without limit.
 */
describe('gateway sub-device registration stays within the products allowed for the gateway', () => {
  const t = usePlatform('pglite', { SUB_REGISTRATION_PER_MINUTE: 8 });
  let gwPk: string;
  let gw: DeviceCreds;
  let allowedPk: string;
  let allowedPre: DeviceCreds[];
  let foreignPk: string;
  let foreignVictim: DeviceCreds;
  let c: MqttClient;
  let seq = 0;

  const register = async (params: unknown[]) => {
    const topic = `/sys/${gwPk}/${gw.deviceName}/thing/sub/register`;
    const id = String(++seq);
    const reply = nextMessage(c, (tp) => tp === `${topic}_reply`);
    await c.publishAsync(topic, JSON.stringify({ id, version: '1.0', params, method: 'thing.sub.register' }), {
      qos: 1,
    });
    const body = JSON.parse((await reply).payload.toString());
    expect(body.id).toBe(id);
    return body as { code: number; data: any; message?: string };
  };
  const deviceExists = async (pk: string, dn: string) =>
    (
      await t.gql(`query($pk: String!, $dn: String!) { device(productKey: $pk, deviceName: $dn) { deviceName } }`, {
        pk,
        dn,
      })
    ).data.device !== null;

  beforeAll(async () => {
    ({
      productKey: gwPk,
      devices: [gw],
    } = (await productWithDevices(t, 1, { nodeType: 'GATEWAY' })) as { productKey: string; devices: [DeviceCreds] });
    ({ productKey: allowedPk, devices: allowedPre } = await productWithDevices(t, 2, { dynamicRegistration: true }));
    ({
      productKey: foreignPk,
      devices: [foreignVictim],
    } = (await productWithDevices(t, 1, { dynamicRegistration: true })) as {
      productKey: string;
      devices: [DeviceCreds];
    });
    const set = await t.gql(
      `mutation($i: SetSubDeviceGatewaysInput!) { setSubDeviceGateways(input: $i) { subDeviceGateways userErrors { code } } }`,
      {
        i: { productKey: allowedPk, gatewayProductKeys: [gwPk] },
      },
    );
    expect(set.data.setSubDeviceGateways).toEqual({ subDeviceGateways: [gwPk], userErrors: [] });
    c = await connectDevice(t, 'tcp', gw);
    await c.subscribeAsync(`/sys/${gwPk}/${gw.deviceName}/thing/sub/register_reply`);
  });
  afterAll(async () => {
    await c?.endAsync();
  });

  it('never returns the secret of, nor creates, a device in a product that does not allow the gateway', async () => {
    const victim = await register([{ productKey: foreignPk, deviceName: foreignVictim.deviceName }]);
    expect(victim.code).toBe(6250);
    expect(JSON.stringify(victim)).not.toContain(foreignVictim.deviceSecret);
    const created = await register([{ productKey: foreignPk, deviceName: 'made-by-gateway' }]);
    expect(created.code).toBe(6250);
    expect(await deviceExists(foreignPk, 'made-by-gateway')).toBe(false);
    // A gateway product cannot allow itself: only a GATEWAY product may be listed, and only by an ADMIN.
    const bad = await t.gql(
      `mutation($i: SetSubDeviceGatewaysInput!) { setSubDeviceGateways(input: $i) { userErrors { code } } }`,
      {
        i: { productKey: foreignPk, gatewayProductKeys: [allowedPk] },
      },
    );
    expect(bad.data.setSubDeviceGateways.userErrors).toEqual([{ code: 'PRODUCT_NOT_FOUND' }]);
  });

  it('does not reveal which devices exist in other products through thing/list/found', async () => {
    const topic = `/sys/${gwPk}/${gw.deviceName}/thing/list/found`;
    await c.subscribeAsync(`${topic}_reply`);
    const reply = nextMessage(c, (tp) => tp === `${topic}_reply`);
    await c.publishAsync(
      topic,
      JSON.stringify({
        id: 'f1',
        params: [{ productKey: foreignPk, deviceName: foreignVictim.deviceName }],
        method: 'thing.list.found',
      }),
      { qos: 1 },
    );
    expect(JSON.parse((await reply).payload.toString()).code).toBe(200);
    const rows = await query<{ data: any }>(
      t.platform.database.db,
      sql`select data from events where type = 'thing.list.found' order by position desc limit 1`,
    );
    expect(rows[0]!.data.devices).toEqual([
      { iotId: null, productKey: foreignPk, deviceName: foreignVictim.deviceName },
    ]);
  });

  it('registers in an allowed product: new names, and pre-registered devices only while unactivated', async () => {
    const fresh = await register([{ productKey: allowedPk, deviceName: 'sub-new-1' }]);
    expect(fresh.code).toBe(200);
    expect(fresh.data[0]).toMatchObject({
      productKey: allowedPk,
      deviceName: 'sub-new-1',
      deviceSecret: expect.any(String),
    });
    const pre = await register([{ productKey: allowedPk, deviceName: allowedPre[0]!.deviceName }]);
    expect(pre.code).toBe(200);
    expect(pre.data[0].deviceSecret).toBe(allowedPre[0]!.deviceSecret);
    // Activated (it logged in once): its secret is never handed out again.
    const d = await connectDevice(t, 'tcp', allowedPre[1]!);
    await d.endAsync();
    const activated = await register([{ productKey: allowedPk, deviceName: allowedPre[1]!.deviceName }]);
    expect(activated.code).toBe(6289);
    expect(JSON.stringify(activated)).not.toContain(allowedPre[1]!.deviceSecret);
  });

  it('limits how many sub-devices a gateway registers (per request and per minute)', async () => {
    const tooMany = await register(
      Array.from({ length: 31 }, (_, i) => ({ productKey: allowedPk, deviceName: `batch-${i}` })),
    );
    expect(tooMany.code).toBe(460);
    // The budget is 8 a minute and the tests above used 5 (each name counts, refused ones too).
    const burst = await register(
      Array.from({ length: 3 }, (_, i) => ({ productKey: allowedPk, deviceName: `burst-${i}` })),
    );
    expect(burst.code).toBe(200);
    const over = await register([{ productKey: allowedPk, deviceName: 'one-too-many' }]);
    expect(over.code).toBe(429);
    expect(await deviceExists(allowedPk, 'one-too-many')).toBe(false);
  });
});
