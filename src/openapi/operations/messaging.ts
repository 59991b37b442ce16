import { BusinessError } from '../errors.ts';
import {
  call,
  deviceKey,
  productDeviceNames,
  propertyItems,
  requireDevices,
  resolveDevice,
  type Operation,
} from './shared.ts';

/** cloud-api.md §6.1, each on the service its GraphQL mutation uses (one command lifecycle for both). */
const SERVICE_CODES = {
  IDENTIFIER_NOT_FOUND: 'iot.device.InvokeThingServiceFailed',
  INVALID_VALUE: 'iot.device.InvokeThingServiceFailed',
};

/** Per-device failures of a batch the whole call could not avoid (e.g. a disabled device): the first one. */
function batchFailure(
  results: { deviceName: string; userErrors: { code: string; message: string }[] }[],
  codes: Record<string, string> = {},
) {
  const failed = results.find((r) => r.userErrors.length > 0);
  if (!failed) return;
  const e = failed.userErrors[0]!;
  throw new BusinessError(
    codes[e.code] ??
      (e.code === 'DEVICE_DISABLED' ? 'iot.device.InactiveDevice' : 'iot.common.InvalidFormattedParameter'),
    `${failed.deviceName}: ${e.message}`,
  );
}

export const messagingOperations: Record<string, Operation> = {
  Pub: {
    role: 'OPERATOR',
    async run({ params, services, principal }) {
      const productKey = params.req('ProductKey');
      const topicFullName = params.req('TopicFullName');
      const payload = params.req('MessageContent');
      const qos = params.int('Qos', { min: 0, max: 1 }) ?? 0;
      const r = await call(() =>
        services.commands.pub(principal, { productKey, topicFullName, payload, encoding: 'BASE64', qos }),
      );
      return { MessageId: r.messageId };
    },
  },

  RRpc: {
    role: 'OPERATOR',
    async run({ params, services, principal }) {
      const productKey = params.req('ProductKey');
      const deviceName = params.req('DeviceName');
      const payload = params.req('RequestBase64Byte');
      const timeoutMs = params.int('Timeout', { required: true, code: 'iot.messagebroker.InvalidTimeoutValue' })!;
      const topic = params.opt('Topic') ?? null;
      const r = await call(() =>
        services.commands.rrpc(principal, { productKey, deviceName, payload, encoding: 'BASE64', timeoutMs, topic }),
      );
      return {
        // The reference spells ThingQL's UNKNOWN as UNKNOW (cloud-api.md §10).
        RrpcCode: r.rrpcCode === 'UNKNOWN' ? 'UNKNOW' : r.rrpcCode,
        ...(r.rrpcCode === 'SUCCESS' ? { PayloadBase64Byte: r.payloadBase64 ?? '' } : {}),
        MessageId: Number(r.messageId),
      };
    },
  },

  PubBroadcast: {
    role: 'OPERATOR',
    async run({ params, services, principal }) {
      const productKey = params.req('ProductKey');
      const payload = params.req('MessageContent');
      const topicFullName = params.opt('TopicFullName') ?? null;
      const r = await call(() =>
        services.commands.pubBroadcast(principal, { productKey, payload, encoding: 'BASE64', topicFullName }),
      );
      return { MessageId: Number(r.messageId) };
    },
  },

  SetDeviceProperty: {
    role: 'OPERATOR',
    async run(ctx) {
      const d = await resolveDevice(ctx);
      const items = propertyItems(ctx);
      const r = await call(() =>
        ctx.services.thingCommands.setDeviceProperty(ctx.principal, {
          ...deviceKey(d),
          items,
        }),
      );
      return { Data: { MessageId: r.messageId } };
    },
  },

  SetDevicesProperty: {
    role: 'OPERATOR',
    async run(ctx) {
      const { productKey, names } = productDeviceNames(ctx.params);
      const items = propertyItems(ctx);
      await requireDevices(ctx, productKey, names);
      batchFailure(
        await call(() =>
          ctx.services.thingCommands.setDevicesProperty(ctx.principal, { productKey, deviceNames: names, items }),
        ),
      );
      return {};
    },
  },

  InvokeThingService: {
    role: 'OPERATOR',
    async run(ctx) {
      const d = await resolveDevice(ctx);
      const identifier = ctx.params.req('Identifier');
      const args = ctx.params.jsonObject('Args', 'iot.device.InvokeThingServiceFailed');
      const r = await call(
        () =>
          ctx.services.thingCommands.invokeThingService(ctx.principal, {
            ...deviceKey(d),
            identifier,
            args,
            timeoutMs: 5000,
          }),
        SERVICE_CODES,
      );
      if (r.callType === 'ASYNC') return { Data: { MessageId: r.messageId } };
      const data = { Data: { MessageId: r.messageId } };
      if (r.rrpcCode === 'OFFLINE')
        throw new BusinessError('iot.messagebroker.OFFLINE', `device ${d.deviceName} is offline`, data);
      if (r.rrpcCode === 'HALFCONN')
        throw new BusinessError(
          'iot.messagebroker.HALFCONN',
          `device ${d.deviceName} did not take the request (half-open connection)`,
          data,
        );
      if (r.rrpcCode !== 'SUCCESS')
        throw new BusinessError(
          'iot.messagebroker.TIMEOUT',
          `device ${d.deviceName} did not answer within 5000 ms`,
          data,
        );
      if (r.code !== 200) {
        const why =
          r.code === null
            ? 'the device answered with something that is not an Alink reply'
            : `the device answered with code ${r.code}`;
        throw new BusinessError('iot.device.InvokeThingServiceFailed', why, data);
      }
      return { Data: { MessageId: r.messageId, Result: JSON.stringify(r.output ?? {}) } };
    },
  },

  InvokeThingsService: {
    role: 'OPERATOR',
    async run(ctx) {
      const { productKey, names } = productDeviceNames(ctx.params);
      const identifier = ctx.params.req('Identifier');
      const args = ctx.params.jsonObject('Args', 'iot.device.InvokeThingServiceFailed');
      await requireDevices(ctx, productKey, names);
      batchFailure(
        await call(
          () =>
            ctx.services.thingCommands.invokeThingsService(ctx.principal, {
              productKey,
              deviceNames: names,
              identifier,
              args,
            }),
          SERVICE_CODES,
        ),
        SERVICE_CODES,
      );
      return {};
    },
  },

  CreateProductTopic: {
    role: 'OPERATOR',
    async run({ params, services, principal }) {
      const productKey = params.req('ProductKey');
      const topicShortName = params.req('TopicShortName');
      const operation = params.req('Operation');
      if (operation !== 'PUB' && operation !== 'SUB' && operation !== 'ALL') {
        throw new BusinessError('iot.common.InvalidFormattedParameter', 'Operation must be PUB, SUB or ALL');
      }
      const description = params.opt('Desc') ?? null;
      const t = await call(
        () => services.topics.create(principal, { productKey, topicShortName, operation, description }),
        {
          INVALID_NAME: 'iot.messagebroker.InvalidFormattedTopicName',
          TOPIC_LIMIT_EXCEEDED: 'iot.common.ParameterSizeLimit',
        },
      );
      return { TopicId: t.id };
    },
  },
};
