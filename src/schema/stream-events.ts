import type { FieldRef, ObjectFieldsShape, ObjectRef } from '@pothos/core';
import type { StreamItem } from '../events/stream.ts';
import { builder, type BuilderTypes } from './builder.ts';
import { StreamEventRef } from './refs.ts';

/** The data of the event a stream item carries (the forwarding shape of alink-protocol.md §6). */
export const eventData = (i: StreamItem) => i.event.data as Record<string, unknown>;

type EventFieldBuilder = PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, StreamItem>;

/** An object type of the StreamEvent interface: the events of `types`, their fields read from the event data. */
export function streamEventType(
  name: string,
  options: { description: string; types: readonly string[]; fields: ObjectFieldsShape<BuilderTypes, StreamItem> },
): ObjectRef<BuilderTypes, StreamItem> {
  return builder.objectRef<StreamItem>(name).implement({
    description: options.description,
    interfaces: [StreamEventRef],
    isTypeOf: (i) => options.types.includes((i as StreamItem).event.type),
    fields: options.fields,
  });
}

/** Non-null String fields with the event data's values of the same names, in the order given. */
export function dataStrings<K extends string>(
  t: EventFieldBuilder,
  ...keys: K[]
): Record<K, FieldRef<BuilderTypes, string>> {
  return Object.fromEntries(keys.map((k) => [k, t.string({ resolve: (i) => String(eventData(i)[k]) })])) as Record<
    K,
    FieldRef<BuilderTypes, string>
  >;
}

/** A DateTime field from a millisecond timestamp of the event data. */
export const dataTime = (t: EventFieldBuilder, key: string, description?: string) =>
  t.field({
    type: 'DateTime',
    ...(description ? { description } : {}),
    resolve: (i) => new Date(Number(eventData(i)[key])),
  });

/**
 * A subscription to the events of `types`, in commit order, filtered by product (the gateway's for topology events)
 * and, `byDevice`, device; resumable with `after` (a cursor of a previous event).
 */
export function streamSubscription(
  name: string,
  options: {
    type: ObjectRef<BuilderTypes, StreamItem>;
    description: string;
    types: readonly string[];
    byDevice: boolean;
  },
): void {
  builder.subscriptionField(name, (t) =>
    t.field({
      type: options.type,
      description: options.description,
      args: options.byDevice
        ? { productKey: t.arg.string(), deviceName: t.arg.string(), after: t.arg.string() }
        : { productKey: t.arg.string(), after: t.arg.string() },
      subscribe: (_r, args: { productKey?: string | null; deviceName?: string | null; after?: string | null }, ctx) =>
        ctx.services.streams.open(ctx.principal, {
          types: options.types,
          productKey: args.productKey,
          deviceName: args.deviceName,
          after: args.after,
        }),
      resolve: (i) => i,
    }),
  );
}
