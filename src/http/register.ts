import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeviceAuthService } from '../services/device-auth.ts';

const MAX_BODY = 4096;

/**
 * alink-protocol.md §1.6 A: `POST /auth/register/device` (form-encoded productKey, deviceName, random, sign,
 * signMethod) answers `{"code":200,"data":{productKey,deviceName,deviceSecret},"message":"success"}` or the
 * reference's error code.
 */
export function registerRoute(deviceAuth: DeviceAuthService) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if ((req.url ?? '').split('?')[0] !== '/auth/register/device') return false;
    const reply = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      reply(405, { code: 460, message: 'use POST' });
      return true;
    }
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reply(413, { code: 460, message: 'request too large' });
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      const raw = Buffer.concat(chunks).toString('utf8');
      const type = req.headers['content-type'] ?? '';
      let form: Record<string, string>;
      try {
        form = type.includes('application/json')
          ? (JSON.parse(raw) as Record<string, string>)
          : Object.fromEntries(new URLSearchParams(raw));
      } catch {
        return reply(400, { code: 460, message: 'body is neither a form nor JSON' });
      }
      const missing = ['productKey', 'deviceName', 'random', 'sign', 'signMethod'].filter(
        (k) => typeof form[k] !== 'string' || form[k] === '',
      );
      if (missing.length > 0) return reply(400, { code: 460, message: `missing parameters: ${missing.join(', ')}` });
      deviceAuth
        .register({
          productKey: form.productKey!,
          deviceName: form.deviceName!,
          random: form.random!,
          signMethod: form.signMethod!,
          sign: form.sign!,
        })
        .then((r) =>
          r.ok
            ? reply(200, {
                code: 200,
                data: { productKey: r.productKey, deviceName: r.deviceName, deviceSecret: r.deviceSecret },
                message: 'success',
              })
            : reply(200, { code: r.code, message: r.message }),
        )
        .catch(() => reply(500, { code: 500, message: 'internal error' }));
    });
    return true;
  };
}
