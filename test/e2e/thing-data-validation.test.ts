/**
 * Property posts of every smart-lamp data type over a real MQTT device, in the three validation modes of
 * alink-protocol.md D9, with the codes and messages of D10. Each row posts one item at a device time of its own,
 * so "stored" and "not stored" are read back exactly from history at that time.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, productWithDevices, type DeviceCreds } from '../helpers/devices.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { lampTsl, latestProperties, postAndReply, propertyHistory, setValidationMode } from '../helpers/thing-posts.ts';
import { describeEachDb } from '../helpers/services-env.ts';

type Failure = [code: number, message: string];
interface Row {
  type: string;
  id: string;
  kind: 'valid' | 'boundary' | 'invalid';
  value: unknown;
  /** The item's failure (invalid rows only). */
  fail?: Failure;
}

const bad = (code: number, what: string, at: string): Failure => [code, `tsl parse: ${what} -> ${at}`];
const label = (n: number) => 'x'.repeat(n);

const rows: Row[] = [
  { type: 'bool', id: 'LightSwitch', kind: 'valid', value: 1 },
  { type: 'bool', id: 'LightSwitch', kind: 'boundary', value: 0 },
  {
    type: 'bool',
    id: 'LightSwitch',
    kind: 'invalid',
    value: 2,
    fail: bad(6308, 'data type is not bool', 'LightSwitch'),
  },
  {
    type: 'bool',
    id: 'LightSwitch',
    kind: 'invalid',
    value: true,
    fail: bad(6308, 'data type is not bool', 'LightSwitch'),
  },
  { type: 'int', id: 'Brightness', kind: 'valid', value: 42 },
  { type: 'int', id: 'Brightness', kind: 'boundary', value: 100 },
  { type: 'int', id: 'ColorTemperature', kind: 'boundary', value: 2700 },
  {
    type: 'int',
    id: 'Brightness',
    kind: 'invalid',
    value: 101,
    fail: bad(6316, 'value out of range [0, 100]', 'Brightness'),
  },
  {
    type: 'int',
    id: 'ColorTemperature',
    kind: 'invalid',
    value: 2699,
    fail: bad(6316, 'value out of range [2700, 6500]', 'ColorTemperature'),
  },
  {
    type: 'int',
    id: 'Brightness',
    kind: 'invalid',
    value: 50.5,
    fail: bad(6306, 'data type is not int', 'Brightness'),
  },
  {
    type: 'int',
    id: 'Brightness',
    kind: 'invalid',
    value: '50',
    fail: bad(6306, 'data type is not int', 'Brightness'),
  },
  { type: 'enum', id: 'WorkingMode', kind: 'valid', value: 1 },
  { type: 'enum', id: 'WorkingMode', kind: 'boundary', value: 3 },
  {
    type: 'enum',
    id: 'WorkingMode',
    kind: 'invalid',
    value: 4,
    fail: bad(6309, 'enum value 4 is not defined', 'WorkingMode'),
  },
  {
    type: 'enum',
    id: 'WorkingMode',
    kind: 'invalid',
    value: 'night',
    fail: bad(6309, 'data type is not enum', 'WorkingMode'),
  },
  { type: 'float', id: 'PowerConsumption', kind: 'valid', value: 12.5 },
  { type: 'float', id: 'PowerConsumption', kind: 'boundary', value: 500 },
  {
    type: 'float',
    id: 'PowerConsumption',
    kind: 'invalid',
    value: 500.1,
    fail: bad(6316, 'value out of range [0, 500]', 'PowerConsumption'),
  },
  {
    type: 'float',
    id: 'PowerConsumption',
    kind: 'invalid',
    value: '12.5',
    fail: bad(6307, 'data type is not float', 'PowerConsumption'),
  },
  { type: 'double', id: 'EnergyTotal', kind: 'valid', value: 1234.567 },
  { type: 'double', id: 'EnergyTotal', kind: 'boundary', value: 0 },
  {
    type: 'double',
    id: 'EnergyTotal',
    kind: 'invalid',
    value: -0.001,
    fail: bad(6316, 'value out of range [0, 100000000]', 'EnergyTotal'),
  },
  {
    type: 'double',
    id: 'EnergyTotal',
    kind: 'invalid',
    value: null,
    fail: bad(6307, 'data type is not double', 'EnergyTotal'),
  },
  { type: 'date', id: 'LastMaintenance', kind: 'valid', value: '1767225600000' },
  { type: 'date', id: 'LastMaintenance', kind: 'boundary', value: '0' },
  {
    type: 'date',
    id: 'LastMaintenance',
    kind: 'invalid',
    value: '2026-01-01',
    fail: bad(6311, 'data type is not date', 'LastMaintenance'),
  },
  { type: 'text', id: 'DeviceLabel', kind: 'valid', value: 'desk lamp' },
  { type: 'text', id: 'DeviceLabel', kind: 'boundary', value: '灯'.repeat(32) },
  {
    type: 'text',
    id: 'DeviceLabel',
    kind: 'invalid',
    value: label(33),
    fail: bad(6317, 'text length exceeds 32', 'DeviceLabel'),
  },
  {
    type: 'text',
    id: 'DeviceLabel',
    kind: 'invalid',
    value: 42,
    fail: bad(6310, 'data type is not string', 'DeviceLabel'),
  },
  {
    type: 'struct',
    id: 'GeoLocation',
    kind: 'valid',
    value: { Longitude: 120.15, Latitude: 30.28, Altitude: 12.5, CoordinateSystem: 1 },
  },
  {
    type: 'struct',
    id: 'GeoLocation',
    kind: 'boundary',
    value: { Longitude: -180, Latitude: 90, Altitude: 9999, CoordinateSystem: 2 },
  },
  {
    type: 'struct',
    id: 'GeoLocation',
    kind: 'invalid',
    value: { Longitude: 120.15, Latitude: 30.28, Altitude: 12.5 },
    fail: bad(6312, 'struct member missing', 'GeoLocation.CoordinateSystem'),
  },
  {
    type: 'struct',
    id: 'GeoLocation',
    kind: 'invalid',
    value: { Longitude: 120.15, Latitude: 90.5, Altitude: 12.5, CoordinateSystem: 1 },
    fail: bad(6312, 'struct member invalid: value out of range [-90, 90]', 'GeoLocation.Latitude'),
  },
  { type: 'array', id: 'RecentPower', kind: 'valid', value: [1.5, 2.25, 3] },
  { type: 'array', id: 'RecentPower', kind: 'boundary', value: Array.from({ length: 10 }, (_, i) => i + 0.5) },
  {
    type: 'array',
    id: 'RecentPower',
    kind: 'invalid',
    value: Array.from({ length: 11 }, (_, i) => i),
    fail: bad(6324, 'array size exceeds 10', 'RecentPower'),
  },
  {
    type: 'array',
    id: 'RecentPower',
    kind: 'invalid',
    value: [1.5, 'x'],
    fail: bad(6324, 'array element invalid: data type is not float', 'RecentPower[1]'),
  },
  {
    type: 'array',
    id: 'RecentPower',
    kind: 'invalid',
    value: 1.5,
    fail: bad(6324, 'data type is not array', 'RecentPower'),
  },
  { type: 'undefined', id: 'Nope', kind: 'invalid', value: 1, fail: bad(6304, 'params not exist', 'Nope') },
];

/** Every data type of the fixture is covered by a valid, a boundary and an invalid row. */
const TYPES = ['bool', 'int', 'enum', 'float', 'double', 'date', 'text', 'struct', 'array'];

const BASE = Date.UTC(2026, 1, 1, 0, 0, 0);
const timeOf = (i: number) => BASE + i * 1000;
const show = (v: unknown) => {
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
};
const named = rows.map((r, i) => ({ ...r, i, shown: show(r.value) }));
const valid = named.filter((r) => !r.fail);
const invalid = named.filter((r) => r.fail);

it('the table covers every data type of smart-lamp with a valid, a boundary and an invalid value', () => {
  for (const type of TYPES) {
    expect(new Set(rows.filter((r) => r.type === type).map((r) => r.kind)), type).toEqual(
      new Set(['valid', 'boundary', 'invalid']),
    );
  }
  const props = (lampTsl.properties as { dataType: { type: string } }[]).map((p) => p.dataType.type);
  expect(new Set(props)).toEqual(new Set(TYPES));
});

describeEachDb('property post validation over MQTT on %s', (kind) => {
  let t: TestPlatform;
  const devices: Record<'WEAK' | 'STRICT' | 'NONE' | 'BARE', { dev: DeviceCreds; c: MqttClient }> = {} as never;
  let seq = 0;

  beforeAll(async () => {
    t = await startTestPlatform(kind);
    for (const mode of ['WEAK', 'STRICT', 'NONE'] as const) {
      const {
        productKey,
        devices: [dev],
      } = await productWithDevices(t, 1, { tsl: lampTsl });
      // Every product starts WEAK (the default); STRICT and NONE are set the way an operator does.
      if (mode !== 'WEAK') await setValidationMode(t, productKey, mode);
      devices[mode] = { dev: dev!, c: await connectDevice(t, 'tcp', dev!) };
    }
    const {
      devices: [bare],
    } = await productWithDevices(t, 1);
    devices.BARE = { dev: bare!, c: await connectDevice(t, 'tcp', bare!) };
  });
  afterAll(async () => {
    for (const d of Object.values(devices)) await d?.c.endAsync();
    await t?.close();
  });

  function post(mode: keyof typeof devices, params: Record<string, unknown>) {
    const { dev, c } = devices[mode];
    const id = String(++seq);
    return postAndReply(c, `/sys/${dev.productKey}/${dev.deviceName}/thing/event/property/post`, {
      id,
      version: '1.0',
      params,
      method: 'thing.event.property.post',
    });
  }
  const stored = (mode: keyof typeof devices, id: string, time: number) =>
    propertyHistory(t, devices[mode].dev.productKey, devices[mode].dev.deviceName, id, time, time);
  const ok200 = (id: string, data: unknown = {}) => ({
    id,
    code: 200,
    data,
    message: 'success',
    method: 'thing.event.property.post',
    version: '1.0',
  });

  // The cases of a mode run concurrently (a few at a time): each post has its own request id and each property its own
  // time, so replies and stored rows cannot be mistaken for another case's.
  describe.concurrent('WEAK (the default)', () => {
    it.each(valid)('stores a $kind $type ($id = $shown) and answers 200 with empty data', async (r) => {
      const reply = await post('WEAK', { [r.id]: { value: r.value, time: timeOf(r.i) } });
      expect(reply).toEqual(ok200(reply.id));
      expect(await stored('WEAK', r.id, timeOf(r.i))).toEqual([
        { value: r.value, time: new Date(timeOf(r.i)).toISOString() },
      ]);
    });

    it.each(invalid)(
      'drops an invalid $type ($id = $shown), answers 200 with {$id: message} and stores nothing',
      async (r) => {
        const reply = await post('WEAK', { [r.id]: { value: r.value, time: timeOf(r.i) } });
        expect(reply).toEqual(ok200(reply.id, { [r.id]: r.fail![1] }));
        expect(await stored('WEAK', r.id, timeOf(r.i))).toEqual([]);
      },
    );

    it('keeps the valid items of a mixed post and lists every invalid one in data', async () => {
      const time = BASE + 900_000;
      const reply = await post('WEAK', {
        Brightness: { value: 7, time },
        WorkingMode: { value: 9, time },
        DeviceLabel: { value: 'ok', time },
        RecentPower: { value: [1, 'x'], time },
      });
      expect(reply).toEqual(
        ok200(reply.id, {
          WorkingMode: 'tsl parse: enum value 9 is not defined -> WorkingMode',
          RecentPower: 'tsl parse: array element invalid: data type is not float -> RecentPower[1]',
        }),
      );
      expect(await stored('WEAK', 'Brightness', time)).toHaveLength(1);
      expect(await stored('WEAK', 'DeviceLabel', time)).toHaveLength(1);
      expect(await stored('WEAK', 'WorkingMode', time)).toEqual([]);
      expect(await stored('WEAK', 'RecentPower', time)).toEqual([]);
    });
  });

  describe.concurrent('STRICT', () => {
    it.each(valid)('stores a $kind $type ($id = $shown) and answers 200', async (r) => {
      const reply = await post('STRICT', { [r.id]: { value: r.value, time: timeOf(r.i) } });
      expect(reply).toEqual(ok200(reply.id));
      expect(await stored('STRICT', r.id, timeOf(r.i))).toEqual([
        { value: r.value, time: new Date(timeOf(r.i)).toISOString() },
      ]);
    });

    it.each(invalid)(
      "refuses an invalid $type ($id = $shown) with the item's code and message and stores nothing",
      async (r) => {
        const reply = await post('STRICT', { [r.id]: { value: r.value, time: timeOf(r.i) } });
        expect(reply).toEqual({
          id: reply.id,
          code: r.fail![0],
          data: {},
          message: r.fail![1],
          method: 'thing.event.property.post',
          version: '1.0',
        });
        expect(await stored('STRICT', r.id, timeOf(r.i))).toEqual([]);
      },
    );

    it('refuses a mixed post with its first failure and stores none of its valid items', async () => {
      const time = BASE + 900_000;
      const reply = await post('STRICT', {
        Brightness: { value: 7, time },
        ColorTemperature: { value: 7000, time },
        WorkingMode: { value: 9, time },
      });
      expect(reply).toMatchObject({
        code: 6316,
        message: 'tsl parse: value out of range [2700, 6500] -> ColorTemperature',
      });
      expect(await stored('STRICT', 'Brightness', time)).toEqual([]);
    });
  });

  describe.concurrent('NONE', () => {
    it.each(named)('stores a $kind $type ($id = $shown) as given and answers 200', async (r) => {
      const reply = await post('NONE', { [r.id]: { value: r.value, time: timeOf(r.i) } });
      expect(reply).toEqual(ok200(reply.id));
      expect(await stored('NONE', r.id, timeOf(r.i))).toEqual([
        { value: r.value, time: new Date(timeOf(r.i)).toISOString() },
      ]);
    });
  });

  describe('values the database cannot hold', () => {
    // Each of these once failed its commit: no PUBACK, the device was disconnected, and its resend failed again.
    it.each([
      ['WEAK', 'text with U+0000 in a valid DeviceLabel', { DeviceLabel: 'a\u0000b' }],
      ['NONE', 'an identifier with U+0000', { 'Bad\u0000Id': 1 }],
      ['STRICT', 'U+0000 inside a struct member the TSL does not define', { GeoLocation: { 'x\u0000': 1 } }],
    ] as const)(
      '%s: refuses %s with 460, stores nothing and keeps the device connected',
      async (mode, _what, params) => {
        const reply = await post(mode, params);
        expect(reply).toMatchObject({
          code: 460,
          message: 'request parameter error: text containing U+0000 cannot be stored',
        });
        const { c, dev } = devices[mode];
        expect(c.connected).toBe(true);
        const time = BASE + 1_800_000;
        const next = await post(mode, { DeviceLabel: { value: 'after', time } });
        expect(next.code).toBe(200);
        expect(await propertyHistory(t, dev.productKey, dev.deviceName, 'DeviceLabel', time, time)).toEqual([
          { value: 'after', time: new Date(time).toISOString() },
        ]);
      },
    );

    it('WEAK: drops an item whose time is beyond the largest date with 460 and keeps the others', async () => {
      const time = BASE + 2_700_000;
      const reply = await post('WEAK', { Brightness: { value: 1, time: 9e15 }, WorkingMode: { value: 2, time } });
      expect(reply).toEqual(ok200(reply.id, { Brightness: 'tsl parse: time is invalid -> Brightness' }));
      expect(devices.WEAK.c.connected).toBe(true);
      expect(await stored('WEAK', 'WorkingMode', time)).toEqual([{ value: 2, time: new Date(time).toISOString() }]);
    });

    it('NONE: stores an item whose time is beyond the largest date at its receive time', async () => {
      const before = Date.now();
      const reply = await post('NONE', { DeviceLabel: { value: 'far future', time: '9999999999999999' } });
      expect(reply).toEqual(ok200(reply.id));
      const { dev } = devices.NONE;
      const h = await propertyHistory(
        t,
        dev.productKey,
        dev.deviceName,
        'DeviceLabel',
        before - 1000,
        Date.now() + 1000,
      );
      expect(h.map((p) => p.value)).toContain('far future');
    });
  });

  describe('event posts in both params forms', () => {
    // §3.6 puts the output data under `value`; the Node Link SDK's documented `postEvent('Fault', {ErrorCode: 7})`
    // sends it as params itself. Both are validated the same way.
    const eventPost = (mode: 'WEAK' | 'STRICT', params: Record<string, unknown>) => {
      const { dev, c } = devices[mode];
      const id = String(++seq);
      return postAndReply(c, `/sys/${dev.productKey}/${dev.deviceName}/thing/event/Fault/post`, {
        id,
        version: '1.0',
        params,
        method: 'thing.event.Fault.post',
      });
    };
    const faults = async (mode: 'WEAK' | 'STRICT', time: number) => {
      const { dev } = devices[mode];
      const r = await t.gql(
        `query($pk: String!, $dn: String!, $from: DateTime!, $to: DateTime!) { deviceEventHistory(productKey: $pk, deviceName: $dn, identifier: "Fault", from: $from, to: $to, order: ASC) { edges { node { output } } } }`,
        {
          pk: dev.productKey,
          dn: dev.deviceName,
          from: new Date(time).toISOString(),
          to: new Date(Date.now() + 60_000).toISOString(),
        },
      );
      return r.data.deviceEventHistory.edges.map((e: any) => e.node.output);
    };

    it.each([
      ['the Alink form', (v: Record<string, unknown>) => ({ value: v })],
      ['the Link SDK form', (v: Record<string, unknown>) => v],
    ] as const)('WEAK: stores the valid members of %s and lists the invalid ones', async (_form, wrap) => {
      const since = Date.now() - 1000;
      const reply = await eventPost('WEAK', wrap({ ErrorCode: 300, Detail: `weak ${_form}` }));
      expect(reply).toMatchObject({
        code: 200,
        data: { ErrorCode: 'tsl parse: value out of range [0, 255] -> ErrorCode' },
      });
      expect(await faults('WEAK', since)).toContainEqual({ Detail: `weak ${_form}` });
    });

    it.each([
      ['the Alink form', (v: Record<string, unknown>) => ({ value: v })],
      ['the Link SDK form', (v: Record<string, unknown>) => v],
    ] as const)('STRICT: refuses an invalid member in %s and stores nothing', async (_form, wrap) => {
      const since = Date.now() - 1000;
      const reply = await eventPost('STRICT', wrap({ ErrorCode: 1, Detail: 42 }));
      expect(reply).toMatchObject({ code: 6310, message: 'tsl parse: data type is not string -> Detail' });
      expect(await faults('STRICT', since)).toEqual([]);
    });
  });

  it('answers a post to a product whose TSL has no properties with 6321 and stores nothing', async () => {
    const time = BASE;
    const reply = await post('BARE', { Brightness: { value: 5, time }, LightSwitch: 1 });
    expect(reply).toEqual({
      id: reply.id,
      code: 6321,
      data: {},
      message: 'tsl: the product has no thing model; define one with setThingModel',
      method: 'thing.event.property.post',
      version: '1.0',
    });
    const { dev } = devices.BARE;
    expect(await propertyHistory(t, dev.productKey, dev.deviceName, 'Brightness', 0, Date.now() + 86_400_000)).toEqual(
      [],
    );
    expect(await latestProperties(t, dev.productKey, dev.deviceName)).toEqual({});
  });
});
