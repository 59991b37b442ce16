import { describe, expect, it } from 'vitest';
import { compileThingModel } from '../../../src/domain/tsl/document.ts';
import { validatePropertyPost } from '../../../src/domain/tsl/values.ts';
import { intType, loadFixture, modelOf, param, prop, validDoc } from './helpers.ts';

const lamp = modelOf(loadFixture('smart-lamp'));
const NOW = 1_700_000_000_000;

describe('validatePropertyPost params forms (alink-protocol.md §3.3)', () => {
  it('accepts the short form and stamps items with the receive time', () => {
    expect(validatePropertyPost(lamp, { LightSwitch: 1, Brightness: 40 }, 'WEAK', NOW)).toEqual({
      ok: true,
      items: { LightSwitch: { value: 1, time: NOW }, Brightness: { value: 40, time: NOW } },
      failed: {},
    });
  });

  it('accepts the long form with and without time, and a time as a string of digits', () => {
    const r = validatePropertyPost(
      lamp,
      { LightSwitch: { value: 0, time: 5 }, Brightness: { value: 3 }, WorkingMode: { value: 2, time: '77' } },
      'STRICT',
      NOW,
    );
    expect(r).toEqual({
      ok: true,
      items: {
        LightSwitch: { value: 0, time: 5 },
        Brightness: { value: 3, time: NOW },
        WorkingMode: { value: 2, time: 77 },
      },
      failed: {},
    });
  });

  it('mixes both forms in one message', () => {
    const r = validatePropertyPost(lamp, { LightSwitch: 1, Brightness: { value: 3, time: 9 } }, 'WEAK', NOW);
    expect(r).toMatchObject({
      ok: true,
      items: { LightSwitch: { value: 1, time: NOW }, Brightness: { value: 3, time: 9 } },
    });
  });

  it('reads a struct given in the long form and a struct given directly', () => {
    const geo = { Longitude: 120.1, Latitude: 30.2, Altitude: 10, CoordinateSystem: 1 };
    expect(validatePropertyPost(lamp, { GeoLocation: { value: geo, time: 8 } }, 'STRICT', NOW)).toMatchObject({
      items: { GeoLocation: { value: geo, time: 8 } },
    });
    expect(validatePropertyPost(lamp, { GeoLocation: geo }, 'STRICT', NOW)).toMatchObject({
      items: { GeoLocation: { value: geo, time: NOW } },
    });
  });

  it('reads an object with keys besides value and time as a short-form value', () => {
    const r = validatePropertyPost(lamp, { Brightness: { value: 1, time: 2, unit: '%' } }, 'WEAK', NOW);
    expect(r).toMatchObject({ failed: { Brightness: { code: 6306 } } });
  });

  describe('for a struct whose members are named value and time', () => {
    const model = modelOf({ properties: [prop('SV', { type: 'struct', specs: [param('value'), param('time')] })] });
    it('takes {value: 3, time: 4} as the struct itself', () => {
      const r = validatePropertyPost(model, { SV: { value: 3, time: 4 } }, 'STRICT', NOW);
      expect(r).toEqual({ ok: true, items: { SV: { value: { value: 3, time: 4 }, time: NOW } }, failed: {} });
    });
    it('takes {value: {...}, time} as the long form', () => {
      const r = validatePropertyPost(model, { SV: { value: { value: 3, time: 4 }, time: 99 } }, 'STRICT', NOW);
      expect(r).toEqual({ ok: true, items: { SV: { value: { value: 3, time: 4 }, time: 99 } }, failed: {} });
    });
  });
});

describe('validatePropertyPost message-level failures', () => {
  it.each([[[]], ['x'], [null], [42]])('refuses params %j with 460', (params) => {
    expect(validatePropertyPost(lamp, params, 'WEAK', NOW)).toMatchObject({ ok: false, code: 460 });
  });

  it('refuses 201 properties with 6104, even in NONE mode', () => {
    const params = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`p${i}`, i]));
    for (const mode of ['WEAK', 'STRICT', 'NONE'] as const) {
      expect(validatePropertyPost(lamp, params, mode, NOW)).toEqual({
        ok: false,
        code: 6104,
        message: 'too many properties in one message: 201 > 200',
      });
    }
  });

  it('accepts 200 properties', () => {
    const model = modelOf({ properties: Array.from({ length: 200 }, (_, i) => prop(`p${i}`)) });
    const params = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`p${i}`, i % 100]));
    const r = validatePropertyPost(model, params, 'STRICT', NOW);
    expect(r.ok && Object.keys(r.items)).toHaveLength(200);
  });

  it('accepts empty params as nothing to store', () => {
    expect(validatePropertyPost(lamp, {}, 'STRICT', NOW)).toEqual({ ok: true, items: {}, failed: {} });
  });
});

describe('validatePropertyPost modes (alink-protocol.md D9)', () => {
  const params = { Brightness: 50, Nope: 1, ColorTemperature: 99, WorkingMode: 1 };

  it('keeps valid items in WEAK mode and lists unknown identifiers with 6304 and invalid ones with their code', () => {
    expect(validatePropertyPost(lamp, params, 'WEAK', NOW)).toEqual({
      ok: true,
      items: { Brightness: { value: 50, time: NOW }, WorkingMode: { value: 1, time: NOW } },
      failed: {
        Nope: { value: 1, time: NOW, code: 6304, message: 'tsl parse: params not exist -> Nope' },
        ColorTemperature: {
          value: 99,
          time: NOW,
          code: 6316,
          message: 'tsl parse: value out of range [2700, 6500] -> ColorTemperature',
        },
      },
    });
  });

  it('refuses the message in STRICT mode with the first failure in params order', () => {
    expect(validatePropertyPost(lamp, params, 'STRICT', NOW)).toEqual({
      ok: false,
      code: 6304,
      message: 'tsl parse: params not exist -> Nope',
    });
  });

  it('passes everything as given in NONE mode, unknown and invalid items included', () => {
    const r = validatePropertyPost(
      lamp,
      { ...params, Brightness: { value: 'x', time: 3 }, Bad: { value: 1, time: 'soon' } },
      'NONE',
      NOW,
    );
    expect(r).toEqual({
      ok: true,
      items: {
        Brightness: { value: 'x', time: 3 },
        Nope: { value: 1, time: NOW },
        ColorTemperature: { value: 99, time: NOW },
        WorkingMode: { value: 1, time: NOW },
        Bad: { value: 1, time: NOW },
      },
      failed: {},
    });
  });

  it('fails an item whose time is not ms with 460 in WEAK mode', () => {
    const r = validatePropertyPost(
      lamp,
      { Brightness: { value: 5, time: 'soon' }, LightSwitch: { value: 1, time: -1 } },
      'WEAK',
      NOW,
    );
    expect(r).toEqual({
      ok: true,
      items: {},
      failed: {
        Brightness: { value: 5, time: NOW, code: 460, message: 'tsl parse: time is invalid -> Brightness' },
        LightSwitch: { value: 1, time: NOW, code: 460, message: 'tsl parse: time is invalid -> LightSwitch' },
      },
    });
  });

  it('looks module-prefixed identifiers up as sent', () => {
    const model = compileThingModel(validDoc({ properties: [prop('Speed', intType('0', '10', '1'))] }), 'motor');
    const r = validatePropertyPost(model, { 'motor:Speed': 4, Speed: 4 }, 'WEAK', NOW);
    expect(r).toMatchObject({ items: { 'motor:Speed': { value: 4 } }, failed: { Speed: { code: 6304 } } });
  });

  it('keeps a __proto__ identifier as a plain failed key without touching prototypes', () => {
    const params = JSON.parse('{"__proto__": {"value": 1}}') as unknown;
    const r = validatePropertyPost(lamp, params, 'WEAK', NOW);
    expect(r.ok && Object.keys(r.failed)).toEqual(['__proto__']);
    expect(r.ok && Object.getPrototypeOf(r.failed)).toBe(Object.prototype);
  });
});
