/** Compiles a validated TSL document into the lookup form used on the message path (alink-protocol.md §4). */
import type { CompiledEvent, CompiledProperty, CompiledService, ThingModel, TslDocument, TslParam } from './types.ts';

const byIdentifier = (params: TslParam[]): Map<string, TslParam> => new Map(params.map((p) => [p.identifier, p]));

/** What every compiled feature keeps of its definition first: identifier and name. */
const named = (f: { identifier: string; name: string }) => ({ identifier: f.identifier, name: f.name });

/**
 * With `moduleId`, feature keys are `${moduleId}:${identifier}`, the form messages use for custom modules
 * (alink-protocol.md §3.3), so validators look identifiers up as sent.
 */
export function compileThingModel(doc: TslDocument, moduleId?: string): ThingModel {
  /** Features by the key messages name them with, in document order. */
  const byKey = <F extends { identifier: string }, C>(features: F[], compile: (f: F) => C): Map<string, C> =>
    new Map(features.map((f) => [moduleId === undefined ? f.identifier : `${moduleId}:${f.identifier}`, compile(f)]));
  const propertyParams = byIdentifier(doc.properties);
  const properties = byKey(
    doc.properties,
    (p): CompiledProperty => ({ ...named(p), accessMode: p.accessMode, required: p.required, dataType: p.dataType }),
  );
  const events = byKey(
    doc.events,
    (e): CompiledEvent => ({ ...named(e), type: e.type, method: e.method, outputData: byIdentifier(e.outputData) }),
  );
  const services = byKey(doc.services, (s): CompiledService => {
    // The default `get` lists property identifiers: resolve them to the property definitions.
    const inputs: TslParam[] = s.inputData.flatMap((x: TslParam | string) => {
      if (typeof x !== 'string') return [x];
      const p = propertyParams.get(x);
      return p ? [p] : [];
    });
    return {
      ...named(s),
      callType: s.callType,
      method: s.method,
      inputData: byIdentifier(inputs),
      outputData: byIdentifier(s.outputData),
    };
  });
  return { properties, events, services };
}
