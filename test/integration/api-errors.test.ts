import { beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/use-platform.ts';
import { event, intType, param, prop, service } from '../unit/tsl/helpers.ts';
import { createProduct, dbSnapshot, lampTsl, mutate, mutateOk, registerDevices } from './support.ts';
import { describeEachDb } from '../helpers/services-env.ts';

type Expected = [code: string, field: string[] | null][];

const n = <T>(count: number, make: (i: number) => T): T[] => Array.from({ length: count }, (_, i) => make(i));
const withType = (dataType: unknown) => ({ properties: [prop('P', dataType)] });
const T = ['input', 'tsl'];
const S = [...T, 'properties', '0', 'dataType', 'specs'];
const b64 = (s: string) => Buffer.from(s).toString('base64url');

/** [behaviour, TSL document, every INVALID_TSL field expected, in order] */
const badTsl: [string, unknown, string[][]][] = [
  ['a document that is not an object', ['not', 'an', 'object'], [T]],
  ['properties that are not an array', { properties: { P: {} } }, [[...T, 'properties']]],
  ['an unknown data type', withType({ type: 'string', specs: {} }), [[...T, 'properties', '0', 'dataType', 'type']]],
  [
    'int specs with min above max and a zero step',
    withType(intType('10', '0', '0')),
    [
      [...S, 'max'],
      [...S, 'step'],
    ],
  ],
  ['a text without length', withType({ type: 'text', specs: {} }), [[...S, 'length']]],
  ['an empty enum', withType({ type: 'enum', specs: {} }), [S]],
  ['bool specs without the key 1', withType({ type: 'bool', specs: { '0': 'off' } }), [[...S, '1']]],
  [
    'a struct inside a struct',
    withType({ type: 'struct', specs: [param('m', { type: 'struct', specs: [param('x')] })] }),
    [[...S, '0', 'dataType', 'type']],
  ],
  ['an array of 513 items', withType({ type: 'array', specs: { size: '513', item: intType() } }), [[...S, 'size']]],
  ['a reserved identifier', { properties: [prop('value')] }, [[...T, 'properties', '0', 'identifier']]],
  [
    'an event type and a call type outside the enums',
    { events: [event('E', [], 'warning')], services: [service('S', [], [], 'maybe')] },
    [
      [...T, 'events', '0', 'type'],
      [...T, 'services', '0', 'callType'],
    ],
  ],
  ['more than 300 features', { properties: n(301, (i) => prop(`p${i}`)) }, [T]],
  [
    'several problems at once, each listed with its path',
    {
      properties: [prop('bad-id'), prop('Temp', intType('5', '1', '1')), prop('Temp')],
      events: [{ ...event('Alarm'), outputData: {} }],
      services: [service('Alarm')],
    },
    [
      [...T, 'properties', '0', 'identifier'],
      [...T, 'properties', '1', 'dataType', 'specs', 'max'],
      [...T, 'properties', '2', 'identifier'],
      [...T, 'events', '0', 'outputData'],
      [...T, 'services', '0', 'identifier'],
    ],
  ],
];

describeEachDb('userErrors of the registry mutations on %s', (kind) => {
  const t = usePlatform(kind);
  let pk: string;
  let emptyPk: string;

  beforeAll(async () => {
    pk = (await createProduct(t, { name: 'Errors lamp', tsl: lampTsl })).productKey;
    emptyPk = (await createProduct(t, { name: 'Errors empty' })).productKey;
    await registerDevices(t, pk, ['dev-001', 'dev-002']);
    await mutateOk(t, 'createProductTopic', { productKey: pk, topicShortName: 'custom', operation: 'PUB' });
  });

  /** Runs a mutation that must fail with exactly `expected` userErrors and change nothing in the database. */
  async function refused(name: string, input: Record<string, unknown>, expected: Expected, select = '') {
    const before = await dbSnapshot(t);
    const r = await mutate(t, name, input, select);
    expect(r.errors, `${name} top-level errors`).toBeUndefined();
    expect(r.status).toBe(200);
    const got = r.payload.userErrors.map((e: any) => [e.code, e.field]);
    expect(got, `${name} ${JSON.stringify(input).slice(0, 200)}`).toEqual(expected);
    for (const e of r.payload.userErrors) expect(e.message.length).toBeGreaterThan(5);
    expect(await dbSnapshot(t), `${name} changed the database`).toBe(before);
    return r.payload;
  }

  describe('invalid TSL', () => {
    it.each(badTsl)('createProduct refuses %s with INVALID_TSL at its path', async (_what, tsl, fields) => {
      const payload = await refused(
        'createProduct',
        { name: 'Bad TSL product', tsl },
        fields.map((f) => ['INVALID_TSL', f]),
        'product { productKey }',
      );
      expect(payload.product).toBeNull();
    });

    it.each(badTsl)(
      'setThingModel refuses %s with INVALID_TSL at its path and keeps the old model',
      async (_what, tsl, fields) => {
        const payload = await refused(
          'setThingModel',
          { productKey: pk, tsl },
          fields.map((f) => ['INVALID_TSL', f]),
          'product { productKey }',
        );
        expect(payload.product).toBeNull();
        const model = await t.gql(
          `query($pk: String!) { product(productKey: $pk) { thingModel { properties { identifier } } } }`,
          { pk },
        );
        expect(model.data.product.thingModel.properties).toHaveLength(10);
      },
    );

    it('names the offending place in the message too', async () => {
      const r = await mutate(t, 'setThingModel', { productKey: pk, tsl: withType(intType('10', '0', '1')) });
      expect(r.payload.userErrors[0].message).toMatch(/^properties\.0\.dataType\.specs\.max: /);
    });
  });

  describe('products', () => {
    it.each([
      [
        'a productKey shorter than 4',
        { productKey: 'ab1', name: 'Good name' },
        [['INVALID_NAME', ['input', 'productKey']]],
      ],
      [
        'a productKey with other characters',
        { productKey: 'bad-key_1', name: 'Good name' },
        [['INVALID_NAME', ['input', 'productKey']]],
      ],
      ['an empty productKey', { productKey: '', name: 'Good name' }, [['INVALID_NAME', ['input', 'productKey']]]],
      ['a name of 3 characters', { name: 'abc' }, [['INVALID_NAME', ['input', 'name']]]],
      ['a name of 31 characters', { name: 'n'.repeat(31) }, [['INVALID_NAME', ['input', 'name']]]],
      ['a blank name', { name: '      ' }, [['INVALID_NAME', ['input', 'name']]]],
      [
        'a description over 100 characters',
        { name: 'Good name', description: 'd'.repeat(101) },
        [['INVALID_NAME', ['input', 'description']]],
      ],
    ] as [string, Record<string, unknown>, Expected][])('createProduct refuses %s', async (_what, input, expected) => {
      await refused('createProduct', input, expected);
    });

    it('refuses a productKey that is taken with PRODUCT_ALREADY_EXISTS', async () => {
      await refused('createProduct', { productKey: pk, name: 'Same key' }, [
        ['PRODUCT_ALREADY_EXISTS', ['input', 'productKey']],
      ]);
    });

    it('refuses updateProduct with a bad name and keeps the old one', async () => {
      await refused('updateProduct', { productKey: pk, name: 'x' }, [['INVALID_NAME', ['input', 'name']]]);
      expect((await t.gql(`{ product(productKey: "${pk}") { name } }`)).data.product.name).toBe('Errors lamp');
    });

    it('refuses deleteProduct while the product has devices with PRODUCT_HAS_DEVICES', async () => {
      await refused('deleteProduct', { productKey: pk }, [['PRODUCT_HAS_DEVICES', ['input', 'productKey']]]);
    });
  });

  describe('unknown products and devices', () => {
    const ghost = 'a1NoSuchProd';
    it.each([
      ['updateProduct', { productKey: ghost, name: 'New name' }],
      ['deleteProduct', { productKey: ghost }],
      ['setThingModel', { productKey: ghost, tsl: lampTsl }],
      ['registerDevice', { productKey: ghost, deviceName: 'dev-001' }],
      ['registerDevices', { productKey: ghost, deviceNames: ['dev-001'] }],
      ['registerDevices', { productKey: ghost, count: 3 }],
      ['enableDevice', { productKey: ghost, deviceName: 'dev-001' }],
      ['disableDevice', { productKey: ghost, deviceName: 'dev-001' }],
      ['deleteDevice', { productKey: ghost, deviceName: 'dev-001' }],
      ['resetDeviceSecret', { productKey: ghost, deviceName: 'dev-001' }],
      ['createProductTopic', { productKey: ghost, topicShortName: 'custom', operation: 'PUB' }],
      ['deleteProductTopic', { productKey: ghost, topicShortName: 'custom' }],
    ] as [string, Record<string, unknown>][])(
      '%s on an unknown product gives PRODUCT_NOT_FOUND',
      async (name, input) => {
        await refused(name, input, [['PRODUCT_NOT_FOUND', ['input', 'productKey']]]);
      },
    );

    it('createApiKey for an unknown product gives PRODUCT_NOT_FOUND on productKeys', async () => {
      const payload = await refused(
        'createApiKey',
        { name: 'ghost key', role: 'VIEWER', productKeys: [pk, ghost] },
        [['PRODUCT_NOT_FOUND', ['input', 'productKeys']]],
        'token',
      );
      expect(payload.token).toBeNull();
    });

    it.each(['enableDevice', 'disableDevice', 'deleteDevice', 'resetDeviceSecret'])(
      '%s on an unknown device gives DEVICE_NOT_FOUND',
      async (name) => {
        await refused(name, { productKey: pk, deviceName: 'no-such-device' }, [
          ['DEVICE_NOT_FOUND', ['input', 'deviceName']],
        ]);
      },
    );

    it('looks a device up in its own product only', async () => {
      await refused('disableDevice', { productKey: emptyPk, deviceName: 'dev-001' }, [
        ['DEVICE_NOT_FOUND', ['input', 'deviceName']],
      ]);
    });
  });

  describe('devices', () => {
    it.each([
      ['3 characters', 'abc'],
      ['33 characters', 'd'.repeat(33)],
      ['a space', 'bad name'],
      ['a slash', 'bad/name'],
      ['a plus', 'bad+name'],
      ['non-ASCII letters', 'gerät-01'],
      ['an empty string', ''],
    ])('registerDevice refuses a deviceName with %s with INVALID_NAME', async (_what, deviceName) => {
      const payload = await refused(
        'registerDevice',
        { productKey: pk, deviceName },
        [['INVALID_NAME', ['input', 'deviceName']]],
        'device { iotId } deviceSecret',
      );
      expect(payload.device).toBeNull();
      expect(payload.deviceSecret).toBeNull();
    });

    it('accepts every character the reference allows', async () => {
      const r = await mutateOk(
        t,
        'registerDevice',
        { productKey: emptyPk, deviceName: 'Ab9-_@.:' },
        'device { deviceName }',
      );
      expect(r.device.deviceName).toBe('Ab9-_@.:');
      await mutateOk(t, 'deleteDevice', { productKey: emptyPk, deviceName: 'Ab9-_@.:' });
    });

    it('refuses a nickname of 3 characters with INVALID_NAME', async () => {
      await refused('registerDevice', { productKey: pk, deviceName: 'nick-dev', nickname: 'abc' }, [
        ['INVALID_NAME', ['input', 'nickname']],
      ]);
    });

    it('refuses a bad name inside registerDevices, pointing at its index, and registers none', async () => {
      await refused('registerDevices', { productKey: pk, deviceNames: ['ok-name-1', 'no', 'ok-name-2'] }, [
        ['INVALID_NAME', ['input', 'deviceNames', '1']],
      ]);
    });

    it('refuses an existing device with DEVICE_ALREADY_EXISTS', async () => {
      await refused('registerDevice', { productKey: pk, deviceName: 'dev-001' }, [
        ['DEVICE_ALREADY_EXISTS', ['input', 'deviceName']],
      ]);
    });

    it('refuses a name listed twice in registerDevices and registers none', async () => {
      await refused('registerDevices', { productKey: pk, deviceNames: ['twin-1', 'other-1', 'twin-1'] }, [
        ['DEVICE_ALREADY_EXISTS', ['input', 'deviceNames']],
      ]);
    });

    it('refuses registerDevices when one name exists already and registers none of the others', async () => {
      await refused('registerDevices', { productKey: pk, deviceNames: ['fresh-1', 'dev-002', 'fresh-2'] }, [
        ['DEVICE_ALREADY_EXISTS', ['input', 'deviceNames']],
      ]);
      const r = await t.gql(
        `query($pk: String!) { devices(productKey: $pk, nameContains: "fresh") { edges { node { deviceName } } } }`,
        { pk },
      );
      expect(r.data.devices.edges).toEqual([]);
    });

    it.each([
      ['both deviceNames and count', { deviceNames: ['x-001'], count: 1 }, ['input', 'count']],
      ['neither deviceNames nor count', {}, ['input', 'deviceNames']],
      ['an empty list', { deviceNames: [] }, ['input', 'deviceNames']],
      ['a count of 0', { count: 0 }, ['input', 'count']],
      ['a count of 1001', { count: 1001 }, ['input', 'count']],
      ['1001 names', { deviceNames: n(1001, (i) => `bulk-${i}`) }, ['input', 'deviceNames']],
    ] as [string, Record<string, unknown>, string[]][])(
      'registerDevices refuses %s with INVALID_INPUT',
      async (_what, input, field) => {
        await refused('registerDevices', { productKey: pk, ...input }, [['INVALID_INPUT', field]]);
      },
    );
  });

  describe('topic categories', () => {
    it.each([
      ['an empty name', '', 'PUB'],
      ['a space', 'bad name', 'PUB'],
      ['an empty level', 'a//b', 'PUB'],
      ['a leading slash', '/lead', 'SUB'],
      ['a trailing slash', 'trail/', 'SUB'],
      ['a dash', 'data-up', 'ALL'],
      ['five levels', 'a/b/c/d/e', 'SUB'],
      ['a full topic over 128 characters', 't'.repeat(80), 'PUB'],
      ['a + wildcard in a PUB category', 'cmd/+', 'PUB'],
      ['a # wildcard in a PUB category', '#', 'PUB'],
      ['a # that is not the last level', '#/x', 'SUB'],
      ['a wildcard inside a level', 'cmd+', 'SUB'],
    ])('createProductTopic refuses %s with INVALID_NAME', async (_what, topicShortName, operation) => {
      await refused('createProductTopic', { productKey: pk, topicShortName, operation }, [
        ['INVALID_NAME', ['input', 'topicShortName']],
      ]);
    });

    it('accepts wildcards in SUB and ALL categories', async () => {
      await mutateOk(t, 'createProductTopic', { productKey: emptyPk, topicShortName: 'cmd/+', operation: 'SUB' });
      await mutateOk(t, 'createProductTopic', { productKey: emptyPk, topicShortName: 'all/#', operation: 'ALL' });
    });

    it('refuses a category that exists (custom or default) with TOPIC_ALREADY_EXISTS', async () => {
      await refused('createProductTopic', { productKey: pk, topicShortName: 'custom', operation: 'SUB' }, [
        ['TOPIC_ALREADY_EXISTS', ['input', 'topicShortName']],
      ]);
      await refused('createProductTopic', { productKey: pk, topicShortName: 'update', operation: 'PUB' }, [
        ['TOPIC_ALREADY_EXISTS', ['input', 'topicShortName']],
      ]);
    });

    it('refuses to delete a category that does not exist with TOPIC_NOT_FOUND', async () => {
      await refused('deleteProductTopic', { productKey: pk, topicShortName: 'nothing_here' }, [
        ['TOPIC_NOT_FOUND', ['input', 'topicShortName']],
      ]);
    });
  });

  describe('API keys', () => {
    it.each([
      ['an empty name', { name: '', role: 'VIEWER' }, [['INVALID_NAME', ['input', 'name']]]],
      ['a name of 65 characters', { name: 'k'.repeat(65), role: 'VIEWER' }, [['INVALID_NAME', ['input', 'name']]]],
      [
        'an empty product list',
        { name: 'empty scope', role: 'VIEWER', productKeys: [] },
        [['INVALID_INPUT', ['input', 'productKeys']]],
      ],
    ] as [string, Record<string, unknown>, Expected][])('createApiKey refuses %s', async (_what, input, expected) => {
      await refused('createApiKey', input, expected);
    });
  });

  describe('paging and malformed requests', () => {
    const pageQueries: [string, string][] = [
      [
        'products',
        `query($first: Int, $last: Int, $after: String, $before: String) { products(first: $first, last: $last, after: $after, before: $before) { edges { cursor } } }`,
      ],
      [
        'devices',
        `query($first: Int, $last: Int, $after: String, $before: String) { devices(first: $first, last: $last, after: $after, before: $before) { edges { cursor } } }`,
      ],
      [
        'product.devices',
        `query($first: Int, $after: String) { product(productKey: "PK") { devices(first: $first, after: $after) { edges { cursor } } } }`,
      ],
    ];

    it.each(pageQueries)(
      '%s refuses first: 501 with a BAD_USER_INPUT error and serves first: 500',
      async (_name, query) => {
        const q = query.replace('PK', pk);
        const tooMany = await t.gql(q, { first: 501 });
        expect(tooMany.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
        expect(tooMany.errors?.[0].message).toMatch(/500/);
        const max = await t.gql(q, { first: 500 });
        expect(max.errors).toBeUndefined();
      },
    );

    it.each(pageQueries.slice(0, 2))(
      '%s refuses last: 501, a negative first and first with last',
      async (_name, query) => {
        for (const vars of [{ last: 501 }, { first: -1 }, { first: 1, last: 1 }]) {
          const r = await t.gql(query, vars);
          expect(
            r.errors?.map((e) => e.extensions?.code),
            JSON.stringify(vars),
          ).toEqual(['BAD_USER_INPUT']);
        }
      },
    );

    it.each(pageQueries)('%s refuses cursors it did not hand out with BAD_USER_INPUT', async (_name, query) => {
      const q = query.replace('PK', pk);
      for (const after of [
        'garbage!',
        b64('k:abc'),
        b64('k:'),
        b64('k:1e3'),
        b64('e:5'),
        b64('k:99999999999999999999'),
      ]) {
        const r = await t.gql(q, { first: 5, after });
        expect(
          r.errors?.map((e) => e.extensions?.code),
          after,
        ).toEqual(['BAD_USER_INPUT']);
      }
    });

    it('pages back with a cursor it handed out', async () => {
      const first = await t.gql(
        `query($pk: String!) { devices(productKey: $pk, first: 1) { edges { cursor node { deviceName } } pageInfo { hasNextPage endCursor } } }`,
        { pk },
      );
      expect(first.data.devices.pageInfo.hasNextPage).toBe(true);
      const next = await t.gql(
        `query($pk: String!, $after: String) { devices(productKey: $pk, first: 1, after: $after) { edges { node { deviceName } } } }`,
        {
          pk,
          after: first.data.devices.pageInfo.endCursor,
        },
      );
      expect(next.data.devices.edges.map((e: any) => e.node.deviceName)).toEqual(['dev-002']);
    });

    it('refuses device() without a way to find the device with BAD_USER_INPUT', async () => {
      const r = await t.gql(`{ device(productKey: "${pk}") { deviceName } }`);
      expect(r.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    });

    it('refuses an unknown field with GRAPHQL_VALIDATION_FAILED and a missing required input with a 400', async () => {
      const unknown = await t.gql(`{ product(productKey: "${pk}") { secretSauce } }`);
      expect(unknown.status).toBe(400);
      expect(unknown.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const missing = await t.gql(
        `mutation { registerDevice(input: { deviceName: "x-0001" }) { userErrors { code } } }`,
      );
      expect(missing.status).toBe(400);
      expect(missing.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    });

    it('answers node() with a well-formed id of no row with null', async () => {
      for (const raw of [
        'Product:abc',
        'Product:99999999999',
        'Device:x',
        'Device:1.5',
        'ProductTopic:-1',
        'ProductTopic:99999999999999999999',
      ]) {
        const r = await t.gql(`query($id: ID!) { node(id: $id) { id } }`, { id: Buffer.from(raw).toString('base64') });
        expect(r.errors, raw).toBeUndefined();
        expect(r.data.node, raw).toBeNull();
      }
    });

    it('refuses node() with a malformed global id or an unknown type with BAD_USER_INPUT', async () => {
      for (const id of [
        'garbage',
        ...['Nope:1', 'DeviceState:1', 'UserError:1', 'Product'].map((raw) => Buffer.from(raw).toString('base64')),
      ]) {
        const r = await t.gql(`query($id: ID!) { node(id: $id) { id } }`, { id });
        expect(
          r.errors?.map((e) => e.extensions?.code),
          id,
        ).toEqual(['BAD_USER_INPUT']);
        expect(r.data.node).toBeNull();
      }
    });
  });
});
