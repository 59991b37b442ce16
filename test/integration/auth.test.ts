import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiKeys } from '../../src/db/tables.ts';
import { Collected, wsClient } from '../helpers/graphql-ws.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import {
  closeCodeOf,
  createApiKey,
  createProduct,
  dbSnapshot,
  eagerWsClient,
  lampTsl,
  mutate,
  mutateOk,
  registerDevices,
  sleep,
} from './support.ts';
import { describeEachDb } from '../helpers/services-env.ts';
import { hubListeners, subscriptionsLive } from '../helpers/live.ts';

const LIFECYCLE = `subscription($pk: String, $after: String) { deviceLifecycle(productKey: $pk, after: $after) { action productKey deviceName cursor } }`;

describeEachDb('authentication and roles on %s', (kind) => {
  const t = usePlatform(kind);
  let pkA: string;
  let pkB: string;
  let pkEmpty: string;
  let productB: { id: string };
  let deviceB: { iotId: string; id: string };
  let spareKeyId: string;

  beforeAll(async () => {
    const a = await createProduct(t, { name: 'Product A' });
    const b = await createProduct(t, { name: 'Product B' });
    pkA = a.productKey;
    pkB = b.productKey;
    productB = b;
    pkEmpty = (await createProduct(t, { name: 'Empty product' })).productKey;
    await registerDevices(t, pkA, ['a-001', 'a-002']);
    deviceB = (await registerDevices(t, pkB, ['b-001', 'b-002']))[0]!;
    await mutateOk(t, 'createProductTopic', { productKey: pkA, topicShortName: 'custom', operation: 'PUB' });
    spareKeyId = (await createApiKey(t, 'VIEWER')).id;
  });

  describe('HTTP bearer tokens', () => {
    it('refuses a request without a token with HTTP 401 and UNAUTHENTICATED', async () => {
      const res = await fetch(t.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query: '{ products { edges { node { productKey } } } }' }),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = (await res.json()) as any;
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(body.data ?? null).toBeNull();
    });

    it('refuses an unknown token, a non-Bearer scheme and an empty bearer with 401', async () => {
      for (const authorization of [
        'Bearer not-a-real-token',
        `Basic ${Buffer.from('admin:x').toString('base64')}`,
        'Bearer ',
        t.adminToken,
      ]) {
        const res = await fetch(t.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
        expect(res.status, authorization).toBe(401);
        const body = (await res.json()) as any;
        expect(body.errors[0].extensions.code, authorization).toBe('UNAUTHENTICATED');
      }
    });

    it('refuses a mutation without a token and changes nothing', async () => {
      const before = await dbSnapshot(t);
      const r = await mutate(t, 'createProduct', { name: 'Sneaky product' }, 'product { productKey }', null);
      expect(r.status).toBe(401);
      expect(r.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(await dbSnapshot(t)).toBe(before);
    });

    it('accepts the admin token in a GET request too', async () => {
      const url = `${t.graphqlUrl}?query=${encodeURIComponent(`{ product(productKey: "${pkA}") { productKey } }`)}`;
      const res = await fetch(url, {
        headers: { accept: 'application/graphql-response+json', authorization: `Bearer ${t.adminToken}` },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).data.product.productKey).toBe(pkA);
    });
  });

  describe('roles', () => {
    /** Valid inputs for every registry mutation: only the caller's role can make them fail. */
    const everyMutation = (): [string, Record<string, unknown>][] => [
      ['createProduct', { name: 'Viewer product' }],
      ['updateProduct', { productKey: pkA, name: 'Renamed A' }],
      ['deleteProduct', { productKey: pkEmpty }],
      ['setThingModel', { productKey: pkA, tsl: lampTsl }],
      ['registerDevice', { productKey: pkA, deviceName: 'new-device' }],
      ['registerDevices', { productKey: pkA, deviceNames: ['new-1', 'new-2'] }],
      ['enableDevice', { productKey: pkA, deviceName: 'a-001' }],
      ['disableDevice', { productKey: pkA, deviceName: 'a-001' }],
      ['deleteDevice', { productKey: pkA, deviceName: 'a-002' }],
      ['resetDeviceSecret', { productKey: pkA, deviceName: 'a-001' }],
      ['createProductTopic', { productKey: pkA, topicShortName: 'other', operation: 'SUB' }],
      ['deleteProductTopic', { productKey: pkA, topicShortName: 'custom' }],
      ['createApiKey', { name: 'escalation', role: 'ADMIN' }],
      ['revokeApiKey', { id: spareKeyId }],
    ];

    it('lets a VIEWER read products, devices, topics and nodes', async () => {
      const viewer = await createApiKey(t, 'VIEWER');
      const r = await t.gql(
        `query($pk: String!, $id: ID!) { product(productKey: $pk) { productKey topics { topicShortName } deviceCount }
           products { edges { node { productKey } } } devices(productKey: $pk) { edges { node { deviceName } } }
           device(productKey: $pk, deviceName: "a-001") { deviceName } node(id: $id) { id } }`,
        { pk: pkB, id: productB.id },
        viewer.token,
      );
      expect(r.errors).toBeUndefined();
      expect(r.data.product).toMatchObject({ productKey: pkB, deviceCount: 2 });
      expect(r.data.products.edges.map((e: any) => e.node.productKey)).toEqual(
        expect.arrayContaining([pkA, pkB, pkEmpty]),
      );
      expect(r.data.devices.edges.map((e: any) => e.node.deviceName)).toEqual(['b-001', 'b-002']);
      expect(r.data.device).toBeNull();
      expect(r.data.node).toEqual({ id: productB.id });
    });

    it('refuses every mutation to a VIEWER with FORBIDDEN and leaves the database unchanged', async () => {
      const viewer = await createApiKey(t, 'VIEWER');
      const before = await dbSnapshot(t);
      for (const [name, input] of everyMutation()) {
        const r = await mutate(t, name, input, '', viewer.token);
        expect(
          r.errors?.map((e) => e.extensions?.code),
          name,
        ).toEqual(['FORBIDDEN']);
        expect(r.errors?.[0].path, name).toEqual([name]);
        expect(r.payload, name).toBeNull();
      }
      expect(await dbSnapshot(t)).toBe(before);
    });

    it('refuses every mutation the schema has, found by introspection, to a VIEWER', async () => {
      const viewer = await createApiKey(t, 'VIEWER');
      const intro = await t.gql(`{ __schema {
        mutationType { fields { name args { name type { ...T } } } }
        types { name kind enumValues { name } inputFields { name type { ...T } } } }
      }
      fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`);
      const types = new Map<string, any>(intro.data.__schema.types.map((x: any) => [x.name, x]));
      const named = (ty: any): any => (ty.kind === 'NON_NULL' ? named(ty.ofType) : ty);
      /** A value of the right shape for every required input field (the role check comes before any other). */
      const sample = (ty: any, field: string): unknown => {
        const u = named(ty);
        if (u.kind === 'LIST') return [sample(u.ofType, field)];
        const def = types.get(u.name);
        if (u.kind === 'ENUM') return def.enumValues[0].name;
        if (u.kind === 'INPUT_OBJECT') {
          return Object.fromEntries(
            def.inputFields
              .filter((f: any) => f.type.kind === 'NON_NULL')
              .map((f: any) => [f.name, sample(f.type, f.name)]),
          );
        }
        if (field === 'productKey') return pkA;
        if (/deviceName/.test(field)) return 'a-001';
        return (
          (
            { Int: 2000, Float: 1, Boolean: true, JSON: {}, DateTime: new Date().toISOString() } as Record<
              string,
              unknown
            >
          )[u.name] ?? 'x1234'
        );
      };
      const mutations = intro.data.__schema.mutationType.fields;
      expect(mutations.length).toBeGreaterThanOrEqual(everyMutation().length);
      const before = await dbSnapshot(t);
      for (const f of mutations) {
        const input = f.args.find((a: any) => a.name === 'input');
        expect(input, `${f.name} takes one input argument`).toBeDefined();
        const r = await t.gql(
          `mutation($input: ${named(input.type).name}!) { ${f.name}(input: $input) { __typename } }`,
          { input: sample(input.type, 'input') },
          viewer.token,
        );
        expect(
          r.errors?.map((e) => e.extensions?.code),
          f.name,
        ).toEqual(['FORBIDDEN']);
      }
      expect(await dbSnapshot(t)).toBe(before);
    });

    it('refuses apiKeys to a VIEWER and an OPERATOR with FORBIDDEN', async () => {
      for (const role of ['VIEWER', 'OPERATOR'] as const) {
        const key = await createApiKey(t, role);
        const r = await t.gql('{ apiKeys { id } }', {}, key.token);
        expect(
          r.errors?.map((e) => e.extensions?.code),
          role,
        ).toEqual(['FORBIDDEN']);
      }
    });

    it('lets an OPERATOR register and control devices and manage topics', async () => {
      const op = await createApiKey(t, 'OPERATOR');
      const reg = await mutateOk(
        t,
        'registerDevice',
        { productKey: pkA, deviceName: 'op-device' },
        'device { deviceName state } deviceSecret',
        op.token,
      );
      expect(reg.device).toEqual({ deviceName: 'op-device', state: 'UNACTIVE' });
      expect(reg.deviceSecret).toMatch(/^[0-9a-f]{32}$/);
      expect(
        (await mutateOk(t, 'disableDevice', { productKey: pkA, deviceName: 'op-device' }, 'device { state }', op.token))
          .device.state,
      ).toBe('DISABLED');
      expect(
        (await mutateOk(t, 'enableDevice', { productKey: pkA, deviceName: 'op-device' }, 'device { state }', op.token))
          .device.state,
      ).toBe('UNACTIVE');
      await mutateOk(
        t,
        'createProductTopic',
        { productKey: pkA, topicShortName: 'op_topic', operation: 'SUB' },
        '',
        op.token,
      );
      await mutateOk(t, 'deleteProductTopic', { productKey: pkA, topicShortName: 'op_topic' }, '', op.token);
      expect(
        (await mutateOk(t, 'deleteDevice', { productKey: pkA, deviceName: 'op-device' }, 'deletedIotId', op.token))
          .deletedIotId,
      ).toBeTruthy();
    });

    it('refuses product, thing model, API key and device secret mutations to an OPERATOR', async () => {
      const op = await createApiKey(t, 'OPERATOR');
      const before = await dbSnapshot(t);
      const adminOnly = [
        'createProduct',
        'updateProduct',
        'deleteProduct',
        'setThingModel',
        'resetDeviceSecret',
        'createApiKey',
        'revokeApiKey',
      ];
      for (const [name, input] of everyMutation().filter(([n]) => adminOnly.includes(n))) {
        const r = await mutate(t, name, input, '', op.token);
        expect(
          r.errors?.map((e) => e.extensions?.code),
          name,
        ).toEqual(['FORBIDDEN']);
      }
      expect(await dbSnapshot(t)).toBe(before);
    });

    it('refuses a VIEWER before looking at its input', async () => {
      const viewer = await createApiKey(t, 'VIEWER');
      // Invalid inputs: a VIEWER learns nothing from them, it is simply not allowed to mutate.
      for (const [name, input] of [
        ['registerDevice', { productKey: pkA, deviceName: 'x', nickname: 'n' }],
        ['registerDevices', { productKey: pkA }],
        ['createProductTopic', { productKey: pkA, topicShortName: 'bad name', operation: 'PUB' }],
      ] as const) {
        const r = await mutate(t, name, input, '', viewer.token);
        expect(
          r.errors?.map((e) => e.extensions?.code),
          name,
        ).toEqual(['FORBIDDEN']);
      }
    });
  });

  describe('product scope', () => {
    let scoped: { id: string; token: string };
    beforeAll(async () => {
      scoped = await createApiKey(t, 'OPERATOR', [pkA]);
    });

    it('hides other products from queries of a key scoped to product A', async () => {
      const r = await t.gql(
        `query($b: String!, $iot: String!, $pid: ID!, $did: ID!) {
           product(productKey: $b) { productKey }
           products(first: 500) { edges { node { productKey } } }
           all: devices(first: 500) { edges { node { productKey deviceName } } }
           ofB: devices(productKey: $b) { edges { node { deviceName } } }
           byName: device(productKey: $b, deviceName: "b-001") { deviceName }
           byIotId: device(iotId: $iot) { deviceName }
           productNode: node(id: $pid) { id }
           deviceNode: node(id: $did) { id }
           topics(productKey: $b) { topicShortName } }`,
        { b: pkB, iot: deviceB.iotId, pid: productB.id, did: deviceB.id },
        scoped.token,
      );
      expect(r.errors).toBeUndefined();
      expect(r.data.product).toBeNull();
      expect(r.data.products.edges.map((e: any) => e.node.productKey)).toEqual([pkA]);
      expect(new Set(r.data.all.edges.map((e: any) => e.node.productKey))).toEqual(new Set([pkA]));
      expect(r.data.ofB.edges).toEqual([]);
      expect(r.data.byName).toBeNull();
      expect(r.data.byIotId).toBeNull();
      expect(r.data.productNode).toBeNull();
      expect(r.data.deviceNode).toBeNull();
      expect(r.data.topics).toEqual([]);
    });

    it('answers mutations on product B with PRODUCT_NOT_FOUND and changes nothing', async () => {
      const before = await dbSnapshot(t);
      for (const [name, input] of [
        ['registerDevice', { productKey: pkB, deviceName: 'sneak-1' }],
        ['registerDevices', { productKey: pkB, deviceNames: ['sneak-2'] }],
        ['enableDevice', { productKey: pkB, deviceName: 'b-001' }],
        ['disableDevice', { productKey: pkB, deviceName: 'b-001' }],
        ['deleteDevice', { productKey: pkB, deviceName: 'b-001' }],
        ['createProductTopic', { productKey: pkB, topicShortName: 'sneak', operation: 'PUB' }],
        ['deleteProductTopic', { productKey: pkB, topicShortName: 'update' }],
      ] as const) {
        const r = await mutate(t, name, input, '', scoped.token);
        expect(r.errors, name).toBeUndefined();
        expect(
          r.payload.userErrors.map((e: any) => [e.code, e.field]),
          name,
        ).toEqual([['PRODUCT_NOT_FOUND', ['input', 'productKey']]]);
      }
      expect(await dbSnapshot(t)).toBe(before);
    });

    it('answers a scoped ADMIN on product B exactly as for a product that does not exist', async () => {
      const scopedAdmin = await createApiKey(t, 'ADMIN', [pkA]);
      const before = await dbSnapshot(t);
      for (const [name, input] of [
        ['updateProduct', { productKey: pkB, name: 'Taken over' }],
        ['deleteProduct', { productKey: pkB }],
        ['setThingModel', { productKey: pkB, tsl: lampTsl }],
        ['resetDeviceSecret', { productKey: pkB, deviceName: 'b-001' }],
      ] as const) {
        const r = await mutate(t, name, input, '', scopedAdmin.token);
        expect(
          r.payload?.userErrors.map((e: any) => e.code),
          name,
        ).toEqual(['PRODUCT_NOT_FOUND']);
      }
      expect(await dbSnapshot(t)).toBe(before);
    });

    it('does not let a scoped ADMIN widen its scope through API keys or new products', async () => {
      const scopedAdmin = await createApiKey(t, 'ADMIN', [pkA]);
      const before = await dbSnapshot(t);
      const other = await mutate(
        t,
        'createApiKey',
        { name: 'other', role: 'VIEWER', productKeys: [pkB] },
        'token',
        scopedAdmin.token,
      );
      expect(other.payload.userErrors.map((e: any) => e.code)).toEqual(['PRODUCT_NOT_FOUND']);
      // A new product would fall outside its own scope (and would reveal which product keys are taken).
      const product = await mutate(
        t,
        'createProduct',
        { name: 'Outside scope', productKey: pkB },
        '',
        scopedAdmin.token,
      );
      expect(product.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
      expect(await dbSnapshot(t)).toBe(before);

      // Without productKeys, the new key gets the creator's scope, never every product.
      const inherited = await mutateOk(
        t,
        'createApiKey',
        { name: 'inherited', role: 'ADMIN' },
        'apiKey { id productKeys } token',
        scopedAdmin.token,
      );
      expect(inherited.apiKey.productKeys).toEqual([pkA]);
      expect(
        (await t.gql(`{ product(productKey: "${pkB}") { productKey } }`, {}, inherited.token)).data.product,
      ).toBeNull();

      // Within its scope it manages keys like any ADMIN, and sees only keys within its scope.
      const inner = await mutateOk(
        t,
        'createApiKey',
        { name: 'inner', role: 'VIEWER', productKeys: [pkA] },
        'apiKey { id productKeys } token',
        scopedAdmin.token,
      );
      expect(inner.apiKey.productKeys).toEqual([pkA]);
      const listed = await t.gql('{ apiKeys { id productKeys } }', {}, scopedAdmin.token);
      expect(listed.errors).toBeUndefined();
      expect(listed.data.apiKeys.length).toBeGreaterThan(0);
      for (const k of listed.data.apiKeys) expect(k.productKeys).toEqual([pkA]);
      const revokeOther = await mutate(t, 'revokeApiKey', { id: spareKeyId }, '', scopedAdmin.token);
      expect(revokeOther.payload.userErrors.map((e: any) => e.code)).toEqual(['API_KEY_NOT_FOUND']);
      await mutateOk(t, 'revokeApiKey', { id: inner.apiKey.id }, '', scopedAdmin.token);
    });

    it('streams product A events to a scoped key and nothing of product B, live and on resume', async () => {
      const client = wsClient(t.wsUrl, scoped.token);
      const baseline = hubListeners(t);
      const all = Collected.subscribe(client, LIFECYCLE, {});
      const onlyB = Collected.subscribe(client, LIFECYCLE, { pk: pkB });
      await subscriptionsLive(t, baseline, 2);
      await registerDevices(t, pkB, ['b-live-1']);
      await registerDevices(t, pkA, ['a-live-1']);
      await registerDevices(t, pkB, ['b-live-2']);
      await registerDevices(t, pkA, ['a-live-2']);
      const got = await all.waitFor(2);
      expect(got.map((e: any) => [e.deviceLifecycle.productKey, e.deviceLifecycle.deviceName])).toEqual([
        [pkA, 'a-live-1'],
        [pkA, 'a-live-2'],
      ]);
      // Nothing more may arrive: this window proves a negative, so it is a real delay.
      await sleep(200);
      expect(all.items).toHaveLength(2);
      expect(onlyB.items).toEqual([]);
      expect(onlyB.error).toBeNull();

      // Resuming from before those events replays only product A, and product B's replay is empty.
      const cursor = got[0].deviceLifecycle.cursor;
      const replayAll = Collected.subscribe(client, LIFECYCLE, { after: cursor });
      const replayB = Collected.subscribe(client, LIFECYCLE, { pk: pkB, after: cursor });
      const replayed = await replayAll.waitFor(1);
      expect(replayed[0].deviceLifecycle.deviceName).toBe('a-live-2');
      // Nothing more may arrive: this window proves a negative, so it is a real delay.
      await sleep(300);
      expect(replayAll.items).toHaveLength(1);
      expect(replayB.error).toBeNull();
      expect(replayB.items).toEqual([]);
      for (const c of [all, onlyB, replayAll, replayB]) c.unsubscribe();
      await client.dispose();
    });
  });

  describe('API keys', () => {
    it('shows a token only once, stores only its hash and never returns it from apiKeys', async () => {
      const created = await mutateOk(
        t,
        'createApiKey',
        { name: 'shown once', role: 'VIEWER' },
        'apiKey { id name role productKeys tokenPrefix revokedAt } token',
      );
      expect(created.token).toMatch(/^tq_[A-Za-z0-9_-]{43}$/);
      expect(created.apiKey).toMatchObject({ name: 'shown once', role: 'VIEWER', productKeys: null, revokedAt: null });
      expect(created.token.startsWith(created.apiKey.tokenPrefix)).toBe(true);

      const type = await t.gql(`{ __type(name: "ApiKey") { fields { name } } }`);
      const fields = type.data.__type.fields.map((f: any) => f.name);
      expect(fields.filter((f: string) => /token|secret|hash/i.test(f) && f !== 'tokenPrefix')).toEqual([]);

      const res = await fetch(t.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminToken}` },
        body: JSON.stringify({ query: '{ apiKeys { id name role tokenPrefix createdAt revokedAt productKeys } }' }),
      });
      const text = await res.text();
      expect(JSON.parse(text).data.apiKeys.map((k: any) => k.id)).toContain(created.apiKey.id);
      expect(text).not.toContain(created.token);

      const [row] = await t.platform.database.db
        .select()
        .from(apiKeys)
        .where(eq(apiKeys.id, Number(created.apiKey.id)));
      expect(row!.tokenHash).toBe(createHash('sha256').update(created.token).digest('hex'));
      expect(JSON.stringify(row)).not.toContain(created.token);
    });

    it('accepts a new key at once and refuses it at once after revokeApiKey, on HTTP and on an open WebSocket', async () => {
      const key = await createApiKey(t, 'VIEWER');
      const first = await t.gql(`{ product(productKey: "${pkA}") { productKey } }`, {}, key.token);
      expect(first.status).toBe(200);
      expect(first.data.product.productKey).toBe(pkA);

      const client = eagerWsClient(t, key.token);
      const closed = closeCodeOf(client);
      const connected = new Promise<void>((r) => client.on('connected', () => r()));
      const live = Collected.subscribe(client, LIFECYCLE, { pk: pkA });
      await connected;

      const revoked = await mutateOk(t, 'revokeApiKey', { id: key.id }, 'apiKey { id revokedAt }');
      expect(revoked.apiKey.revokedAt).not.toBeNull();
      expect(await closed).toBe(4401);

      const after = await t.gql(`{ product(productKey: "${pkA}") { productKey } }`, {}, key.token);
      expect(after.status).toBe(401);
      expect(after.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(live.items).toEqual([]);

      const again = eagerWsClient(t, key.token);
      expect(await closeCodeOf(again)).toBe(4401);
      await client.dispose();
      await again.dispose();
    });

    it('answers revokeApiKey of an unknown id with API_KEY_NOT_FOUND', async () => {
      const before = await dbSnapshot(t);
      for (const id of ['999999', 'not-a-number']) {
        const r = await mutate(t, 'revokeApiKey', { id });
        expect(r.payload.userErrors.map((e: any) => [e.code, e.field])).toEqual([
          ['API_KEY_NOT_FOUND', ['input', 'id']],
        ]);
      }
      expect(await dbSnapshot(t)).toBe(before);
    });
  });

  describe('graphql-ws connection_init', () => {
    it('closes a socket without a token with 4401', async () => {
      const client = eagerWsClient(t, null);
      expect(await closeCodeOf(client)).toBe(4401);
      await client.dispose();
    });

    it('closes a socket with a bad token with 4401', async () => {
      for (const params of [
        { authorization: 'Bearer wrong-token' },
        { authorization: t.adminToken },
        { authorization: 42 },
      ]) {
        const client = eagerWsClient(t, null, params);
        expect(await closeCodeOf(client), JSON.stringify(params)).toBe(4401);
        await client.dispose();
      }
    });

    it('accepts the token under Authorization as well and streams events', async () => {
      const client = wsClient(t.wsUrl, null, { connectionParams: { Authorization: `Bearer ${t.adminToken}` } });
      const baseline = hubListeners(t);
      const live = Collected.subscribe(client, LIFECYCLE, { pk: pkA });
      await subscriptionsLive(t, baseline);
      await registerDevices(t, pkA, ['ws-upper-1']);
      const [e] = await live.waitFor(1);
      expect(e.deviceLifecycle).toMatchObject({ action: 'CREATE', deviceName: 'ws-upper-1' });
      live.unsubscribe();
      await client.dispose();
    });
  });
});
