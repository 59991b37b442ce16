import { performance } from 'node:perf_hooks';
import { ALINK } from '../domain/alink/codes.ts';
import { encodeRequest } from '../domain/alink/envelope.ts';
import { extRrpcServiceTopic, rrpcRequestTopic, sysTopic } from '../domain/alink/topics.ts';
import { validatePropertySet, validateServiceInput, validateServiceOutput } from '../domain/tsl/commands.ts';
import { DomainError, DomainErrors, type UserErrorShape } from '../domain/errors.ts';
import type { NewEvent } from '../events/types.ts';
import type { Principal } from './access.ts';
import { createCommandCore, rrpcTimeout, type RrpcCode } from './command-core.ts';
import type { CoreServiceDeps } from './core-deps.ts';
import type { ProductInfo } from './product-cache.ts';
import type { DeviceRecord } from '../db/records.ts';

/** alink-protocol.md §5.2: SetDevicesProperty / InvokeThingsService take at most 100 devices. */
export const MAX_BATCH_DEVICES = 100;

export interface BatchResult {
  deviceName: string;
  messageId: string | null;
  userErrors: UserErrorShape[];
}

/** Where a sync service call goes: the session's RRPC form (D12 or D21), as its presence row records it. */
export const syncServiceTopic = (
  d: Pick<DeviceRecord, 'productKey' | 'deviceName' | 'rrpcForm'>,
  messageId: string,
  identifier: string,
): string =>
  d.rrpcForm === 'ext'
    ? extRrpcServiceTopic(messageId, d.productKey, d.deviceName, identifier)
    : rrpcRequestTopic(d.productKey, d.deviceName, messageId);

/** A command the device could not be sent right now: the reference's downlink reply with 9201 (§3.10, §6.7). */
function offlineReply(d: DeviceRecord, messageId: string, topic: string): NewEvent {
  return {
    type: 'thing.downlink.reply',
    productKey: d.productKey,
    deviceName: d.deviceName,
    data: {
      gmtCreate: Date.now(),
      iotId: d.iotId,
      productKey: d.productKey,
      deviceName: d.deviceName,
      requestId: messageId,
      code: ALINK.DEVICE_OFFLINE,
      message: 'device offline; delivered when it reconnects if its session is persistent',
      topic,
      data: {},
    },
  };
}

/**
 * Thing-model commands (§3.4, §3.7, §5.2, D12): property set and service calls, validated against the product's TSL
 * before anything is sent. Async commands go out at QoS 1 (kept for persistent sessions while the device is offline)
 * and their replies arrive as downlink replies; sync services travel over RRPC and wait for the device's answer.
 */
export function createThingCommandService(deps: CoreServiceDeps) {
  const core = createCommandCore(deps);

  function requireAlink(info: ProductInfo) {
    if (info.product.dataFormat === 'CUSTOM') {
      throw new DomainError(
        'UNSUPPORTED_DATA_FORMAT',
        'thing-model commands need an ALINK_JSON product (CUSTOM products take raw data through pub)',
        ['input', 'productKey'],
      );
    }
  }

  function checkItems(info: ProductInfo, items: unknown): void {
    if (info.product.validationMode === 'NONE') {
      if (items === null || typeof items !== 'object' || Array.isArray(items))
        throw new DomainError('INVALID_VALUE', 'items must be a JSON object', ['input', 'items']);
      return;
    }
    const issues = validatePropertySet(info.model, items);
    if (issues.length > 0) {
      throw new DomainErrors(
        issues.map((i) => ({
          code: i.kind,
          message: i.message,
          field: ['input', 'items', ...(i.identifier ? [i.identifier] : [])],
        })),
      );
    }
  }

  function serviceOf(info: ProductInfo, identifier: string, args: unknown) {
    const service = info.model.services.get(identifier);
    if (!service) {
      if (info.product.validationMode === 'NONE')
        return { callType: 'async' as const, method: `thing.service.${identifier}` };
      throw new DomainError('IDENTIFIER_NOT_FOUND', `service ${identifier} is not defined in the thing model`, [
        'input',
        'identifier',
      ]);
    }
    if (info.product.validationMode !== 'NONE') {
      const issues = validateServiceInput(info.model, identifier, args);
      if (issues.length > 0) {
        throw new DomainErrors(
          issues.map((i) => ({
            code: i.code === ALINK.TSL_PARAMS_NOT_EXIST ? 'IDENTIFIER_NOT_FOUND' : 'INVALID_VALUE',
            message: i.message,
            field: ['input', 'args', i.identifier],
          })),
        );
      }
    }
    return { callType: service.callType, method: service.method };
  }

  /** The downstream topic of an async call: property set/get have their own (§2.3), other services thing/service/${id}. */
  const asyncTopic = (d: DeviceRecord, identifier: string) =>
    identifier === 'set' || identifier === 'get'
      ? sysTopic(d.productKey, d.deviceName, `thing/service/property/${identifier}`)
      : sysTopic(d.productKey, d.deviceName, `thing/service/${identifier}`);

  async function sendAsync(
    d: DeviceRecord,
    kind: 'PROPERTY_SET' | 'SERVICE',
    identifier: string,
    method: string,
    params: unknown,
  ): Promise<string> {
    const messageId = await deps.ids.take();
    const topic = asyncTopic(d, identifier);
    await core.record({
      messageId,
      kind,
      productKey: d.productKey,
      deviceName: d.deviceName,
      topic,
      identifier,
      callType: 'ASYNC',
      input: params,
      status: d.online ? 'SENT' : 'OFFLINE',
      ...(d.online ? {} : { extraEvents: [offlineReply(d, messageId, topic)] }),
    });
    await deps.publisher.publish(topic, encodeRequest({ id: messageId, method, params }), 1);
    return messageId;
  }

  async function setProperty(p: Principal, productKey: string, deviceName: string, items: unknown, info?: ProductInfo) {
    const product = info ?? (await core.product(p, productKey));
    requireAlink(product);
    checkItems(product, items);
    const d = await core.device(productKey, deviceName);
    return { messageId: await sendAsync(d, 'PROPERTY_SET', 'set', 'thing.service.property.set', items) };
  }

  async function invoke(
    p: Principal,
    input: { productKey: string; deviceName: string; identifier: string; args?: unknown; timeoutMs?: number | null },
    opts: { wait: boolean; info?: ProductInfo },
  ) {
    const startedAt = performance.now();
    const info = opts.info ?? (await core.product(p, input.productKey));
    requireAlink(info);
    const args = input.args ?? {};
    const timeoutMs = rrpcTimeout(input.timeoutMs);
    const { callType, method } = serviceOf(info, input.identifier, args);
    const d = await core.device(input.productKey, input.deviceName);
    if (callType === 'async') {
      const kind = input.identifier === 'set' ? 'PROPERTY_SET' : 'SERVICE';
      return {
        callType: 'ASYNC' as const,
        messageId: await sendAsync(d, kind, input.identifier, method, args),
        code: null,
        output: null,
        rrpcCode: null,
        userErrors: [],
      };
    }
    // D12: synchronous services travel over the system RRPC topic with an Alink request, in a batch too (sent, not
    // awaited): a Link SDK device answers a sync service only on the RRPC response topic of the request it got
    // (SDK 1.2.8 `reply(..., 'sync')` answers on rrpc/response/${the last RRPC id seen for that service}).
    // D21: a session that logged in with `ext=1` (Python Link SDK, C SDK 4.x) takes them on /ext/rrpc/${id}/sys/...
    // and answers there; the reply handler takes both (command-replies.ts).
    const messageId = await deps.ids.take();
    const topic = syncServiceTopic(d, messageId, input.identifier);
    const rec = { kind: 'SERVICE', identifier: input.identifier, callType: 'SYNC', input: args };
    const at = { messageId, productKey: d.productKey, deviceName: d.deviceName, topic };
    if (!d.online) {
      // RRPC is not kept for offline devices (QoS 0): the batch learns it as the reference's 9201 downlink reply.
      const extraEvents = opts.wait
        ? []
        : [offlineReply(d, messageId, sysTopic(d.productKey, d.deviceName, `thing/service/${input.identifier}`))];
      await core.record({ ...rec, ...at, status: 'OFFLINE', extraEvents });
      return {
        callType: 'SYNC' as const,
        messageId,
        code: null,
        output: null,
        rrpcCode: 'OFFLINE' as RrpcCode,
        userErrors: [],
      };
    }
    if (!opts.wait) {
      await core.record({ ...rec, ...at, status: 'SENT' });
      await deps.publisher.publish(topic, encodeRequest({ id: messageId, method, params: args }), 0);
      return { callType: 'SYNC' as const, messageId, code: null, output: null, rrpcCode: null, userErrors: [] };
    }
    const r = await core.roundTrip(
      d,
      messageId,
      topic,
      encodeRequest({ id: messageId, method, params: args }),
      { startedAt, timeoutMs },
      rec,
    );
    if (!r.reply)
      return { callType: 'SYNC' as const, messageId, code: null, output: null, rrpcCode: r.rrpcCode, userErrors: [] };
    const output = r.reply.data ?? null;
    const userErrors: UserErrorShape[] = [];
    if (r.reply.code === null) {
      userErrors.push({
        code: 'INVALID_REPLY',
        message: 'the device answered with something that is not an Alink reply',
        field: ['output'],
      });
    } else if (r.reply.code === ALINK.SUCCESS && info.product.validationMode !== 'NONE') {
      for (const i of validateServiceOutput(info.model, input.identifier, output ?? undefined)) {
        userErrors.push({ code: 'INVALID_OUTPUT', message: i.message, field: ['output', i.identifier] });
      }
    }
    return { callType: 'SYNC' as const, messageId, code: r.reply.code, output, rrpcCode: r.rrpcCode, userErrors };
  }

  async function batch(
    p: Principal,
    productKey: string,
    deviceNames: readonly string[],
    one: (info: ProductInfo, dn: string) => Promise<string>,
  ): Promise<BatchResult[]> {
    const info = await core.product(p, productKey);
    if (deviceNames.length < 1 || deviceNames.length > MAX_BATCH_DEVICES) {
      throw new DomainError('INVALID_INPUT', `pass 1 to ${MAX_BATCH_DEVICES} device names`, ['input', 'deviceNames']);
    }
    return Promise.all(
      deviceNames.map(async (deviceName): Promise<BatchResult> => {
        try {
          return { deviceName, messageId: await one(info, deviceName), userErrors: [] };
        } catch (e) {
          if (e instanceof DomainError)
            return {
              deviceName,
              messageId: null,
              userErrors: [{ code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) }],
            };
          if (e instanceof DomainErrors) return { deviceName, messageId: null, userErrors: e.errors };
          throw e;
        }
      }),
    );
  }

  return {
    setDeviceProperty: (p: Principal, input: { productKey: string; deviceName: string; items: unknown }) =>
      setProperty(p, input.productKey, input.deviceName, input.items),

    async setDevicesProperty(
      p: Principal,
      input: { productKey: string; deviceNames: readonly string[]; items: unknown },
    ) {
      // The items are checked once, before anything is sent to any device.
      const info = await core.product(p, input.productKey);
      requireAlink(info);
      checkItems(info, input.items);
      return batch(
        p,
        input.productKey,
        input.deviceNames,
        async (i, dn) => (await setProperty(p, input.productKey, dn, input.items, i)).messageId,
      );
    },

    invokeThingService: (
      p: Principal,
      input: { productKey: string; deviceName: string; identifier: string; args?: unknown; timeoutMs?: number | null },
    ) => invoke(p, input, { wait: true }),

    /** InvokeThingsService is asynchronous (§5.2): every call returns its message id; sync services are sent, not awaited. */
    async invokeThingsService(
      p: Principal,
      input: { productKey: string; deviceNames: readonly string[]; identifier: string; args?: unknown },
    ) {
      const info = await core.product(p, input.productKey);
      requireAlink(info);
      serviceOf(info, input.identifier, input.args ?? {});
      return batch(
        p,
        input.productKey,
        input.deviceNames,
        async (i, dn) => (await invoke(p, { ...input, deviceName: dn }, { wait: false, info: i })).messageId,
      );
    },
  };
}

export type ThingCommandService = ReturnType<typeof createThingCommandService>;
