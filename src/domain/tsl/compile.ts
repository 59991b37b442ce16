/** Compiles a validated TSL document into the lookup form used on the message path (alink-protocol.md §4). */
import type { CompiledEvent, CompiledProperty, CompiledService, ThingModel, TslDocument, TslParam } from './types.ts';

const byIdentifier = (params: TslParam[]): Map<string, TslParam> => new Map(params.map((p) => [p.identifier, p]));

/**
 * With `moduleId`, feature keys are `${moduleId}:${identifier}`, the form messages use for custom modules
 * (alink-protocol.md §3.3), so validators look identifiers up as sent.
 */
export function compileThingModel(doc: TslDocument, moduleId?: string): ThingModel {
  const key = (id: string): string => (moduleId === undefined ? id : `${moduleId}:${id}`);
  const properties = new Map<string, CompiledProperty>();
  for (const p of doc.properties) {
    properties.set(key(p.identifier), {
      identifier: p.identifier,
      name: p.name,
      accessMode: p.accessMode,
      required: p.required,
      dataType: p.dataType,
    });
  }
  const propertyParams = byIdentifier(doc.properties);
  const events = new Map<string, CompiledEvent>();
  for (const e of doc.events) {
    events.set(key(e.identifier), {
      identifier: e.identifier,
      name: e.name,
      type: e.type,
      method: e.method,
      outputData: byIdentifier(e.outputData),
    });
  }
  const services = new Map<string, CompiledService>();
  for (const s of doc.services) {
    // The default `get` lists property identifiers: resolve them to the property definitions.
    const inputs: TslParam[] = s.inputData.flatMap((x: TslParam | string) => {
      if (typeof x !== 'string') return [x];
      const p = propertyParams.get(x);
      return p ? [p] : [];
    });
    services.set(key(s.identifier), {
      identifier: s.identifier,
      name: s.name,
      callType: s.callType,
      method: s.method,
      inputData: byIdentifier(inputs),
      outputData: byIdentifier(s.outputData),
    });
  }
  return { properties, events, services };
}
