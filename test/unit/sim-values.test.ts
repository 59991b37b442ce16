import { describe, expect, it } from 'vitest';
import { loadTsl } from '../helpers/tsl-fixtures.ts';
import {
  compileThingModel,
  validateTslDocument,
  type DataType,
  type ThingModel,
  type TslParam,
} from '../../src/domain/tsl/index.ts';
import {
  validateEventPost,
  validatePropertyPost,
  validateServiceInput,
  validateServiceOutput,
  validateValue,
} from '../../src/domain/tsl/values.ts';
import { pickSome, randomParams, randomValue, seededRng } from '../../src/sim/values.ts';

function modelOf(doc: unknown): ThingModel {
  const r = validateTslDocument(doc);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return compileThingModel(r.value);
}

const dt = (type: string, specs?: unknown) => ({ type, ...(specs === undefined ? {} : { specs }) });
const num = (min: string, max: string, step?: string) => ({ min, max, ...(step ? { step } : {}) });

/** Edge specs the fixtures do not have: tight and huge ranges, odd steps, negative enum keys, every array item type. */
const edges = {
  properties: [
    ['IntPoint', dt('int', num('7', '7'))],
    ['IntFull', dt('int', num('-2147483648', '2147483647'))],
    ['IntNegStep', dt('int', num('-95', '-5', '10'))],
    ['FloatTiny', dt('float', num('0.1', '0.3', '0.2'))],
    ['FloatNoStep', dt('float', num('-1.5', '1.5'))],
    ['DoubleMicro', dt('double', num('-0.000005', '0.000005', '0.000001'))],
    ['DoubleExp', dt('double', num('0', '1e3', '1e-2'))],
    ['Text1', dt('text', { length: '1' })],
    ['EnumNeg', dt('enum', { '-3': 'minus three', '0': 'zero', '42': 'answer' })],
    ['ArrInt', dt('array', { size: '1', item: dt('int', num('0', '3')) })],
    ['ArrDouble', dt('array', { size: '512', item: dt('double') })],
    ['ArrText', dt('array', { size: '4', item: dt('text') })],
    ['ArrTextSpec', dt('array', { size: '4', item: dt('text', { length: '2' }) })],
    [
      'ArrStruct',
      dt('array', {
        size: '3',
        item: dt('struct', [
          { identifier: 'a', name: 'a', dataType: dt('date', {}) },
          { identifier: 'b', name: 'b', dataType: dt('bool', { 0: 'n', 1: 'y' }) },
        ]),
      }),
    ],
  ].map(([identifier, dataType]) => ({ identifier, name: identifier, accessMode: 'rw', required: false, dataType })),
};

const suites: [string, ThingModel][] = [
  ['smart-lamp.json', modelOf(loadTsl('smart-lamp'))],
  ['env-sensor.json', modelOf(loadTsl('env-sensor'))],
  ['edge specs', modelOf(edges)],
];

const DRAWS = 300;

/** Every parameter definition of a model: properties, event outputs, service inputs and outputs. */
function everyParam(model: ThingModel): TslParam[] {
  const out: TslParam[] = [...model.properties.entries()].map(([identifier, p]) => ({
    identifier,
    name: p.name,
    dataType: p.dataType,
  }));
  for (const e of model.events.values()) out.push(...e.outputData.values());
  for (const s of model.services.values()) out.push(...s.inputData.values(), ...s.outputData.values());
  return out;
}

describe('simulator values (src/sim/values.ts) pass ThingQL validation', () => {
  for (const [name, model] of suites) {
    it(`draws valid values for every data type of ${name}`, () => {
      const rng = seededRng(name.length * 7919);
      const params = everyParam(model);
      const types = new Set<string>();
      for (const p of params) {
        types.add(p.dataType.type);
        for (let i = 0; i < DRAWS; i++) {
          const v = randomValue(p.dataType, rng);
          const r = validateValue(p.dataType, v, p.identifier);
          if (!r.ok) throw new Error(`${name} ${p.identifier}: ${JSON.stringify(v)} → ${r.message}`);
        }
      }
      if (name === 'smart-lamp.json') {
        expect([...types].sort()).toEqual([
          'array',
          'bool',
          'date',
          'double',
          'enum',
          'float',
          'int',
          'struct',
          'text',
        ]);
      }
    });

    it(`builds property posts, event posts and service replies of ${name} that STRICT validation accepts whole`, () => {
      const rng = seededRng(42);
      const ids = [...model.properties.keys()];
      for (let i = 0; i < DRAWS; i++) {
        const params: Record<string, unknown> = {};
        for (const id of pickSome(ids, 1 + (i % ids.length), rng))
          params[id] = randomValue(model.properties.get(id)!.dataType, rng);
        const post = validatePropertyPost(model, params, 'STRICT', Date.now());
        expect(post.ok && Object.keys(post.items).sort()).toEqual(Object.keys(params).sort());
        for (const [id, e] of model.events) {
          const r = validateEventPost(
            model,
            id,
            { value: randomParams(e.outputData.values(), rng), time: Date.now() },
            'STRICT',
            Date.now(),
          );
          expect(r.ok).toBe(true);
        }
        for (const [id, s] of model.services) {
          if (id !== 'get')
            expect(validateServiceInput(model, id, randomParams(s.inputData.values(), rng))).toEqual([]);
          expect(validateServiceOutput(model, id, randomParams(s.outputData.values(), rng))).toEqual([]);
        }
      }
    });
  }

  it('stays on the step grid and inside the range, reaching both ends', () => {
    const rng = seededRng(1);
    const seen = new Set<unknown>();
    const colour = { type: 'int', specs: { min: '2700', max: '6500', step: '100' } } as DataType;
    const power = { type: 'float', specs: { min: '0', max: '0.5', step: '0.1' } } as DataType;
    for (let i = 0; i < 2000; i++) {
      const c = randomValue(colour, rng) as number;
      expect((c - 2700) % 100).toBe(0);
      seen.add(randomValue(power, rng));
    }
    expect([...seen].sort()).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5]);
  });

  it('gives dates as strings of UTC milliseconds and booleans as 0 or 1', () => {
    const rng = seededRng(3);
    expect(randomValue({ type: 'date', specs: {} }, rng)).toMatch(/^\d{13}$/);
    expect([0, 1]).toContain(randomValue({ type: 'bool', specs: { 0: 'off', 1: 'on' } }, rng));
  });
});
