import { describe, expect, it } from 'vitest';
import {
  validateEventPost,
  validatePropertySet,
  validateServiceInput,
  validateServiceOutput,
} from '../../../src/domain/tsl/values.ts';
import { loadFixture, modelOf } from './helpers.ts';

const lamp = modelOf(loadFixture('smart-lamp'));
const NOW = 1_700_000_000_000;

describe('validateEventPost (alink-protocol.md §3.6)', () => {
  it('accepts an event with its output data and time', () => {
    const r = validateEventPost(lamp, 'Fault', { value: { ErrorCode: 3, Detail: 'fan' }, time: 42 }, 'STRICT', NOW);
    expect(r).toEqual({ ok: true, value: { ErrorCode: 3, Detail: 'fan' }, time: 42, failed: {} });
  });

  it('allows missing output members and an absent value, stamping the receive time', () => {
    expect(validateEventPost(lamp, 'Fault', { value: { ErrorCode: 1 } }, 'STRICT', NOW)).toEqual({
      ok: true,
      value: { ErrorCode: 1 },
      time: NOW,
      failed: {},
    });
    expect(validateEventPost(lamp, 'Fault', {}, 'STRICT', NOW)).toEqual({ ok: true, value: {}, time: NOW, failed: {} });
  });

  it('drops invalid and unknown members in WEAK mode and reports them', () => {
    const r = validateEventPost(lamp, 'Fault', { value: { ErrorCode: 256, Detail: 'x', Extra: 1 } }, 'WEAK', NOW);
    expect(r).toEqual({
      ok: true,
      value: { Detail: 'x' },
      time: NOW,
      failed: {
        ErrorCode: { value: 256, code: 6316, message: 'tsl parse: value out of range [0, 255] -> ErrorCode' },
        Extra: { value: 1, code: 6304, message: 'tsl parse: params not exist -> Extra' },
      },
    });
  });

  it('refuses the whole event in STRICT mode with the first failure', () => {
    const r = validateEventPost(lamp, 'OverHeat', { value: { Temperature: '80' } }, 'STRICT', NOW);
    expect(r).toEqual({ ok: false, code: 6307, message: 'tsl parse: data type is not float -> Temperature' });
  });

  it('refuses an event the TSL does not define with 6304, except in NONE mode', () => {
    expect(validateEventPost(lamp, 'Ghost', { value: {} }, 'WEAK', NOW)).toEqual({
      ok: false,
      code: 6304,
      message: 'tsl parse: event not exist -> Ghost',
    });
    expect(validateEventPost(lamp, 'Ghost', { value: { a: 1 }, time: '9' }, 'NONE', NOW)).toEqual({
      ok: true,
      value: { a: 1 },
      time: 9,
      failed: {},
    });
  });

  it('refuses params or a value that are not objects, and a bad time, with 460', () => {
    expect(validateEventPost(lamp, 'Fault', [], 'WEAK', NOW)).toMatchObject({ ok: false, code: 460 });
    expect(validateEventPost(lamp, 'Fault', { value: 3 }, 'NONE', NOW)).toMatchObject({ ok: false, code: 460 });
    expect(validateEventPost(lamp, 'Fault', { value: {}, time: 'x' }, 'WEAK', NOW)).toMatchObject({
      ok: false,
      code: 460,
    });
  });
});

describe('validateServiceInput and validateServiceOutput (alink-protocol.md §3.7)', () => {
  it('accepts valid arguments and allows missing ones', () => {
    expect(validateServiceInput(lamp, 'Blink', { Times: 3, IntervalMs: 100 })).toEqual([]);
    expect(validateServiceInput(lamp, 'Blink', {})).toEqual([]);
  });

  it('lists every unknown argument and bad value', () => {
    expect(validateServiceInput(lamp, 'Blink', { Times: 0, IntervalMs: 'fast', Speed: 1 })).toEqual([
      { identifier: 'Times', code: 6316, message: 'tsl parse: value out of range [1, 10] -> Times' },
      { identifier: 'IntervalMs', code: 6306, message: 'tsl parse: data type is not int -> IntervalMs' },
      { identifier: 'Speed', code: 6304, message: 'tsl parse: params not exist -> Speed' },
    ]);
  });

  it('reports an unknown service and arguments that are not an object', () => {
    expect(validateServiceInput(lamp, 'Dance', {})).toEqual([
      { identifier: 'Dance', code: 6304, message: 'tsl parse: service not exist -> Dance' },
    ]);
    expect(validateServiceInput(lamp, 'Blink', [1])).toMatchObject([{ identifier: 'Blink', code: 460 }]);
  });

  it('checks the arguments of set against the writable properties only', () => {
    expect(validateServiceInput(lamp, 'set', { Brightness: 5 })).toEqual([]);
    expect(validateServiceInput(lamp, 'set', { PowerConsumption: 5 })).toMatchObject([
      { identifier: 'PowerConsumption', code: 6304 },
    ]);
  });

  it('accepts the list of property identifiers of get', () => {
    expect(validateServiceInput(lamp, 'get', ['Brightness', 'GeoLocation'])).toEqual([]);
    expect(validateServiceInput(lamp, 'get', ['Nope', 3])).toMatchObject([
      { identifier: 'Nope', code: 6304 },
      { identifier: '3', code: 460 },
    ]);
  });

  it('checks reply data against the output data', () => {
    expect(validateServiceOutput(lamp, 'Blink', { Done: 1 })).toEqual([]);
    expect(validateServiceOutput(lamp, 'Blink', undefined)).toEqual([]);
    expect(validateServiceOutput(lamp, 'Blink', { Done: 2 })).toEqual([
      { identifier: 'Done', code: 6308, message: 'tsl parse: data type is not bool -> Done' },
    ]);
    expect(validateServiceOutput(lamp, 'Blink', 'ok')).toMatchObject([{ identifier: 'Blink', code: 460 }]);
  });
});

describe('validatePropertySet (alink-protocol.md §3.4)', () => {
  it('accepts valid values for read-write properties', () => {
    expect(validatePropertySet(lamp, { LightSwitch: 1, DeviceLabel: 'desk' })).toEqual([]);
  });

  it('lists unknown identifiers, read-only properties and invalid values together', () => {
    expect(validatePropertySet(lamp, { Ghost: 1, PowerConsumption: 3.5, Brightness: 101, WorkingMode: 9 })).toEqual([
      {
        kind: 'IDENTIFIER_NOT_FOUND',
        identifier: 'Ghost',
        code: 6304,
        message: 'tsl parse: params not exist -> Ghost',
      },
      {
        kind: 'PROPERTY_NOT_WRITABLE',
        identifier: 'PowerConsumption',
        code: 460,
        message: 'tsl parse: property is read-only -> PowerConsumption',
      },
      {
        kind: 'INVALID_VALUE',
        identifier: 'Brightness',
        code: 6316,
        message: 'tsl parse: value out of range [0, 100] -> Brightness',
      },
      {
        kind: 'INVALID_VALUE',
        identifier: 'WorkingMode',
        code: 6309,
        message: 'tsl parse: enum value 9 is not defined -> WorkingMode',
      },
    ]);
  });

  it.each([[{}], [[]], ['x']])('refuses items %j as one INVALID_VALUE issue', (items) => {
    expect(validatePropertySet(lamp, items)).toMatchObject([{ kind: 'INVALID_VALUE', identifier: '', code: 460 }]);
  });
});
