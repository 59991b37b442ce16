/**
 * The default features every TSL module carries, derived from its properties (alink-protocol.md §4.3, §4.4):
 * event `post` (property post), services `set` and `get`. ThingQL always regenerates them so they cannot drift
 * from the properties; the shape follows real exports (fixture smart-lamp.json).
 */
import type { TslEvent, TslParam, TslProperty, TslService } from './types.ts';

export const POST_METHOD = 'thing.event.property.post';
export const SET_METHOD = 'thing.service.property.set';
export const GET_METHOD = 'thing.service.property.get';

/** The expected `method` of a feature, default features included (alink-protocol.md §4.3, §4.4). */
export const eventMethod = (id: string): string => (id === 'post' ? POST_METHOD : `thing.event.${id}.post`);
export const serviceMethod = (id: string): string =>
  id === 'set' ? SET_METHOD : id === 'get' ? GET_METHOD : `thing.service.${id}`;

/** A parameter copy of a property; the data type is cloned so the default features share nothing with it. */
const asParam = (p: TslProperty): TslParam => ({
  identifier: p.identifier,
  name: p.name,
  dataType: structuredClone(p.dataType),
});

export function defaultPostEvent(properties: TslProperty[]): TslEvent {
  return {
    identifier: 'post',
    name: 'post',
    type: 'info',
    required: true,
    desc: 'Property post',
    method: POST_METHOD,
    outputData: properties.map(asParam),
  };
}

/** `set`: async, inputData = every rw property, no output (§4.4; only rw properties may be set, §3.4). */
export function defaultSetService(properties: TslProperty[]): TslService {
  return {
    identifier: 'set',
    name: 'set',
    required: true,
    callType: 'async',
    desc: 'Set properties',
    method: SET_METHOD,
    inputData: properties.filter((p) => p.accessMode === 'rw').map(asParam),
    outputData: [],
  };
}

/**
 * `get`: async, inputData = the property identifiers (strings, as in real exports), outputData = every property.
 * §4.4 says outputData lists all properties; the fixture's `[]` is replaced on normalisation.
 */
export function defaultGetService(properties: TslProperty[]): TslService {
  return {
    identifier: 'get',
    name: 'get',
    required: true,
    callType: 'async',
    desc: 'Get properties',
    method: GET_METHOD,
    inputData: properties.map((p) => p.identifier),
    outputData: properties.map(asParam),
  };
}
