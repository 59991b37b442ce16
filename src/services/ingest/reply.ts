import { encodeReply, type IdType } from '../../domain/alink/envelope.ts';
import { replyTopic } from '../../domain/alink/topics.ts';
import type { Outbound, UplinkRequest } from './types.ts';

/** Whom a reply answers: the request's id as read (D10) and whether it asked for a reply (D11 `sys.ack`). */
export interface ReplyTo {
  id?: string | undefined;
  idType?: IdType | undefined;
  ack?: boolean | undefined;
}

export interface ReplyBody {
  code: number;
  data?: unknown;
  /** Omitted when empty. */
  message?: string | undefined;
  method?: string | undefined;
}

/**
 * The one Alink reply builder (§3.2, D10, D11): on `${request topic}_reply`, at the request's QoS (at most 1), in the
 * reference's field order; nothing when the request said `sys.ack: 0`.
 */
export function alinkReply(
  request: Pick<UplinkRequest, 'topic' | 'qos'>,
  to: ReplyTo,
  body: ReplyBody,
  opts: { qos?: 0 | 1 } = {},
): Outbound[] {
  if (to.ack === false) return [];
  return [
    {
      topic: replyTopic(request.topic),
      qos: opts.qos ?? (request.qos >= 1 ? 1 : 0),
      payload: encodeReply({
        ...(to.id !== undefined ? { id: to.id } : {}),
        ...(to.idType !== undefined ? { idType: to.idType } : {}),
        code: body.code,
        data: body.data ?? {},
        ...(body.message ? { message: body.message } : {}),
        ...(body.method !== undefined ? { method: body.method } : {}),
      }),
    },
  ];
}
