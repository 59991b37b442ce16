import { describe, expect, it } from 'vitest';
import { validatePropertyPost } from '../../../src/domain/tsl/values.ts';
import { intType, modelOf, param, prop } from './helpers.ts';

/** One property per data type, so every row of the table goes through validatePropertyPost (D9, D10). */
const model = modelOf({
  properties: [
    prop('I', intType('-10', '100', '1')),
    prop('I32', intType('-2147483648', '2147483647', '1')),
    prop('F', { type: 'float', specs: { min: '-1.5', max: '1.5', step: '0.1' } }),
    prop('D', { type: 'double', specs: { min: '0', max: '1e6', step: '0.001' } }),
    prop('T', { type: 'text', specs: { length: '5' } }),
    prop('Dt', { type: 'date', specs: {} }),
    prop('B', { type: 'bool', specs: { '0': 'off', '1': 'on' } }),
    prop('E', { type: 'enum', specs: { '0': 'a', '1': 'b', '2': 'c' } }),
    prop('S', {
      type: 'struct',
      specs: [param('a', intType('0', '10', '1')), param('b', { type: 'text', specs: { length: '3' } })],
    }),
    prop('A', { type: 'array', specs: { size: '3', item: intType('0', '9', '1') } }),
    prop('AF', { type: 'array', specs: { size: '2', item: { type: 'float' } } }),
    prop('AS', { type: 'array', specs: { size: '2', item: { type: 'struct', specs: [param('m')] } } }),
  ],
});

type Row = [id: string, value: unknown, note: string, expected: 'ok' | [code: number, message: string]];
const bad = (code: number, what: string, at: string): [number, string] => [code, `tsl parse: ${what} -> ${at}`];

const rows: Row[] = [
  ['I', 0, 'an int inside the range', 'ok'],
  ['I', -10, 'the min', 'ok'],
  ['I', 100, 'the max', 'ok'],
  ['I', 7, 'a value off the step grid, since step is not enforced', 'ok'],
  ['I', 101, 'above the max', bad(6316, 'value out of range [-10, 100]', 'I')],
  ['I', -11, 'below the min', bad(6316, 'value out of range [-10, 100]', 'I')],
  ['I', 1.5, 'a fraction', bad(6306, 'data type is not int', 'I')],
  ['I', '5', 'a numeric string', bad(6306, 'data type is not int', 'I')],
  ['I', true, 'a JSON boolean', bad(6306, 'data type is not int', 'I')],
  ['I', null, 'null', bad(6306, 'data type is not int', 'I')],
  ['I32', -2147483648, 'the int32 minimum', 'ok'],
  ['I32', 2147483647, 'the int32 maximum', 'ok'],
  ['I32', 2147483648, 'one above int32', bad(6306, 'data type is not int', 'I32')],
  ['I32', -2147483649, 'one below int32', bad(6306, 'data type is not int', 'I32')],
  ['F', 1.5, 'the max', 'ok'],
  ['F', -1.5, 'the min', 'ok'],
  ['F', 1, 'an integral number', 'ok'],
  ['F', 1.51, 'above the max', bad(6316, 'value out of range [-1.5, 1.5]', 'F')],
  ['F', '1.0', 'a numeric string', bad(6307, 'data type is not float', 'F')],
  ['F', null, 'null', bad(6307, 'data type is not float', 'F')],
  ['D', 1e6, 'the max written with an exponent in the specs', 'ok'],
  ['D', 0.0005, 'a value finer than the step', 'ok'],
  ['D', -0.1, 'below the min', bad(6316, 'value out of range [0, 1e6]', 'D')],
  ['D', {}, 'an object', bad(6307, 'data type is not double', 'D')],
  ['T', 'abcde', 'exactly the length', 'ok'],
  ['T', '', 'the empty string', 'ok'],
  ['T', '日本語です', 'five CJK characters (15 UTF-8 bytes)', 'ok'],
  ['T', '😀😀😀😀😀', 'five emoji (characters, not UTF-16 units)', 'ok'],
  ['T', 'abcdef', 'one character too long', bad(6317, 'text length exceeds 5', 'T')],
  ['T', 5, 'a number', bad(6310, 'data type is not string', 'T')],
  ['Dt', '1700000000000', 'a string of UTC ms', 'ok'],
  ['Dt', 1700000000000, 'an integer number of ms (lenient)', 'ok'],
  ['Dt', '17a', 'a string with letters', bad(6311, 'data type is not date', 'Dt')],
  ['Dt', '', 'the empty string', bad(6311, 'data type is not date', 'Dt')],
  ['Dt', -1, 'a negative number', bad(6311, 'data type is not date', 'Dt')],
  ['Dt', 1.5, 'a fraction', bad(6311, 'data type is not date', 'Dt')],
  ['B', 0, '0', 'ok'],
  ['B', 1, '1', 'ok'],
  ['B', true, 'JSON true', bad(6308, 'data type is not bool', 'B')],
  ['B', 2, '2', bad(6308, 'data type is not bool', 'B')],
  ['B', '1', 'the string "1"', bad(6308, 'data type is not bool', 'B')],
  ['E', 2, 'the last key', 'ok'],
  ['E', 3, 'a key not defined', bad(6309, 'enum value 3 is not defined', 'E')],
  ['E', '1', 'a key as a string', bad(6309, 'data type is not enum', 'E')],
  ['E', 1.5, 'a fraction', bad(6309, 'data type is not enum', 'E')],
  ['S', { a: 10, b: 'xyz' }, 'every member at its limit', 'ok'],
  ['S', 'x', 'a string', bad(6312, 'data type is not struct', 'S')],
  ['S', [], 'an array', bad(6312, 'data type is not struct', 'S')],
  ['S', { a: 1 }, 'a missing member', bad(6312, 'struct member missing', 'S.b')],
  [
    'S',
    { a: 11, b: 'x' },
    'a member out of range',
    bad(6312, 'struct member invalid: value out of range [0, 10]', 'S.a'),
  ],
  [
    'S',
    { a: 1, b: 'long' },
    'a member text too long',
    bad(6312, 'struct member invalid: text length exceeds 3', 'S.b'),
  ],
  ['S', { a: 1, b: 'x', c: 1 }, 'a member the TSL does not define', bad(6312, 'struct member not exist', 'S.c')],
  ['A', [], 'an empty array', 'ok'],
  ['A', [0, 9, 5], 'exactly the size', 'ok'],
  ['A', [1, 2, 3, 4], 'one element too many', bad(6324, 'array size exceeds 3', 'A')],
  ['A', 'x', 'a string', bad(6324, 'data type is not array', 'A')],
  ['A', [1, '2'], 'an element of the wrong type', bad(6324, 'array element invalid: data type is not int', 'A[1]')],
  ['A', [1, 10], 'an element out of range', bad(6324, 'array element invalid: value out of range [0, 9]', 'A[1]')],
  ['AF', [1.5, -1e9], 'floats without item specs', 'ok'],
  ['AS', [{ m: 1 }, { m: 2 }], 'structs, exactly the size', 'ok'],
  [
    'AS',
    [{ m: 1 }, { m: 'x' }],
    'a struct element with a bad member',
    bad(6324, 'array element invalid: struct member invalid: data type is not int', 'AS[1].m'),
  ],
];

const RECEIVED = 1_700_000_000_000;
const forms = [
  ['short', (v: unknown) => v, RECEIVED],
  ['long', (v: unknown) => ({ value: v, time: 1234 }), 1234],
] as const;

describe.each(forms)('validatePropertyPost, %s form', (_form, wrap, time) => {
  describe.each(rows)('%s = %j (%s)', (id, value, _note, expected) => {
    const params = { [id]: wrap(value) };
    if (expected === 'ok') {
      it('is stored in WEAK mode', () => {
        expect(validatePropertyPost(model, params, 'WEAK', RECEIVED)).toEqual({
          ok: true,
          items: { [id]: { value, time } },
          failed: {},
        });
      });
      it('is stored in STRICT mode', () => {
        expect(validatePropertyPost(model, params, 'STRICT', RECEIVED)).toEqual({
          ok: true,
          items: { [id]: { value, time } },
          failed: {},
        });
      });
    } else {
      const [code, message] = expected;
      it(`is dropped with ${code} in WEAK mode`, () => {
        expect(validatePropertyPost(model, params, 'WEAK', RECEIVED)).toEqual({
          ok: true,
          items: {},
          failed: { [id]: { value, time, code, message } },
        });
      });
      it(`refuses the message with ${code} in STRICT mode`, () => {
        expect(validatePropertyPost(model, params, 'STRICT', RECEIVED)).toEqual({ ok: false, code, message });
      });
    }
  });
});
