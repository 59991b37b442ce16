import { encodeCursor } from '../events/cursor.ts';
import { builder } from './builder.ts';
import { LifecycleActionEnum, StreamGapRef } from './common.ts';
import { StreamEventRef } from './refs.ts';
import { dataStrings, dataTime, eventData, streamEventType, streamSubscription } from './stream-events.ts';

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
      description:
        'Set on the first event after a resume whose cursor was older than retention: events in between were lost.',
      resolve: (i) =>
        i.gap
          ? {
              requestedAfter: i.gap.requestedAfter,
              firstAvailableCursor: encodeCursor(i.gap.firstAvailablePosition - 1),
            }
          : null,
    }),
  }),
});

const DeviceLifecycleEventRef = streamEventType('DeviceLifecycleEvent', {
  description: 'alink-protocol.md §6.6 (`/${productKey}/${deviceName}/thing/lifecycle`).',
  types: ['device.lifecycle'],
  fields: (t) => ({
    action: t.field({
      type: LifecycleActionEnum,
      resolve: (i) => String(eventData(i).action).toUpperCase() as 'CREATE',
    }),
    ...dataStrings(t, 'iotId', 'productKey', 'deviceName'),
    time: dataTime(t, 'messageCreateTime'),
  }),
});

builder.queryFields((t) => ({
  streamCursor: t.string({
    description:
      'The cursor of the latest committed event. Subscribe with it as `after` to receive everything from this moment on, with nothing lost between a query and the subscription.',
    resolve: (_r, _a, ctx) => ctx.services.streams.headCursor(),
  }),
}));

streamSubscription('deviceLifecycle', {
  type: DeviceLifecycleEventRef,
  description: 'Device create, delete, enable and disable. Resumable: pass the last cursor you saw as `after`.',
  types: ['device.lifecycle'],
  byDevice: false,
});
