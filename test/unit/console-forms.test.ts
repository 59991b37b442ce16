/** The console's pure helpers: online-debug inputs from TSL data types, and error paths located in the TSL editor. */
import { describe, expect, it } from 'vitest';
import { locate } from '../../console/src/json-locate.ts';
import { choices, hint, inputKind, parseForm, parseInput } from '../../console/src/tsl-form.ts';

const int = { type: 'int', specs: { min: '0', max: '100', step: '1', unit: '%' } };
const float = { type: 'float', specs: { min: '-1.5', max: '2.5' } };
const bool = { type: 'bool', specs: { '0': 'off', '1': 'on' } };
const enm = { type: 'enum', specs: { '0': 'manual', '2': 'night' } };
const text = { type: 'text', specs: { length: '4' } };

describe('online-debug inputs from the TSL', () => {
  it('picks an input per data type and describes its range', () => {
    expect(
      [int, float, bool, enm, text, { type: 'date' }, { type: 'struct', specs: [] }, { type: 'array', specs: {} }].map(
        inputKind,
      ),
    ).toEqual(['number', 'number', 'bool', 'enum', 'text', 'date', 'json', 'json']);
    expect(hint(int)).toBe('int 0 to 100 %');
    expect(choices(enm)).toEqual([
      ['0', '0 · manual'],
      ['2', '2 · night'],
    ]);
    expect(choices(bool)).toEqual([
      ['0', '0 · off'],
      ['1', '1 · on'],
    ]);
  });

  it('parses valid values to what the API expects and leaves empty inputs out', () => {
    expect(parseInput('42', int)).toEqual({ ok: true, value: 42 });
    expect(parseInput('-1.25', float)).toEqual({ ok: true, value: -1.25 });
    expect(parseInput('1', bool)).toEqual({ ok: true, value: 1 });
    expect(parseInput('2', enm)).toEqual({ ok: true, value: 2 });
    expect(parseInput('desk', text)).toEqual({ ok: true, value: 'desk' });
    expect(parseInput('1700000000000', { type: 'date' })).toEqual({ ok: true, value: '1700000000000' });
    expect(parseInput('{"a":1}', { type: 'struct' })).toEqual({ ok: true, value: { a: 1 } });
    expect(parseInput('  ', int)).toEqual({ ok: true, value: undefined });
  });

  it('refuses values outside the data type with a message for the input', () => {
    expect(parseInput('101', int)).toEqual({ ok: false, error: 'must be at most 100' });
    expect(parseInput('-1', int)).toEqual({ ok: false, error: 'must be at least 0' });
    expect(parseInput('4.5', int)).toEqual({ ok: false, error: 'must be a whole number' });
    expect(parseInput('abc', float)).toEqual({ ok: false, error: 'must be a number' });
    expect(parseInput('1', enm)).toEqual({ ok: false, error: 'not one of the allowed values' });
    expect(parseInput('toolong', text)).toEqual({ ok: false, error: 'at most 4 characters' });
    expect(parseInput('yesterday', { type: 'date' })).toEqual({
      ok: false,
      error: 'must be UTC milliseconds (digits)',
    });
    expect(parseInput('[1]', { type: 'struct' })).toEqual({ ok: false, error: 'must be a JSON object' });
    expect(parseInput('{', { type: 'array' })).toEqual({ ok: false, error: 'must be valid JSON' });
    const params = [
      { identifier: 'Brightness', name: 'Brightness', dataType: int },
      { identifier: 'LightSwitch', name: 'Switch', dataType: bool },
      { identifier: 'Label', name: 'Label', dataType: text },
    ];
    expect(parseForm(params, { Brightness: '500', LightSwitch: '1' })).toEqual({
      values: { LightSwitch: 1 },
      errors: { Brightness: 'must be at most 100' },
    });
  });
});

describe('locating an error path in the TSL text', () => {
  const doc = JSON.stringify(
    {
      properties: [
        { identifier: 'A', dataType: { specs: { min: '0' } } },
        { identifier: 'B "q"', dataType: { type: 'int', specs: { min: 'abc', max: '9' } } },
      ],
      events: [],
    },
    null,
    2,
  );

  it('finds the value at the path, with its line', () => {
    const at = locate(doc, ['properties', '1', 'dataType', 'specs', 'min'])!;
    expect(doc.slice(at.start, at.end)).toBe('"abc"');
    expect(doc.split('\n')[at.line - 1]).toContain('"min": "abc"');
    const obj = locate(doc, ['properties', '0'])!;
    expect(JSON.parse(doc.slice(obj.start, obj.end))).toEqual({ identifier: 'A', dataType: { specs: { min: '0' } } });
    expect(doc.slice(...(Object.values(locate(doc, ['events'])!).slice(0, 2) as [number, number]))).toBe('[]');
  });

  it('gives null for a missing path or text that is not JSON', () => {
    expect(locate(doc, ['properties', '5'])).toBeNull();
    expect(locate(doc, ['nope'])).toBeNull();
    expect(locate('{"a": ', ['a'])).toBeNull();
  });
});
