import type { EventRecord, PropertyPoint, SeriesBucket } from '../services/history.ts';
import { builder } from './builder.ts';
import { EventTypeEnum } from './common.ts';
import { deviceArgs, historyFilter, orderArg, rangeArgs } from './history-args.ts';
import { DeviceRef } from './refs.ts';
import { dataStrings, dataTime, eventData as d, streamEventType, streamSubscription } from './stream-events.ts';

const PropertyValueRef = builder
  .objectRef<{ identifier: string; value: unknown; time: Date }>('PropertyValue')
  .implement({
    fields: (t) => ({
      identifier: t.exposeString('identifier'),
      value: t.field({ type: 'JSON', nullable: true, resolve: (v) => v.value as never }),
      time: t.field({ type: 'DateTime', resolve: (v) => v.time }),
    }),
  });

builder.objectField(DeviceRef, 'properties', (t) =>
  t.field({
    type: [PropertyValueRef],
    description: 'The latest value of each property (QueryDevicePropertyStatus).',
    resolve: (dev, _a, ctx) => ctx.services.history.latest(dev.id),
  }),
);

const PropertyPointRef = builder.objectRef<PropertyPoint>('PropertyHistoryPoint').implement({
  fields: (t) => ({
    identifier: t.exposeString('identifier'),
    value: t.field({ type: 'JSON', nullable: true, resolve: (p) => p.value as never }),
    time: t.field({
      type: 'DateTime',
      description: 'Device time (receive time when the post had none).',
      resolve: (p) => p.time,
    }),
  }),
});

const EventPointRef = builder.objectRef<EventRecord>('DeviceEventRecord').implement({
  fields: (t) => ({
    identifier: t.exposeString('identifier'),
    name: t.exposeString('name'),
    eventType: t.field({ type: EventTypeEnum, resolve: (e) => e.eventType.toUpperCase() as 'INFO' }),
    output: t.field({ type: 'JSON', resolve: (e) => e.output as never }),
    time: t.field({ type: 'DateTime', resolve: (e) => e.time }),
  }),
});

const AggregationEnum = builder.enumType('Aggregation', {
  values: ['AVG', 'MIN', 'MAX', 'SUM', 'COUNT', 'FIRST', 'LAST'] as const,
});

const SeriesBucketRef = builder.objectRef<SeriesBucket>('SeriesBucket').implement({
  description: 'One time bucket of a property series. Numeric aggregates are null for non-numeric properties.',
  fields: (t) => ({
    start: t.field({ type: 'DateTime', resolve: (b) => b.start }),
    count: t.exposeInt('count'),
    avg: t.float({ nullable: true, resolve: (b) => b.avg }),
    min: t.float({ nullable: true, resolve: (b) => b.min }),
    max: t.float({ nullable: true, resolve: (b) => b.max }),
    sum: t.float({ nullable: true, resolve: (b) => b.sum }),
    first: t.field({ type: 'JSON', nullable: true, resolve: (b) => b.first as never }),
    last: t.field({ type: 'JSON', nullable: true, resolve: (b) => b.last as never }),
  }),
});

builder.queryFields((t) => ({
  devicePropertyHistory: t.connection({
    type: PropertyPointRef,
    description: 'QueryDevicePropertyData: values of one property in a time range, newest first by default.',
    args: {
      ...deviceArgs(t.arg),
      identifier: t.arg.string({ required: true }),
      ...rangeArgs(t.arg),
      order: orderArg(t.arg),
    },
    resolve: (_r, args, ctx) => ctx.services.history.propertyHistory(ctx.principal, historyFilter(args), args),
  }),
  devicePropertySeries: t.field({
    type: [SeriesBucketRef],
    description:
      'Time buckets of one property for charts; `interval` like "1m", "5m", "1h", "1d". Empty buckets are omitted.',
    args: {
      ...deviceArgs(t.arg),
      identifier: t.arg.string({ required: true }),
      ...rangeArgs(t.arg),
      interval: t.arg.string({ required: true }),
      aggregations: t.arg({
        type: [AggregationEnum],
        description: 'Informational: every aggregate is computed; ask for the fields you need.',
      }),
    },
    resolve: (_r, args, ctx) =>
      ctx.services.history.propertySeries(ctx.principal, { ...historyFilter(args), interval: args.interval }),
  }),
  deviceEventHistory: t.connection({
    type: EventPointRef,
    description: 'QueryDeviceEventData: events a device posted in a time range.',
    args: {
      ...deviceArgs(t.arg),
      identifier: t.arg.string(),
      eventType: t.arg({ type: EventTypeEnum }),
      ...rangeArgs(t.arg),
      order: orderArg(t.arg),
    },
    resolve: (_r, args, ctx) =>
      ctx.services.history.eventHistory(ctx.principal, { ...historyFilter(args), eventType: args.eventType }, args),
  }),
}));

const PropertyPostedRef = streamEventType('DevicePropertyPostedEvent', {
  description: 'alink-protocol.md §6.4 (`/${productKey}/${deviceName}/thing/event/property/post`).',
  types: ['thing.property.post'],
  fields: (t) => ({
    ...dataStrings(t, 'iotId', 'productKey', 'deviceName', 'requestId'),
    items: t.field({
      type: 'JSON',
      description: '{"Identifier": {"value", "time"}} of the valid items.',
      resolve: (i) => d(i).items,
    }),
    checkFailedData: t.field({
      type: 'JSON',
      description: 'Items that failed validation, each {value, time, code, message}.',
      resolve: (i) => d(i).checkFailedData ?? {},
    }),
    receivedAt: dataTime(t, 'gmtCreate'),
  }),
});

const EventPostedRef = streamEventType('DeviceEventPostedEvent', {
  description: 'alink-protocol.md §6.5 (`/${productKey}/${deviceName}/thing/event/${identifier}/post`).',
  types: ['thing.event.post'],
  fields: (t) => ({
    ...dataStrings(t, 'iotId', 'productKey', 'deviceName', 'requestId', 'identifier', 'name'),
    type: t.field({ type: EventTypeEnum, resolve: (i) => String(d(i).type).toUpperCase() as 'INFO' }),
    value: t.field({ type: 'JSON', resolve: (i) => d(i).value }),
    time: dataTime(t, 'time'),
  }),
});

streamSubscription('devicePropertyPosted', {
  type: PropertyPostedRef,
  description: 'Committed property posts, in the forwarding shape. Resumable with `after`.',
  types: ['thing.property.post'],
  byDevice: true,
});

builder.subscriptionFields((t) => ({
  deviceEventPosted: t.field({
    type: EventPostedRef,
    description: 'Committed event posts. Resumable with `after`.',
    args: {
      productKey: t.arg.string(),
      deviceName: t.arg.string(),
      identifier: t.arg.string(),
      eventType: t.arg({ type: EventTypeEnum }),
      after: t.arg.string(),
    },
    subscribe: (_r, args, ctx) => {
      const { identifier, eventType } = args;
      return ctx.services.streams.open(ctx.principal, {
        types: ['thing.event.post'],
        productKey: args.productKey,
        deviceName: args.deviceName,
        after: args.after,
        ...(identifier || eventType
          ? {
              where: (e) =>
                (!identifier || e.data.identifier === identifier) &&
                (!eventType || String(e.data.type).toUpperCase() === eventType),
            }
          : {}),
      });
    },
    resolve: (i) => i,
  }),
}));
