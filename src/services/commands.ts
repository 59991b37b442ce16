import { performance } from 'node:perf_hooks';
import { canPublish, canSubscribe } from '../domain/alink/acl.ts';
import { isValidTopicName } from '../domain/alink/topic-filter.ts';
import {
  broadcastRequestTopic,
  extRrpcServiceTopic,
  extRrpcTopic,
  parseTopic,
  rrpcRequestTopic,
  validateTopicName,
} from '../domain/alink/topics.ts';
import { DomainError } from '../domain/errors.ts';
import { listOnlineDeviceNames } from '../db/repositories/commands.ts';
import type { Principal } from './access.ts';
import type { CoreServiceDeps } from './core-deps.ts';
import {
  createCommandCore,
  decodePayload,
  MAX_BROADCAST,
  rrpcTimeout,
  type PayloadEncoding,
  type RrpcCode,
  alinkServiceOf,
} from './command-core.ts';

export function createCommandService(deps: CoreServiceDeps) {
  const core = createCommandCore(deps);
  const maxPayload = deps.config.MQTT_MAX_PAYLOAD;

  return {
    /**
     * Pub (§5.1): an asynchronous publish to a device's custom topic that the device may receive (SUB or ALL), or to
     * a `/broadcast/` topic of the product. `/sys/` topics are for the thing-model commands (TOPIC_NOT_ALLOWED).
     */
    async pub(
      p: Principal,
      input: {
        productKey: string;
        topicFullName: string;
        payload: string;
        encoding?: PayloadEncoding | null;
        qos?: number | null;
      },
    ) {
      const info = await core.product(p, input.productKey);
      const qos = input.qos ?? 0;
      if (qos !== 0 && qos !== 1) throw new DomainError('INVALID_INPUT', 'qos must be 0 or 1', ['input', 'qos']);
      const payload = decodePayload(input.payload, input.encoding, maxPayload);
      const topic = input.topicFullName;
      const field = ['input', 'topicFullName'];
      if (!isValidTopicName(topic))
        throw new DomainError('TOPIC_NOT_ALLOWED', `"${topic}" is not a valid topic name`, field);
      const t = parseTopic(topic);
      let deviceName: string | null = null;
      if (t.kind === 'custom' && t.productKey === input.productKey) {
        const named = validateTopicName(topic);
        if (!named.ok)
          throw new DomainError('TOPIC_NOT_ALLOWED', `${topic}: ${named.error} (alink-protocol.md §2.1)`, field);
        // The target device must be allowed to subscribe to it (its category is SUB or ALL).
        if (!canSubscribe({ productKey: t.productKey, deviceName: t.deviceName }, topic, info.categories)) {
          throw new DomainError(
            'TOPIC_NOT_ALLOWED',
            `${topic} is not a topic devices may receive (category missing or PUB only)`,
            field,
          );
        }
        deviceName = (await core.device(input.productKey, t.deviceName, field)).deviceName;
      } else if (!(t.kind === 'broadcast' && t.productKey === input.productKey)) {
        throw new DomainError(
          'TOPIC_NOT_ALLOWED',
          `pub takes custom topics /${input.productKey}/<device>/user/... or /broadcast/${input.productKey}/...; use setDeviceProperty / invokeThingService for /sys/ topics`,
          field,
        );
      }
      const messageId = await deps.ids.take();
      await core.record({
        messageId,
        kind: 'PUB',
        productKey: input.productKey,
        deviceName,
        topic,
        input: { qos, bytes: payload.length },
        status: 'SENT',
      });
      await deps.publisher.publish(topic, payload, qos);
      return { messageId };
    },

    /** RRpc (§2.5, §5.1, D13): synchronous request/response with the device. */
    async rrpc(
      p: Principal,
      input: {
        productKey: string;
        deviceName: string;
        payload: string;
        encoding?: PayloadEncoding | null;
        timeoutMs?: number | null;
        topic?: string | null;
      },
    ) {
      const startedAt = performance.now();
      const info = await core.product(p, input.productKey);
      const timeoutMs = rrpcTimeout(input.timeoutMs);
      const payload = decodePayload(input.payload, input.encoding, maxPayload);
      const d = await core.device(input.productKey, input.deviceName);
      let custom: string | null = null;
      if (input.topic != null) {
        const t = parseTopic(input.topic);
        const own = { productKey: d.productKey, deviceName: d.deviceName };
        if (
          t.kind !== 'custom' ||
          t.productKey !== d.productKey ||
          t.deviceName !== d.deviceName ||
          !(canSubscribe(own, input.topic, info.categories) || canPublish(own, input.topic, info.categories))
        ) {
          throw new DomainError(
            'TOPIC_NOT_ALLOWED',
            `custom RRPC takes one of the device's own custom topics (/${d.productKey}/${d.deviceName}/user/...)`,
            ['input', 'topic'],
          );
        }
        custom = input.topic;
      }
      const messageId = await deps.ids.take();
      // D21: for an `ext=1` session, a system RRPC that carries an Alink service call goes where that SDK takes sync
      // services (it has no handler for /sys/.../rrpc/request/+); anything else keeps the system RRPC topic (D12).
      const service = custom || d.rrpcForm !== 'ext' ? null : alinkServiceOf(payload);
      const topic = custom
        ? extRrpcTopic(messageId, custom)
        : service
          ? extRrpcServiceTopic(messageId, d.productKey, d.deviceName, service)
          : rrpcRequestTopic(d.productKey, d.deviceName, messageId);
      if (!d.online) {
        await core.record({
          messageId,
          kind: 'RRPC',
          productKey: d.productKey,
          deviceName: d.deviceName,
          topic,
          status: 'OFFLINE',
        });
        return { rrpcCode: 'OFFLINE' as RrpcCode, messageId, payloadBase64: null };
      }
      const r = await core.roundTrip(
        d,
        messageId,
        topic,
        payload,
        { startedAt, timeoutMs },
        { kind: 'RRPC', input: { bytes: payload.length } },
      );
      return { rrpcCode: r.rrpcCode, messageId, payloadBase64: r.reply?.payload ?? null };
    },

    /**
     * PubBroadcast (§2.6, D14): with a `/broadcast/${pk}/...` topic, to the devices subscribed to it; without, to every
     * online device of the product on `/sys/${pk}/${dn}/broadcast/request/${messageId}`. QoS 0, not stored.
     */
    async pubBroadcast(
      p: Principal,
      input: { productKey: string; payload: string; encoding?: PayloadEncoding | null; topicFullName?: string | null },
    ) {
      await core.product(p, input.productKey);
      const payload = decodePayload(input.payload, input.encoding, Math.min(MAX_BROADCAST, maxPayload));
      const messageId = await deps.ids.take();
      if (input.topicFullName != null) {
        const t = parseTopic(input.topicFullName);
        if (t.kind !== 'broadcast' || t.productKey !== input.productKey || !isValidTopicName(input.topicFullName)) {
          throw new DomainError(
            'TOPIC_NOT_ALLOWED',
            `broadcast topics look like /broadcast/${input.productKey}/<suffix>`,
            ['input', 'topicFullName'],
          );
        }
        await core.record({
          messageId,
          kind: 'BROADCAST',
          productKey: input.productKey,
          deviceName: null,
          topic: input.topicFullName,
          status: 'SENT',
        });
        await deps.publisher.publish(input.topicFullName, payload, 0);
        return { messageId };
      }
      await core.record({
        messageId,
        kind: 'BROADCAST',
        productKey: input.productKey,
        deviceName: null,
        topic: `/sys/${input.productKey}/+/broadcast/request/${messageId}`,
        status: 'SENT',
      });
      const online = await listOnlineDeviceNames(deps.database.db, input.productKey);
      await Promise.all(
        online.map((deviceName) =>
          deps.publisher.publish(broadcastRequestTopic(input.productKey, deviceName, messageId), payload, 0),
        ),
      );
      return { messageId };
    },
  };
}

export type CommandService = ReturnType<typeof createCommandService>;
