import { isReplyTopic } from '../../domain/alink/topics.ts';
import type { Uplink } from '../../domain/alink/uplink.ts';
import { platformEvent, withPayload, type DeviceMessageData } from '../../events/catalog.ts';
import type { CommitItem, GroupCommitter } from '../../events/committer.ts';
import type { NewEvent } from '../../events/types.ts';
import type { Logger } from '../../logger.ts';
import type { MessageIds } from '../message-ids.ts';
import type { DeviceConnection, DevicePublisher } from '../ports.ts';
import type { DeviceIdentity } from '../presence.ts';
import type { Handled, Outbound, UplinkHandler, UplinkHandlers, UplinkRequest } from './types.ts';

/** A device publish as the broker hands it over, already classified (domain/alink/uplink.ts) and authorised. */
export interface InboundMessage {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  uplink: Uplink;
  connection: DeviceConnection;
}

/** Memory of one queued message besides its payload (request, event and row objects). */
const ITEM_OVERHEAD_BYTES = 2048;

/** The stored copy of every accepted publish (custom topics and /sys/ alike): what forwarding and streams read. */
function messageData(device: DeviceIdentity, request: UplinkRequest): DeviceMessageData {
  const data: DeviceMessageData = {
    messageId: request.messageId,
    topic: request.topic,
    qos: request.qos,
    retain: request.retain,
    productKey: device.productKey,
    deviceName: device.deviceName,
    iotId: device.iotId,
    payload: request.payload.toString('base64'),
    receivedAt: request.receivedAt.getTime(),
  };
  // Readers of this event (GraphQL, rules, topic routes) get these bytes without decoding the base64 again.
  return withPayload(data, request.payload);
}

/**
 * The events of one message, stored once: a valid property post is one `thing.property.post` event carrying its
 * message (events/catalog.ts `messageOf`); every other publish is a `device.message` followed by its handler's events.
 */
function messageEvents(device: DeviceIdentity, request: UplinkRequest, events: NewEvent[]): NewEvent[] {
  const data = messageData(device, request);
  const only = events.length === 1 ? events[0]! : null;
  if (request.uplink.kind === 'propertyPost' && only?.type === 'thing.property.post')
    return [{ ...only, data: { ...only.data, message: data } }];
  return [platformEvent('device.message', device, data), ...events];
}

/**
 * The uplink pipeline (docs/uplink-pipeline.md), as named steps:
 *   [handle (decode + validate, by uplink kind), commit (group commit: the message, its events and rows at once),
 *    committed (after-commit hooks), reply]
 * `handle` resolves once the message is submitted, with `committed`, which settles when it is durable and its
 * replies are on their way: the broker sends PUBACK then, never for data that is not durable.
 */
export function createIngestPipeline(deps: {
  committer: GroupCommitter;
  ids: MessageIds;
  publisher: DevicePublisher;
  handlers: UplinkHandlers;
  logger: Logger;
}) {
  const send = (out: Outbound, connection: DeviceConnection): void => {
    const payload = typeof out.payload === 'function' ? out.payload() : out.payload;
    // A reply goes straight to the connection that asked (broker/deliver.ts); other messages through the broker.
    if (isReplyTopic(out.topic) && connection.reply(out.topic, payload, out.qos)) return;
    deps.publisher
      .publish(out.topic, payload, out.qos)
      .catch((err: unknown) => deps.logger.warn({ err, topic: out.topic }, 'reply to device failed'));
  };

  /** The commit step: one item of the group commit carrying everything the handler produced. */
  function commitItem(
    device: DeviceIdentity,
    request: UplinkRequest,
    h: Handled | null,
    txReplies: Outbound[],
  ): CommitItem {
    const events = messageEvents(device, request, h?.events ?? []);
    const item: CommitItem = {
      // Held until committed: the received bytes, their base64 copy in the event, the parsed values.
      bytes: ITEM_OVERHEAD_BYTES + 3 * request.payload.length,
      // A recognised resend is acknowledged and answered again, but stored only once.
      build: (duplicate) => (duplicate ? { events: [] } : { events, ...(h?.rows ? { rows: h.rows } : {}) }),
    };
    if (h?.dedupe) item.dedupe = h.dedupe;
    const inTx = h?.inTx;
    if (inTx) {
      item.work = async (tx) => {
        txReplies.length = 0; // run again when a grouped transaction is retried item by item
        const r = await inTx(tx);
        if (r?.replies) txReplies.push(...r.replies);
        return r?.events ?? [];
      };
    }
    return item;
  }

  return {
    async handle(device: DeviceIdentity, msg: InboundMessage): Promise<{ committed: Promise<void> }> {
      const request: UplinkRequest = {
        topic: msg.topic,
        payload: msg.payload,
        qos: msg.qos,
        retain: msg.retain,
        uplink: msg.uplink,
        connection: msg.connection,
        receivedAt: new Date(),
        messageId: await deps.ids.take(),
      };
      const handler = deps.handlers[msg.uplink.kind] as UplinkHandler;
      const h = await handler(device, request);
      const txReplies: Outbound[] = [];
      const submitted = deps.committer.commit(commitItem(device, request, h, txReplies));
      const committed = submitted.then(async () => {
        const later = (await h?.committed?.()) ?? [];
        for (const out of [...(h?.replies ?? []), ...txReplies, ...later]) send(out, request.connection);
      });
      // Callers may attach later; never let a rejection go unhandled meanwhile.
      committed.catch(() => {});
      return { committed };
    },
  };
}

export type IngestPipeline = ReturnType<typeof createIngestPipeline>;
