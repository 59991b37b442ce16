import { expect, it } from 'vitest';
import { Collected, wsClient } from '../helpers/graphql-ws.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { describeEachDb } from '../helpers/services-env.ts';
import { lampTsl } from '../helpers/tsl-fixtures.ts';
import { hubListeners, subscriptionsLive } from '../helpers/live.ts';
import { sleep } from '../helpers/wait.ts';

const CREATE_PRODUCT = `mutation($input: CreateProductInput!) { createProduct(input: $input) {
  product { id productKey name nodeType dataFormat validationMode thingModel { properties { identifier accessMode } events { identifier type } services { identifier callType } } topics { topicShortName operation topicTemplate } }
  userErrors { code message field } } }`;
const REGISTER_MANY = `mutation($input: RegisterDevicesInput!) { registerDevices(input: $input) { devices { device { iotId deviceName state } deviceSecret } userErrors { code message field } } }`;
const DEVICES_PAGE = `query($pk: String!, $first: Int, $after: String) { devices(productKey: $pk, first: $first, after: $after) { edges { cursor node { deviceName state } } pageInfo { hasNextPage endCursor } } }`;

describeEachDb('registry on %s', (kind) => {
  const t = usePlatform(kind);

  it('creates a product from the smart-lamp TSL with the default topics and derived services', async () => {
    const r = await t.gql(CREATE_PRODUCT, { input: { name: 'Smart lamp', tsl: lampTsl } });
    expect(r.data.createProduct.userErrors).toEqual([]);
    const p = r.data.createProduct.product;
    expect(p.productKey).toMatch(/^[A-Za-z0-9]{11}$/);
    expect(p.validationMode).toBe('WEAK');
    expect(p.thingModel.properties).toHaveLength(10);
    expect(p.thingModel.events.map((e: any) => e.identifier)).toEqual(
      expect.arrayContaining(['post', 'Fault', 'OverHeat']),
    );
    expect(p.thingModel.services.find((s: any) => s.identifier === 'Blink').callType).toBe('SYNC');
    expect(p.topics.map((x: any) => [x.topicShortName, x.operation])).toEqual([
      ['update', 'PUB'],
      ['update/error', 'PUB'],
      ['get', 'SUB'],
    ]);
    expect(p.topics[2].topicTemplate).toBe(`/${p.productKey}/\${deviceName}/user/get`);
  });

  it('registers 100 devices, pages through them, and streams lifecycle events resumable from a cursor', async () => {
    const { data } = await t.gql(CREATE_PRODUCT, { input: { name: 'Paging lamp', tsl: lampTsl } });
    const pk = data.createProduct.product.productKey;
    const client = wsClient(t.wsUrl, t.adminToken);
    const baseline = hubListeners(t);
    const live = Collected.subscribe(
      client,
      `subscription($pk: String) { deviceLifecycle(productKey: $pk) { action deviceName productKey iotId cursor } }`,
      { pk },
    );
    // The subscription is live before events are produced.
    await subscriptionsLive(t, baseline);

    const names = Array.from({ length: 100 }, (_, i) => `lamp-${String(i).padStart(3, '0')}`);
    const reg = await t.gql(REGISTER_MANY, { input: { productKey: pk, deviceNames: names } });
    expect(reg.data.registerDevices.userErrors).toEqual([]);
    expect(reg.data.registerDevices.devices).toHaveLength(100);
    for (const d of reg.data.registerDevices.devices) {
      expect(d.deviceSecret).toMatch(/^[0-9a-f]{32}$/);
      expect(d.device.state).toBe('UNACTIVE');
    }

    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = await t.gql(DEVICES_PAGE, { pk, first: 30, after });
      seen.push(...page.data.devices.edges.map((e: any) => e.node.deviceName));
      if (!page.data.devices.pageInfo.hasNextPage) break;
      after = page.data.devices.pageInfo.endCursor;
    }
    expect(seen).toEqual(names);

    const dis = await t.gql(
      `mutation($i: DisableDeviceInput!) { disableDevice(input: $i) { device { state } userErrors { code } } }`,
      {
        i: { productKey: pk, deviceName: 'lamp-042' },
      },
    );
    expect(dis.data.disableDevice.device.state).toBe('DISABLED');

    const events = await live.waitFor(101);
    expect(events.slice(0, 100).map((e: any) => e.deviceLifecycle.action)).toEqual(Array(100).fill('CREATE'));
    expect(events[100].deviceLifecycle).toMatchObject({ action: 'DISABLE', deviceName: 'lamp-042', productKey: pk });
    live.unsubscribe();

    // Resume after the 50th event: exactly the 51 events after it, in order, then live ones.
    const cursor = events[49].deviceLifecycle.cursor;
    const resumed = Collected.subscribe(
      client,
      `subscription($pk: String, $after: String) { deviceLifecycle(productKey: $pk, after: $after) { action deviceName cursor } }`,
      { pk, after: cursor },
    );
    const replay = await resumed.waitFor(51);
    expect(replay.map((e: any) => e.deviceLifecycle.cursor)).toEqual(
      events.slice(50).map((e: any) => e.deviceLifecycle.cursor),
    );
    await t.gql(`mutation($i: EnableDeviceInput!) { enableDevice(input: $i) { userErrors { code } } }`, {
      i: { productKey: pk, deviceName: 'lamp-042' },
    });
    const more = await resumed.waitFor(52);
    expect(more[51].deviceLifecycle).toMatchObject({ action: 'ENABLE', deviceName: 'lamp-042' });
    // Nothing more may arrive: this window proves a negative, so it is a real delay.
    await sleep(100);
    expect(resumed.items).toHaveLength(52);
    resumed.unsubscribe();
    await client.dispose();
  });
});
