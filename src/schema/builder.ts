import SchemaBuilder, { PothosValidationError } from '@pothos/core';
import RelayPlugin, { decodeGlobalID } from '@pothos/plugin-relay';
import type { GraphQLContext } from './context.ts';

/** The builder only: no types here (architecture.md habit 5). */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string | number };
    File: { Input: File; Output: never };
  };
}>({
  plugins: [RelayPlugin],
  defaultFieldNullability: false,
  relay: {
    clientMutationId: 'omit',
    // Relay allows both: `nodes` (the edges' nodes, for clients that need no per-edge cursor) and `totalCount`
    // (registered in schema/connections.ts, computed only when selected).
    nodesOnConnection: true,
    cursorType: 'String',
    nodesQueryOptions: false,
    nodeQueryOptions: { description: 'Fetches an object given its global ID.' },
    defaultPayloadTypeOptions: {},
    // A global id naming a type the schema lacks (or a non-object type) is bad input (BAD_USER_INPUT), not the
    // PothosSchemaError the type lookup would raise.
    decodeGlobalID: (globalID) => {
      const decoded = decodeGlobalID(globalID);
      const store = builder.configStore;
      if (
        !store.hasImplementation(decoded.typename) ||
        store.getTypeConfig(decoded.typename).graphqlKind !== 'Object'
      ) {
        throw new PothosValidationError(`Invalid global ID: ${globalID}`);
      }
      return decoded;
    },
  },
});

/** The builder's type parameters, for helpers that take Pothos field builders. */
export type BuilderTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
