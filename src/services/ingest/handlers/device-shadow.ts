import {
  applyShadowWrite,
  decodeShadowRequest,
  SHADOW,
  shadowDocumentMessage,
  shadowErrorReply,
  shadowWriteReply,
} from '../../../domain/alink/shadow.ts';
import { shadowTopic } from '../../../domain/alink/topics.ts';
import { readShadow, writeShadow } from '../../../db/repositories/shadows.ts';
import { shadowEvent, shadowSeconds } from '../../device-shadow.ts';
import type { Outbound, UplinkHandler } from '../types.ts';

/**
 * The device shadow from the device (alink-protocol.md §2.4, domain/alink/shadow.ts): `/shadow/update/${pk}/${dn}`
 * with the reference's `update`, `get` and `delete`, answered on `/shadow/get/${pk}/${dn}` once the message is
 * durable. Malformed messages are answered at once; `get` reads the document inside the message's commit (so it sees
 * every earlier write); `update` and `delete` lock it, apply the version rule (greater than the current one, else 409)
 * and write it in the same commit, with a `device.shadow` event.
 */
export const shadowUpdateHandler: UplinkHandler<'shadowUpdate'> = (device, request) => {
  const topic = shadowTopic('get', device.productKey, device.deviceName);
  const qos: 0 | 1 = request.qos >= 1 ? 1 : 0;
  const answer = (payload: Buffer): Outbound[] => [{ topic, payload, qos }];
  const decoded = decodeShadowRequest(request.payload);
  if (!decoded.ok) return { replies: answer(shadowErrorReply(decoded.error, shadowSeconds())) };
  const req = decoded.value;
  if (req.method === 'get') {
    return {
      inTx: async (tx) => {
        const doc = await readShadow(tx, device.id);
        const now = shadowSeconds();
        if (!doc)
          return {
            replies: answer(
              shadowErrorReply({ code: SHADOW.SHADOW_EMPTY, message: 'the device has no shadow yet' }, now),
            ),
          };
        return { replies: answer(shadowDocumentMessage('reply', doc, now)) };
      },
    };
  }
  return {
    inTx: async (tx) => {
      const now = shadowSeconds();
      const applied = applyShadowWrite(await readShadow(tx, device.id, true), req, now);
      if (!applied.ok) return { replies: answer(shadowErrorReply(applied.error, now)) };
      await writeShadow(tx, device.id, applied.value);
      return {
        events: [shadowEvent(device, applied.value, 'device', req.method)],
        replies: answer(shadowWriteReply(applied.value.version, now)),
      };
    },
  };
};
