import { ALINK } from '../../domain/alink/codes.ts';
import { createHash } from 'node:crypto';
import { decodeRequest, type AlinkRequest } from '../../domain/alink/envelope.ts';
import { checkRequestMethod } from '../../domain/alink/method.ts';
import { uplinkPath } from '../../domain/alink/uplink.ts';
import type { DeviceIdentity } from '../presence.ts';
import { alinkReply } from './reply.ts';
import type { DedupeKey, Handled, UplinkRequest } from './types.ts';

/**
 * PostgreSQL text and jsonb cannot hold U+0000 (SQLSTATE 22P05). A request carrying it anywhere (id, identifier,
 * value) would fail its commit on every resend, so it is refused up front like any unusable envelope (D10: 460).
 */
export function containsNul(v: unknown, depth = 0): boolean {
  if (typeof v === 'string') return v.includes('\u0000');
  if (typeof v !== 'object' || v === null || depth > 64) return false;
  if (Array.isArray(v)) return v.some((x) => containsNul(x, depth + 1));
  for (const [k, x] of Object.entries(v)) if (k.includes('\u0000') || containsNul(x, depth + 1)) return true;
  return false;
}

export type Decoded = { req: AlinkRequest; fail?: undefined } | { fail: Handled; req?: undefined };

/**
 * The shared decode step of Alink requests: envelope (D10 460), method against the topic (6300), no NUL. A failure
 * comes back as the reply to send (and nothing to store but the message).
 */
export function decodeAlink(request: UplinkRequest, opts: { checkMethod?: boolean } = {}): Decoded {
  const decoded = decodeRequest(request.payload);
  if (!decoded.ok) {
    const e = decoded.error;
    return { fail: { replies: alinkReply(request, e, { code: e.code, message: e.message, method: e.method }) } };
  }
  const req = decoded.value;
  if (opts.checkMethod !== false) {
    const m = checkRequestMethod(uplinkPath(request.uplink) as string[], req.method);
    if (!m.ok)
      return {
        fail: {
          replies: alinkReply(request, req, { code: m.error.code, message: m.error.message, method: req.method }),
        },
      };
  }
  if (containsNul(req.id) || containsNul(req.params)) {
    return {
      fail: {
        replies: alinkReply(request, req, {
          code: ALINK.PARAM_ERROR,
          message: 'request parameter error: text containing U+0000 cannot be stored',
          method: req.method,
        }),
      },
    };
  }
  return { req };
}

/** A resend of the same request (same device, id and payload) is recognised by this key. */
export function dedupeKey(device: DeviceIdentity, req: AlinkRequest, request: UplinkRequest): DedupeKey {
  return { deviceId: device.id, key: req.id, hash: createHash('sha1').update(request.payload).digest('base64') };
}
