import { networkInterfaces } from 'node:os';
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How long a download link in an upgrade push stays valid (the reference's OTA URLs expire after a day). */
export const OTA_LINK_TTL_MS = 24 * 60 * 60 * 1000;

export const FIRMWARE_PATH = '/ota/firmware/';

export interface LinkSigner {
  sign(firmwareId: number, expires: number): string;
  verify(firmwareId: number, expires: number, sig: string): boolean;
}

/** HMAC-SHA256 over `${id}.${expires}`, base64url; compared in constant time. */
export function linkSigner(key: Buffer): LinkSigner {
  const mac = (id: number, expires: number) => createHmac('sha256', key).update(`${id}.${expires}`).digest();
  return {
    sign: (id, expires) => mac(id, expires).toString('base64url'),
    verify(id, expires, sig) {
      const given = Buffer.from(sig, 'base64url');
      const want = mac(id, expires);
      return given.length === want.length && timingSafeEqual(given, want);
    },
  };
}

/** `${base}/ota/firmware/${id}?expires=${ms}&sig=${hmac}`. */
export function firmwareLink(signer: LinkSigner, base: string, firmwareId: number, expires: number): string {
  return `${base.replace(/\/+$/, '')}${FIRMWARE_PATH}${firmwareId}?expires=${expires}&sig=${signer.sign(firmwareId, expires)}`;
}

export type LinkCheck = { ok: true; firmwareId: number } | { ok: false; status: 403 | 404; reason: string };

/** Reads and checks a download request's path and query (403: expired or bad signature; 404: not a firmware path). */
export function checkLink(signer: LinkSigner, url: string, now: number): LinkCheck {
  const u = new URL(url, 'http://x');
  const m = /^\/ota\/firmware\/(\d{1,15})$/.exec(u.pathname);
  if (!m) return { ok: false, status: 404, reason: 'not found' };
  const firmwareId = Number(m[1]);
  const expires = u.searchParams.get('expires') ?? '';
  const sig = u.searchParams.get('sig') ?? '';
  if (!/^\d{1,15}$/.test(expires) || !signer.verify(firmwareId, Number(expires), sig))
    return { ok: false, status: 403, reason: 'bad signature' };
  if (Number(expires) < now) return { ok: false, status: 403, reason: 'link expired' };
  return { ok: true, firmwareId };
}

/** Where the links point when the composition root gives no base: this server's own HTTP listener. */
export function defaultBaseUrl(host: string, port: number): string {
  const h =
    host === '0.0.0.0' || host === '::' || host === ''
      ? firstExternalAddress()
      : host.includes(':')
        ? `[${host}]`
        : host;
  return `http://${h}:${port}`;
}

/**
 * Without PUBLIC_URL and bound to every interface, links name this machine's first non-internal IPv4 address (devices
 * are on the network, not on this host); 127.0.0.1 only when there is none.
 */
function firstExternalAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
