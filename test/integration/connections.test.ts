/** `nodes` and `totalCount` on every Relay connection (Relay allows both; the web console reads them). */
import { describe, expect, it } from 'vitest';
import { keysetPage, toConnection } from '../../src/services/paging.ts';
import { productWithDevices } from '../helpers/devices.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import { describeEachDb } from '../helpers/services-env.ts';

describeEachDb('connections on %s', (kind) => {
  const t = usePlatform(kind);

  it('gives every connection nodes and a totalCount of the filtered list, whatever the page size', async () => {
    const a = await productWithDevices(t, 3);
    await productWithDevices(t, 2);
    const r = await t.gql(
      `query($pk: String!) {
      products(first: 1) { totalCount nodes { productKey } edges { node { productKey } } pageInfo { hasNextPage } }
      devices(productKey: $pk, first: 2) { totalCount nodes { deviceName } }
      named: devices(nameContains: "0001") { totalCount nodes { deviceName } }
      product(productKey: $pk) { devices(first: 1) { totalCount nodes { deviceName } } }
      deviceEventHistory(productKey: $pk, deviceName: "dev-0000", from: "2020-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z") { totalCount nodes { identifier } }
    }`,
      { pk: a.productKey },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.products.totalCount).toBe(2);
    expect(r.data.products.nodes).toEqual(r.data.products.edges.map((e: any) => e.node));
    expect(r.data.products.nodes).toHaveLength(1);
    expect(r.data.devices).toEqual({ totalCount: 3, nodes: [{ deviceName: 'dev-0000' }, { deviceName: 'dev-0001' }] });
    expect(r.data.named.totalCount).toBe(2);
    expect(r.data.product.devices).toEqual({ totalCount: 3, nodes: [{ deviceName: 'dev-0000' }] });
    expect(r.data.deviceEventHistory).toEqual({ totalCount: 0, nodes: [] });
  });
});

describe('the lazy counter', () => {
  it('counts only when totalCount is selected', async () => {
    let counted = 0;
    const conn = toConnection(
      [{ id: 1 }, { id: 2 }],
      keysetPage({ first: 1 }),
      (r) => r.id,
      async () => ++counted,
    );
    expect(conn.edges).toHaveLength(1);
    expect(counted).toBe(0);
    expect(await conn.totalCount()).toBe(1);
  });
});
