import { ALINK } from '../../../domain/alink/codes.ts';
import { decodeReply } from '../../../domain/alink/envelope.ts';
import type { NewEvent } from '../../../events/types.ts';
import type { ReplyRow } from '../../command-replies.ts';
import type { DeviceIdentity } from '../../presence.ts';
import type { Handled, UplinkHandler, UplinkRequest } from '../types.ts';

function rrpcReply(device: DeviceIdentity, request: UplinkRequest, messageId: string): Handled | null {
  if (!/^\d{1,20}$/.test(messageId)) return null;
  const parsed = decodeReply(request.payload);
  const code = parsed.ok ? parsed.value.code : null;
  const data = parsed.ok ? parsed.value.data : null;
  const payload = request.payload.toString('base64');
  const event: NewEvent = {
    type: 'command.reply',
    productKey: device.productKey,
    deviceName: device.deviceName,
    data: {
      requestId: messageId,
      productKey: device.productKey,
      deviceName: device.deviceName,
      iotId: device.iotId,
      topic: request.topic,
      payload,
      code,
      data,
      gmtCreate: request.receivedAt.getTime(),
    },
  };
  const row: ReplyRow = {
    messageId,
    productKey: device.productKey,
    deviceName: device.deviceName,
    code,
    output: data ?? null,
    payload,
  };
  return { events: [event], rows: { commandReplies: [row] } };
}

/**
 * Device answers (alink-protocol.md §2.5, §3.4, §3.7, §6.7, D12, D13): RRPC responses become `command.reply`
 * events (the waiting `rrpc`/sync service mutation picks them up); replies to async services and property sets
 * become `thing.downlink.reply` events in the reference's forwarding shape.
 */
export function createReplyHandlers() {
  const rrpc: UplinkHandler<'rrpcResponse'> = (device, request) => rrpcReply(device, request, request.uplink.messageId);
  const extRrpc: UplinkHandler<'extRrpcResponse'> = (device, request) =>
    rrpcReply(device, request, request.uplink.messageId);

  const serviceReply: UplinkHandler<'serviceReply'> = (device, request) => {
    const parsed = decodeReply(request.payload);
    const requestTopic = request.topic.slice(0, -'_reply'.length);
    const reply = parsed.ok ? parsed.value : null;
    const requestId = reply?.id ?? (parsed.ok ? undefined : parsed.error.id);
    const code = reply ? reply.code : ALINK.PARAM_ERROR;
    const event: NewEvent = {
      type: 'thing.downlink.reply',
      productKey: device.productKey,
      deviceName: device.deviceName,
      // alink-protocol.md §6.7
      data: {
        gmtCreate: request.receivedAt.getTime(),
        iotId: device.iotId,
        productKey: device.productKey,
        deviceName: device.deviceName,
        requestId: requestId ?? null,
        code,
        message:
          reply?.message ?? (reply ? (code === ALINK.SUCCESS ? 'success' : '') : 'reply is not a valid Alink reply'),
        topic: requestTopic,
        data: reply?.data ?? {},
        payload: request.payload.toString('base64'),
      },
    };
    const replyRows: ReplyRow[] = requestId
      ? [
          {
            messageId: requestId,
            productKey: device.productKey,
            deviceName: device.deviceName,
            code,
            output: reply?.data ?? null,
            payload: null,
          },
        ]
      : [];
    return { events: [event], rows: { commandReplies: replyRows } };
  };

  return { rrpc, extRrpc, serviceReply };
}
