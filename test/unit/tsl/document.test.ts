import { describe, expect, it } from 'vitest';
import { compileThingModel, validateTslDocument } from '../../../src/domain/tsl/document.ts';
import type { TslParam } from '../../../src/domain/tsl/types.ts';
import { event, intType, loadFixture, param, prop, service, validDoc } from './helpers.ts';

const ids = (params: TslParam[] | string[]) => params.map((p) => (typeof p === 'string' ? p : p.identifier));

describe('validateTslDocument on the fixtures', () => {
  it('accepts the smart lamp and regenerates post, set and get from its properties', () => {
    const doc = validDoc(loadFixture('smart-lamp'));
    const all = doc.properties.map((p) => p.identifier);
    expect(all).toHaveLength(10);
    const post = doc.events[0];
    expect(post).toMatchObject({
      identifier: 'post',
      type: 'info',
      required: true,
      method: 'thing.event.property.post',
    });
    // The fixture's post lists two properties with trimmed specs; the normalised one lists every property as is.
    expect(ids(post?.outputData ?? [])).toEqual(all);
    expect(post?.outputData[1]?.dataType).toEqual(doc.properties[1]?.dataType);
    const [set, get] = doc.services;
    expect(set).toMatchObject({
      identifier: 'set',
      callType: 'async',
      method: 'thing.service.property.set',
      outputData: [],
    });
    expect(ids(set?.inputData ?? [])).toEqual([
      'LightSwitch',
      'Brightness',
      'ColorTemperature',
      'WorkingMode',
      'DeviceLabel',
    ]);
    expect(get).toMatchObject({ identifier: 'get', callType: 'async', method: 'thing.service.property.get' });
    expect(get?.inputData).toEqual(all);
    expect(ids(get?.outputData ?? [])).toEqual(all);
  });

  it('keeps the user features of the smart lamp after the defaults, with their methods', () => {
    const doc = validDoc(loadFixture('smart-lamp'));
    expect(doc.events.map((e) => [e.identifier, e.type, e.method])).toEqual([
      ['post', 'info', 'thing.event.property.post'],
      ['Fault', 'error', 'thing.event.Fault.post'],
      ['OverHeat', 'alert', 'thing.event.OverHeat.post'],
    ]);
    expect(doc.services.map((s) => [s.identifier, s.callType, s.method])).toEqual([
      ['set', 'async', 'thing.service.property.set'],
      ['get', 'async', 'thing.service.property.get'],
      ['Blink', 'sync', 'thing.service.Blink'],
      ['Reboot', 'async', 'thing.service.Reboot'],
    ]);
    expect(doc.schema).toBe('https://iotx-tsl.oss-ap-southeast-1.aliyuncs.com/schema.json');
    expect(doc.profile).toEqual({ version: '1.0', productKey: '${productKey}' });
  });

  it('adds post, set and get to the env sensor that has none', () => {
    const doc = validDoc(loadFixture('env-sensor'));
    expect(doc.events.map((e) => e.identifier)).toEqual(['post', 'HighTemperature']);
    expect(doc.services.map((s) => s.identifier)).toEqual(['set', 'get', 'Calibrate']);
    expect(ids(doc.services[0]?.inputData ?? [])).toEqual(['ReportInterval']);
  });

  it('returns a document that validates again to itself', () => {
    const doc = validDoc(loadFixture('smart-lamp'));
    expect(validDoc(JSON.parse(JSON.stringify(doc)))).toEqual(doc);
  });
});

describe('validateTslDocument normalisation', () => {
  it('treats absent properties, events and services as empty and still adds the defaults', () => {
    const doc = validDoc({});
    expect(doc.properties).toEqual([]);
    expect(doc.events.map((e) => e.identifier)).toEqual(['post']);
    expect(doc.services.map((s) => [s.identifier, s.inputData, s.outputData])).toEqual([
      ['set', [], []],
      ['get', [], []],
    ]);
  });

  it('turns numeric specs given as JSON numbers into the reference string form', () => {
    const doc = validDoc({
      properties: [
        prop('N', { type: 'double', specs: { min: -1.5, max: 10, step: 0.5 } }),
        prop('T', { type: 'text', specs: { length: 64 } }),
        prop('A', { type: 'array', specs: { size: 4, item: { type: 'int', specs: { min: 0, max: 9 } } } }),
      ],
    });
    expect(doc.properties.map((p) => p.dataType)).toEqual([
      { type: 'double', specs: { min: '-1.5', max: '10', step: '0.5' } },
      { type: 'text', specs: { length: '64' } },
      { type: 'array', specs: { size: '4', item: { type: 'int', specs: { min: '0', max: '9' } } } },
    ]);
  });

  it('fills in missing methods, defaults required to false and drops unknown keys', () => {
    const doc = validDoc({
      properties: [{ ...prop('P'), required: undefined, extra: 1 }],
      events: [{ ...event('Alarm', [param('Level')]), method: undefined, color: 'red' }],
      services: [service('Run')],
      functionBlocks: [],
    });
    expect(doc.properties[0]).toEqual({
      identifier: 'P',
      name: 'P',
      accessMode: 'rw',
      required: false,
      dataType: intType(),
    });
    expect(doc.events[1]?.method).toBe('thing.event.Alarm.post');
    expect(doc.events[1]).not.toHaveProperty('color');
    expect(doc.services[2]?.method).toBe('thing.service.Run');
  });

  it('trims names and allows identifiers that start with a digit', () => {
    const doc = validDoc({ properties: [{ ...prop('1st'), name: '  温度 sensor  ' }] });
    expect(doc.properties[0]).toMatchObject({ identifier: '1st', name: '温度 sensor' });
  });

  it('accepts a name of exactly 30 characters and a 50-character identifier', () => {
    const id = 'a'.repeat(50);
    expect(validateTslDocument({ properties: [{ ...prop(id), name: 'é'.repeat(30) }] }).ok).toBe(true);
  });

  it('accepts the TSL limits exactly: 300 features, 100 params, 50 members, 100 enum values, 512 elements', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => param(`p${i}`));
    const members = Array.from({ length: 50 }, (_, i) => param(`m${i}`));
    const enumSpecs = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [String(i), `v${i}`]));
    const properties = [
      prop('S', { type: 'struct', specs: members }),
      prop('E', { type: 'enum', specs: enumSpecs }),
      prop('A', { type: 'array', specs: { size: '512', item: { type: 'text', specs: { length: '10240' } } } }),
      ...Array.from({ length: 295 }, (_, i) => prop(`x${i}`)),
    ];
    const doc = validDoc({ properties, events: [event('Ev', hundred)], services: [service('Sv', hundred, hundred)] });
    expect(doc.properties.length + doc.events.length + doc.services.length - 3).toBe(300);
  });

  it('does not count given post, set and get towards the 300 features', () => {
    const properties = Array.from({ length: 300 }, (_, i) => prop(`x${i}`));
    const r = validateTslDocument({ properties, events: [event('post')], services: [service('set'), service('get')] });
    expect(r.ok).toBe(true);
  });
});

describe('compileThingModel', () => {
  it('indexes properties, events and services by identifier with access mode, type and call type', () => {
    const model = compileThingModel(validDoc(loadFixture('smart-lamp')));
    expect(model.properties.get('PowerConsumption')?.accessMode).toBe('r');
    expect(model.properties.get('Brightness')?.accessMode).toBe('rw');
    expect(model.events.get('Fault')?.type).toBe('error');
    expect([...(model.events.get('post')?.outputData.keys() ?? [])]).toHaveLength(10);
    expect(model.services.get('Blink')?.callType).toBe('sync');
    expect([...(model.services.get('Blink')?.inputData.keys() ?? [])]).toEqual(['Times', 'IntervalMs']);
    expect([...(model.services.get('get')?.inputData.keys() ?? [])]).toHaveLength(10);
  });

  it('prefixes identifiers with the module id when compiling a custom module', () => {
    const model = compileThingModel(validDoc({ properties: [prop('Speed')], events: [event('Stall')] }), 'motor');
    expect([...model.properties.keys()]).toEqual(['motor:Speed']);
    expect(model.properties.get('motor:Speed')?.identifier).toBe('Speed');
    expect(model.events.has('motor:Stall')).toBe(true);
  });
});
