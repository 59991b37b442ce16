import type { InputFieldMap, InputShapeFromFields, ObjectFieldsShape } from '@pothos/core';
import type { UserErrorShape } from '../domain/errors.ts';
import { builder, type BuilderTypes as Types } from './builder.ts';
import { codesDescription, UserErrorRef, withUserErrors, type WithUserErrors } from './common.ts';
import type { GraphQLContext } from './context.ts';

/** What a payload's fields read: the result (absent after an expected failure) and the userErrors. */
export type Payload<T> = Partial<T> & WithUserErrors;

export interface MutationOptions<Fields extends InputFieldMap, T extends object> {
  /** The payload's description; the userErrors codes are appended to it (codesDescription). */
  description: string;
  codes: readonly string[];
  inputFields: (t: PothosSchemaTypes.InputFieldBuilder<Types, 'InputObject'>) => Fields;
  /** One service call; its expected failures become userErrors (withUserErrors). */
  resolve: (input: InputShapeFromFields<Fields>, ctx: GraphQLContext) => Promise<T>;
  /**
   * The result carries userErrors of its own (failures beside a partial success): list them after the thrown ones.
   * Without it, a result's `userErrors` key is replaced (withUserErrors).
   */
  resultErrors?: boolean;
  /** The payload's result fields; `userErrors: [UserError!]!` follows them. */
  outputFields: ObjectFieldsShape<Types, Payload<T>>;
}

/**
 * A mutation as graphql-api.md wants it: one `input:` argument (`${Name}Input`) and a `${Name}Payload` with the
 * result fields and `userErrors`, whose description lists the codes.
 */
export function mutationField<Fields extends InputFieldMap, T extends object>(
  name: string,
  options: MutationOptions<Fields, T>,
): void {
  const resolve = async (input: InputShapeFromFields<Fields>, ctx: GraphQLContext): Promise<Payload<T>> => {
    let reported: UserErrorShape[] = [];
    const r = await withUserErrors(async () => {
      const result = await options.resolve(input, ctx);
      if (!options.resultErrors || !('userErrors' in result)) return result;
      const { userErrors, ...rest } = result as T & WithUserErrors;
      reported = userErrors;
      return rest as T;
    });
    return reported.length === 0 ? r : { ...r, userErrors: [...r.userErrors, ...reported] };
  };
  // Typed casts: Pothos' resolver types stay unresolved for generic input fields and payload shapes.
  builder.relayMutationField<Fields, false, Payload<T>, Payload<T>, []>(
    name,
    { inputFields: options.inputFields },
    {
      resolve: ((_root: unknown, args: { input: InputShapeFromFields<Fields> }, ctx: GraphQLContext) =>
        resolve(args.input, ctx)) as never,
    },
    {
      description: codesDescription(options.description, [...options.codes]),
      outputFields: (t) => ({
        ...options.outputFields(t),
        userErrors: t.field({ type: [UserErrorRef], resolve: (r) => r.userErrors }),
      }),
    },
  );
}

/** The field builder of a payload whose result is `T`, for payload field sets shared by several mutations. */
export type PayloadFieldBuilder<T> = PothosSchemaTypes.ObjectFieldBuilder<Types, Payload<T>>;

/** The input fields naming one device, first in every input that acts on one. */
export const deviceInputFields = (t: PothosSchemaTypes.InputFieldBuilder<Types, 'InputObject'>) => ({
  productKey: t.string({ required: true }),
  deviceName: t.string({ required: true }),
});

/**
 * A delete mutation named by one key: input `{ <key>: String! }`, payload `{ <deleted>: String }` (the key of what was
 * deleted, absent after an expected failure).
 */
export function deleteByKeyMutation(
  name: string,
  o: {
    description: string;
    codes: readonly string[];
    key: string;
    deleted: string;
    resolve: (key: string, ctx: GraphQLContext) => Promise<string>;
  },
): void {
  mutationField(name, {
    description: o.description,
    codes: o.codes,
    inputFields: (t) => ({ [o.key]: t.string({ required: true }) }),
    resolve: async (input, ctx) => ({ [o.deleted]: await o.resolve(input[o.key] as string, ctx) }),
    outputFields: (t) => ({
      [o.deleted]: t.string({ nullable: true, resolve: (r) => (r as Record<string, string | undefined>)[o.deleted] }),
    }),
  });
}
