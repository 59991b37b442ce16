import { describe, expect, it } from 'vitest';
import { validateTslDocument } from '../../../src/domain/tsl/document.ts';
import type { TslIssue } from '../../../src/domain/tsl/types.ts';
import { event, intType, param, prop, service } from './helpers.ts';

const issuesOf = (input: unknown): TslIssue[] => {
  const r = validateTslDocument(input);
  if (r.ok) throw new Error('expected the document to be refused');
  return r.error;
};
const paths = (input: unknown) => issuesOf(input).map((i) => i.path.join('.'));

/** A document with one property of the given data type. */
const withType = (dataType: unknown) => ({ properties: [prop('P', dataType)] });
const S = 'properties.0.dataType.specs';
const n = <T>(count: number, make: (i: number) => T): T[] => Array.from({ length: count }, (_, i) => make(i));

// [behaviour, document, exact paths of every issue expected]
const cases: [string, unknown, string[]][] = [
  ['refuses a document that is not an object', [], ['']],
  ['refuses properties that are not an array', { properties: {} }, ['properties']],
  [
    'refuses a schema that is not a string and a profile that is not an object',
    { schema: 1, profile: 'x' },
    ['schema', 'profile'],
  ],
  ['refuses a feature that is not an object', { properties: ['P'] }, ['properties.0']],
  ['refuses a missing dataType', { properties: [{ ...prop('P'), dataType: undefined }] }, ['properties.0.dataType']],
  ['refuses an unknown data type', withType({ type: 'string', specs: {} }), ['properties.0.dataType.type']],
  ['refuses int specs that are not an object', withType({ type: 'int', specs: 'x' }), [S]],
  [
    'refuses an int min that is not numeric and a missing max',
    withType({ type: 'int', specs: { min: 'a' } }),
    [`${S}.min`, `${S}.max`],
  ],
  ['refuses an int min with a fraction', withType(intType('0.5', '10', '1')), [`${S}.min`]],
  ['refuses an int max beyond 32 bits', withType(intType('0', '2147483648', '1')), [`${S}.max`]],
  ['refuses min greater than max', withType(intType('10', '0', '1')), [`${S}.max`]],
  ['refuses a step of zero', withType(intType('0', '10', '0')), [`${S}.step`]],
  [
    'refuses a negative float step',
    withType({ type: 'float', specs: { min: '0', max: '1', step: '-0.1' } }),
    [`${S}.step`],
  ],
  [
    'refuses a step larger than max - min',
    withType({ type: 'double', specs: { min: '0', max: '1', step: '1.5' } }),
    [`${S}.step`],
  ],
  [
    'refuses a unit and unitName that are not strings',
    withType({ type: 'float', specs: { min: '0', max: '1', unit: 1, unitName: [] } }),
    [`${S}.unit`, `${S}.unitName`],
  ],
  ['refuses a text length of 0', withType({ type: 'text', specs: { length: '0' } }), [`${S}.length`]],
  ['refuses a text length over 10240', withType({ type: 'text', specs: { length: 10241 } }), [`${S}.length`]],
  ['refuses a missing text length', withType({ type: 'text', specs: {} }), [`${S}.length`]],
  ['refuses date specs that are not an object', withType({ type: 'date', specs: 'x' }), [S]],
  [
    'refuses bool specs with a third key and an empty name',
    withType({ type: 'bool', specs: { '0': ' ', '1': 'on', '2': 'x' } }),
    [`${S}.2`, `${S}.0`],
  ],
  ['refuses bool specs without the key 1', withType({ type: 'bool', specs: { '0': 'off' } }), [`${S}.1`]],
  ['refuses an empty enum', withType({ type: 'enum', specs: {} }), [S]],
  [
    'refuses enum keys that are not integers and empty names',
    withType({ type: 'enum', specs: { a: 'x', '1.5': 'y', '2': '' } }),
    [`${S}.2`, `${S}.a`, `${S}.1.5`],
  ],
  [
    'refuses an enum of 101 values',
    withType({ type: 'enum', specs: Object.fromEntries(n(101, (i) => [String(i), 'v'])) }),
    [S],
  ],
  ['refuses an empty struct', withType({ type: 'struct', specs: [] }), [S]],
  ['refuses a struct of 51 members', withType({ type: 'struct', specs: n(51, (i) => param(`m${i}`)) }), [S]],
  [
    'refuses duplicate struct members',
    withType({ type: 'struct', specs: [param('m'), param('m')] }),
    [`${S}.1.identifier`],
  ],
  [
    'refuses a struct inside a struct',
    withType({ type: 'struct', specs: [param('m', { type: 'struct', specs: [param('x')] })] }),
    [`${S}.0.dataType.type`],
  ],
  [
    'refuses an array inside a struct',
    withType({ type: 'struct', specs: [param('m', { type: 'array', specs: { size: '2', item: intType() } })] }),
    [`${S}.0.dataType.type`],
  ],
  [
    'refuses a struct member with a bad identifier and no name',
    withType({ type: 'struct', specs: [{ identifier: 'a-b', dataType: intType() }] }),
    [`${S}.0.identifier`, `${S}.0.name`],
  ],
  [
    'refuses array sizes of 0 and 513',
    {
      properties: [
        prop('A', { type: 'array', specs: { size: '0', item: intType() } }),
        prop('B', { type: 'array', specs: { size: 513, item: intType() } }),
      ],
    },
    [`${S}.size`, 'properties.1.dataType.specs.size'],
  ],
  [
    'refuses an array of bool',
    withType({ type: 'array', specs: { size: '2', item: { type: 'bool', specs: { '0': 'a', '1': 'b' } } } }),
    [`${S}.item.type`],
  ],
  [
    'validates the specs of array items',
    withType({ type: 'array', specs: { size: '2', item: intType('5', '1', '1') } }),
    [`${S}.item.specs.max`],
  ],
  [
    'refuses an array of struct without members',
    withType({ type: 'array', specs: { size: '2', item: { type: 'struct' } } }),
    [`${S}.item.specs`],
  ],
  [
    'refuses identifiers with other characters, empty or too long',
    {
      properties: [
        prop('a-b'),
        { ...prop(''), name: 'E' },
        { ...prop('x'.repeat(51)), name: 'L' },
        { ...prop('N'), identifier: 7 },
      ],
    },
    ['properties.0.identifier', 'properties.1.identifier', 'properties.2.identifier', 'properties.3.identifier'],
  ],
  [
    'refuses two properties with the same identifier',
    { properties: [prop('P'), prop('P')] },
    ['properties.1.identifier'],
  ],
  [
    'refuses an event and a service that reuse a property identifier',
    { properties: [prop('P')], events: [event('P')], services: [service('P')] },
    ['events.0.identifier', 'services.0.identifier'],
  ],
  [
    'refuses reserved words as user features',
    { properties: [prop('value'), prop('time')], events: [event('set')], services: [service('post')] },
    ['properties.0.identifier', 'properties.1.identifier', 'events.0.identifier', 'services.0.identifier'],
  ],
  [
    'refuses a post property and a get event',
    { properties: [prop('post')], events: [event('get')] },
    ['properties.0.identifier', 'events.0.identifier'],
  ],
  ['refuses two default post events', { events: [event('post'), event('post')] }, ['events.1.identifier']],
  [
    'refuses a default post event with another method',
    { events: [{ ...event('post'), method: 'thing.event.post.post' }] },
    ['events.0.method'],
  ],
  [
    'refuses a default get service with another method',
    { services: [{ ...service('get'), method: 'thing.service.get' }] },
    ['services.0.method'],
  ],
  [
    'refuses a user event whose method names another identifier',
    { events: [{ ...event('Alarm'), method: 'thing.event.Other.post' }] },
    ['events.0.method'],
  ],
  [
    'refuses a user service whose method names another identifier',
    { services: [{ ...service('Run'), method: 'thing.service.run' }] },
    ['services.0.method'],
  ],
  [
    'refuses empty, blank, too long and non-printable names',
    {
      properties: [
        { ...prop('A'), name: '' },
        { ...prop('B'), name: '   ' },
        { ...prop('C'), name: 'x'.repeat(31) },
        { ...prop('D'), name: 'a\nb' },
      ],
    },
    ['properties.0.name', 'properties.1.name', 'properties.2.name', 'properties.3.name'],
  ],
  [
    'refuses an access mode other than r or rw, and a missing one',
    { properties: [prop('A', intType(), 'w'), { ...prop('B'), accessMode: undefined }] },
    ['properties.0.accessMode', 'properties.1.accessMode'],
  ],
  ['refuses an event type other than info, alert or error', { events: [event('E', [], 'warning')] }, ['events.0.type']],
  [
    'refuses a call type other than sync or async',
    { services: [service('S', [], [], 'maybe')] },
    ['services.0.callType'],
  ],
  [
    'refuses required that is not a boolean and desc that is not a string',
    { properties: [{ ...prop('P'), required: 'yes', desc: 1 }] },
    ['properties.0.required', 'properties.0.desc'],
  ],
  [
    'refuses an event with 101 output parameters',
    {
      events: [
        event(
          'E',
          n(101, (i) => param(`p${i}`)),
        ),
      ],
    },
    ['events.0.outputData'],
  ],
  [
    'refuses a service with 101 input and 101 output parameters',
    {
      services: [
        service(
          'S',
          n(101, (i) => param(`i${i}`)),
          n(101, (i) => param(`o${i}`)),
        ),
      ],
    },
    ['services.0.inputData', 'services.0.outputData'],
  ],
  [
    'refuses duplicate parameters in one list',
    { events: [event('E', [param('x'), param('x')])] },
    ['events.0.outputData.1.identifier'],
  ],
  [
    'refuses parameter lists that are not arrays',
    { services: [{ ...service('S'), inputData: {} }] },
    ['services.0.inputData'],
  ],
  [
    'validates the data types of parameters',
    { services: [service('S', [param('x', intType('3', '1', '1'))])] },
    ['services.0.inputData.0.dataType.specs.max'],
  ],
  [
    'refuses more than 300 features',
    { properties: n(299, (i) => prop(`p${i}`)), events: [event('E')], services: [service('S')] },
    [''],
  ],
];

describe('validateTslDocument on invalid documents', () => {
  it.each(cases)('%s', (_behaviour, input, expected) => {
    expect(paths(input)).toEqual(expected);
  });

  it('lists every issue of a document with many problems, in document order', () => {
    const issues = issuesOf({
      properties: [{ identifier: 'bad id', name: '', accessMode: 'x', dataType: intType('9', '1', '1') }, prop('Dup')],
      events: [event('Dup', [], 'fatal')],
      services: [{ ...service('Go'), callType: undefined, method: 'thing.service.Stop' }],
    });
    expect(issues).toEqual([
      { path: ['properties', '0', 'identifier'], message: 'identifier must be 1 to 50 letters, digits or underscores' },
      { path: ['properties', '0', 'name'], message: 'name must be 1 to 30 printable characters' },
      { path: ['properties', '0', 'accessMode'], message: 'accessMode must be one of r, rw' },
      { path: ['properties', '0', 'dataType', 'specs', 'max'], message: 'max must not be less than min' },
      { path: ['events', '0', 'identifier'], message: 'duplicate identifier "Dup" (first used at properties.1)' },
      { path: ['events', '0', 'type'], message: 'type must be one of info, alert, error' },
      { path: ['services', '0', 'method'], message: 'method must be "thing.service.Go"' },
      { path: ['services', '0', 'callType'], message: 'callType must be one of sync, async' },
    ]);
  });

  it('explains a reserved identifier and a step that is too large', () => {
    expect(issuesOf({ properties: [prop('property', intType('0', '1', '2'))] })).toEqual([
      { path: ['properties', '0', 'identifier'], message: '"property" is a reserved identifier' },
      { path: ['properties', '0', 'dataType', 'specs', 'step'], message: 'step must not be larger than max - min' },
    ]);
  });
});
