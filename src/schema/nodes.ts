import type { GraphQLContext } from './context.ts';

/**
 * The Relay node options of a record with a numeric id: its global id, loading it back for `node(id)`, and, with
 * `keys`, recognising it by properties only its records have (isTypeOf, for interfaces and unions).
 */
export function recordNode<T extends { id: number }>(
  load: (id: number, ctx: GraphQLContext) => Promise<T | null | undefined>,
  ...keys: string[]
) {
  return {
    id: { resolve: (r: T) => r.id },
    loadOne: (id: string, ctx: GraphQLContext) => load(Number(id), ctx),
    ...(keys.length > 0
      ? { isTypeOf: (v: unknown) => typeof v === 'object' && v !== null && keys.every((k) => k in v) }
      : {}),
  };
}
