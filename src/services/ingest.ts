import { parseBoundedJson } from '../domain/alink/json-limits.ts';
import { parseTopic, ntpResponseTopic } from '../domain/alink/topics.ts';
import type { GroupCommitter, SinkRows } from '../events/committer.ts';
import type { NewEvent } from '../events/types.ts';
import type { Logger } from '../logger.ts';
import type { MessageIds } from './message-ids.ts';
import type { DeviceRef } from './presence.ts';

/** How services send to devices without knowing the broker (architecture.md habit 2). */
export interface DevicePublisher {
  publish(topic: string, payload: Buffer, qos: 0 | 1): Promise<void>;
}

export interface InboundMessage {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
}

/** A reply or notice to send to the device once its message is durable. */
export interface Outbound {
  topic: string;
  /** A function is evaluated at send time (e.g. NTP's serverSendTime). */
  payload: Buffer | (() => Buffer);
  qos: 0 | 1;
}

/** What one pipeline step can add: events and rows for the same commit, and messages to send after it. */
export interface StepResult {
  events: NewEvent[];
  rows?: SinkRows;
  after: Outbound[];
  /** Idempotency key of the request (Alink id + payload hash): a resend is not stored twice. */
  dedupe?: { deviceId: number; key: string; hash: string };
}

/** A handler for one family of topics (TSL posts, NTP, RRPC replies...), registered by later capabilities. */
export type TopicHandler = (ctx: { device: DeviceRef; msg: InboundMessage; receivedAt: Date; messageId: string }) => Promise<StepResult | null>;

/**
 * The upstream pipeline (architecture.md §1), as named steps:
 *   [identify, decode + validate (topic handlers), persist (group commit, with the `device.message` event), ack, reply]
 * The returned promise settles only when the message is committed: the broker sends PUBACK then, and never for data
 * that is not durable. Replies and notices go out after the commit.
 */
export function createIngestService(deps: { committer: GroupCommitter; ids: MessageIds; publisher: () => DevicePublisher; logger: Logger }) {
  const handlers: { match: (topic: string) => boolean; handle: TopicHandler }[] = [];

  /** D16: answer NTP requests with the server's receive and send times. */
  const ntp: TopicHandler = async ({ device, msg, receivedAt }) => {
    let deviceSendTime: unknown = null;
    // Not JSON (or nested too deep to echo): still answered, with deviceSendTime null, so the device can tell.
    const parsed = parseBoundedJson(msg.payload.toString('utf8'));
    if (parsed.ok && typeof parsed.value === 'object' && parsed.value !== null) deviceSendTime = (parsed.value as { deviceSendTime?: unknown }).deviceSendTime ?? null;
    return {
      events: [],
      after: [
        {
          topic: ntpResponseTopic(device.productKey, device.deviceName),
          qos: 0,
          payload: () =>
            Buffer.from(JSON.stringify({ deviceSendTime, serverRecvTime: String(receivedAt.getTime()), serverSendTime: String(Date.now()) })),
        },
      ],
    };
  };
  handlers.push({ match: (t) => parseTopic(t).kind === 'ntpRequest', handle: ntp });

  return {
    /** Later capabilities add their topic handlers here (first match wins). */
    use(match: (topic: string) => boolean, handle: TopicHandler): void {
      handlers.unshift({ match, handle });
    },

    /**
     * Decode, validate and submit to the group commit. Resolves once submitted, with `committed`, which settles when
     * the message is durable (and its replies are on their way). Callers keep a device's messages in order by
     * submitting them one after the other; the commits still group across devices.
     */
    async handle(device: DeviceRef, msg: InboundMessage): Promise<{ committed: Promise<void> }> {
      const receivedAt = new Date();
      const messageId = await deps.ids.take();
      const handler = handlers.find((h) => h.match(msg.topic));
      const step = handler ? await handler.handle({ device, msg, receivedAt, messageId }) : null;
      const message: NewEvent = {
        type: 'device.message',
        productKey: device.productKey,
        deviceName: device.deviceName,
        data: {
          messageId,
          topic: msg.topic,
          qos: msg.qos,
          retain: msg.retain,
          productKey: device.productKey,
          deviceName: device.deviceName,
          iotId: device.iotId,
          payload: msg.payload.toString('base64'),
          receivedAt: receivedAt.getTime(),
        },
      };
      const submitted = deps.committer.submitItem({
        ...(step?.dedupe ? { dedupe: step.dedupe } : {}),
        // A recognised resend is acknowledged and answered again, but stored only once.
        build: (duplicate) => (duplicate ? { events: [] } : { events: [message, ...(step?.events ?? [])], ...(step?.rows ? { rows: step.rows } : {}) }),
      });
      const committed = submitted.then(() => {
        for (const out of step?.after ?? []) {
          const payload = typeof out.payload === 'function' ? out.payload() : out.payload;
          deps.publisher()
            .publish(out.topic, payload, out.qos)
            .catch((err: unknown) => deps.logger.warn({ err, topic: out.topic }, 'reply to device failed'));
        }
      });
      // Callers may attach later; never let a rejection go unhandled meanwhile.
      committed.catch(() => {});
      return { committed };
    },
  };
}

export type IngestService = ReturnType<typeof createIngestService>;
