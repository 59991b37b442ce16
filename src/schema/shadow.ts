import { shadowState } from '../domain/alink/shadow.ts';
import type { ShadowView } from '../services/device-shadow.ts';
import { builder } from './builder.ts';
import { deviceInputFields, mutationField } from './mutation.ts';
import { DeviceRef } from './refs.ts';

/** alink-protocol.md §2.4 device shadow (services/device-shadow.ts). */
const DeviceShadowRef = builder.objectRef<ShadowView>('DeviceShadow').implement({
  description:
    'The device shadow: the JSON document devices read and write on /shadow/update and /shadow/get (alink-protocol.md §2.4).',
  fields: (t) => ({
    version: t.exposeFloat('version', {
      description:
        'An integer (Float: the Node Link SDK writes Date.now()). Every write carries a greater one (else VERSION_CONFLICT / 409); -1 from the device clears the shadow to version 0.',
    }),
    reported: t.field({ type: 'JSON', description: 'What the device reported.', resolve: (s) => s.reported as never }),
    desired: t.field({
      type: 'JSON',
      description: 'What the cloud wants (updateDeviceShadow).',
      resolve: (s) => s.desired as never,
    }),
    metadata: t.field({
      type: 'JSON',
      description:
        '{"reported": {"attr": {"timestamp": s}}, "desired": {...}}: when each attribute was last written (seconds).',
      resolve: (s) => s.metadata as never,
    }),
    document: t.field({
      type: 'JSON',
      description:
        "The reference's shadow document: {state: {reported, desired}, metadata, version} (empty sections left out), as GetDeviceShadow returns it.",
      resolve: (s) => ({ ...shadowState(s), version: s.version }) as never,
    }),
    updatedAt: t.field({ type: 'DateTime', resolve: (s) => s.updatedAt }),
  }),
});

builder.objectFields(DeviceRef, (t) => ({
  shadow: t.field({
    type: DeviceShadowRef,
    nullable: true,
    description: 'The device shadow; null until the device or the cloud first writes it.',
    resolve: (dev, _a, ctx) => ctx.services.shadow.get(dev.id),
  }),
}));

mutationField('updateDeviceShadow', {
  description:
    "UpdateDeviceShadow: change the shadow's desired section; the new document is pushed to the device on /shadow/get/${productKey}/${deviceName} as a `control` message.",
  codes: ['PRODUCT_NOT_FOUND', 'DEVICE_NOT_FOUND', 'INVALID_VALUE', 'INVALID_INPUT', 'VERSION_CONFLICT'],
  inputFields: (t) => ({
    ...deviceInputFields(t),
    desired: t.field({
      type: 'JSON',
      required: true,
      description: 'The desired section: an object (an attribute set to "null" is deleted) or "null" to clear it.',
    }),
    version: t.float({
      required: true,
      description: "The shadow's new version: an integer greater than its current one.",
    }),
    deltaUpdate: t.boolean({
      defaultValue: false,
      description: 'true: merge into desired; false (default): desired is replaced.',
    }),
  }),
  resolve: (input, ctx) => ctx.services.shadow.update(ctx.principal, { ...input, desired: input.desired }),
  outputFields: (t) => ({ shadow: t.expose('shadow', { type: DeviceShadowRef, nullable: true }) }),
});
