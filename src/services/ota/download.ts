import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Database } from '../../db/client.ts';
import { findStoredPackage, readPackageBytes } from '../../db/repositories/ota.ts';
import type { Logger } from '../../logger.ts';
import { checkLink, FIRMWARE_PATH, type LinkSigner } from './links.ts';

/** Bytes read from the database per query while streaming a package: memory stays flat whatever the package size. */
const CHUNK = 1024 * 1024;

export type ByteRange = { start: number; end: number };

/**
 * One `Range: bytes=...` (RFC 9110 §14.1.2) against a body of `size` bytes: a range to send, 'unsatisfiable' (416),
 * or null to send the whole body (no header, several ranges or a malformed one: a server may ignore Range).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

const asBuffer = (v: unknown): Buffer =>
  Buffer.isBuffer(v)
    ? v
    : v instanceof Uint8Array
      ? Buffer.from(v.buffer, v.byteOffset, v.byteLength)
      : Buffer.alloc(0);

async function write(res: ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(chunk)) return true;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/**
 * `GET|HEAD /ota/firmware/${id}?expires=${ms}&sig=${hmac}`: the download link of an upgrade push. A bad signature or
 * an expired link is 403, a firmware that does not exist (or is only registered by URL) 404. Single byte ranges are
 * honoured (206), so devices can resume an interrupted download. The route has the shape of `registerRoute`.
 */
export function firmwareRoute(deps: { database: Database; signer: () => Promise<LinkSigner>; logger: Logger }) {
  const db = deps.database.db;
  const log = deps.logger.child({ module: 'ota-download' });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = (status: number, body: string, headers: Record<string, string> = {}) =>
      void res
        .writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers })
        .end(`${body}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'use GET', { allow: 'GET, HEAD' });
    const link = checkLink(await deps.signer(), req.url ?? '', Date.now());
    if (!link.ok) return text(link.status, link.reason);
    const pkg = await findStoredPackage(db, link.firmwareId);
    if (!pkg) return text(404, 'not found');
    const size = pkg.size;
    const range = parseRange(typeof req.headers.range === 'string' ? req.headers.range : undefined, size);
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      etag: `"${pkg.sha256 || pkg.md5}"`,
      'cache-control': 'private, no-store',
    };
    if (range === 'unsatisfiable') return text(416, 'range not satisfiable', { 'content-range': `bytes */${size}` });
    const { start, end } = range ?? { start: 0, end: size - 1 };
    const length = Math.max(0, end - start + 1);
    headers['content-length'] = String(length);
    if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || length === 0) return void res.end();
    for (let offset = start; offset <= end; offset += CHUNK) {
      const n = Math.min(CHUNK, end - offset + 1);
      const bytes = asBuffer(await readPackageBytes(db, link.firmwareId, offset, n));
      if (bytes.length !== n) throw new Error(`firmware ${link.firmwareId} changed while being served`);
      if (!(await write(res, bytes))) return; // the client went away
    }
    res.end();
  }

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (!(req.url ?? '').startsWith(FIRMWARE_PATH)) return false;
    serve(req, res).catch((err: unknown) => {
      log.warn({ err }, 'firmware download failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
      else res.destroy();
    });
    return true;
  };
}
