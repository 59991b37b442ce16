import { encodeCursor } from '../events/cursor.ts';
import type { StreamItem } from '../events/stream.ts';
import { builder } from './builder.ts';
import { LifecycleActionEnum, StreamGapRef } from './common.ts';
import { StreamEventRef } from './refs.ts';

const d = (i: StreamItem) => i.event.data as Record<string, string | number>;

StreamEventRef.implement({
  description: 'Every subscription event: its position in the event log and, after a retention gap, the gap notice.',
  fields: (t) => ({
    cursor: t.string({
      description: 'Position in the event log: pass it as `after` to resume right after this event.',
      resolve: (i) => encodeCursor(i.event.position),
    }),
    gap: t.field({
      type: StreamGapRef,
      nullable: true,
      description: 'Set on the first event after a resume whose cursor was older than retention: events in between were lost.',
      resolve: (i) =>
        i.gap ? { requestedAfter: i.gap.requestedAfter, firstAvailableCursor: encodeCursor(i.gap.firstAvailablePosition - 1) } : null,
    }),
  }),
});

const DeviceLifecycleEventRef = builder.objectRef<StreamItem>('DeviceLifecycleEvent').implement({
  description: 'alink-protocol.md §6.6 (`/${productKey}/${deviceName}/thing/lifecycle`).',
  interfaces: [StreamEventRef],
  isTypeOf: (i) => (i as StreamItem).event.type === 'device.lifecycle',
  fields: (t) => ({
    action: t.field({ type: LifecycleActionEnum, resolve: (i) => String(d(i).action).toUpperCase() as 'CREATE' }),
    iotId: t.string({ resolve: (i) => String(d(i).iotId) }),
    productKey: t.string({ resolve: (i) => String(d(i).productKey) }),
    deviceName: t.string({ resolve: (i) => String(d(i).deviceName) }),
    time: t.field({ type: 'DateTime', resolve: (i) => new Date(Number(d(i).messageCreateTime)) }),
  }),
});

builder.queryFields((t) => ({
  streamCursor: t.string({
    description:
      'The cursor of the latest committed event. Subscribe with it as `after` to receive everything from this moment on, with nothing lost between a query and the subscription.',
    resolve: (_r, _a, ctx) => ctx.services.streams.headCursor(),
  }),
}));

builder.subscriptionFields((t) => ({
  deviceLifecycle: t.field({
    type: DeviceLifecycleEventRef,
    description: 'Device create, delete, enable and disable. Resumable: pass the last cursor you saw as `after`.',
    args: { productKey: t.arg.string(), after: t.arg.string() },
    subscribe: (_r, args, ctx) => ctx.services.streams.open(ctx.principal, { types: ['device.lifecycle'], productKey: args.productKey, after: args.after }),
    resolve: (i) => i,
  }),
}));
