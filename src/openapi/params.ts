import type { IncomingMessage } from 'node:http';
import { BusinessError, bodyTooLarge, missing, RequestError } from './errors.ts';

/**
 * Request parameters (cloud-api.md §1): the query string and, for `application/x-www-form-urlencoded` bodies, the
 * form body, merged. Standard URL decoding; `+` means space only in the form body.
 */
function decode(s: string, plusIsSpace: boolean): string {
  const t = plusIsSpace ? s.replace(/\+/g, ' ') : s;
  try {
    return decodeURIComponent(t);
  } catch {
    throw new RequestError('InvalidParameter', 400, `Malformed percent-encoding in ${JSON.stringify(s.slice(0, 64))}.`);
  }
}

export function parseUrlEncoded(
  s: string,
  plusIsSpace: boolean,
  into = new Map<string, string>(),
): Map<string, string> {
  if (s.length === 0) return into;
  for (const pair of s.split('&')) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq), plusIsSpace);
    into.set(name, eq < 0 ? '' : decode(pair.slice(eq + 1), plusIsSpace));
  }
  return into;
}

/** The raw body, at most `limit` bytes (the SDK may send it chunked, without Content-Length). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(bodyTooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(bodyTooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    // A client that goes away mid-body: nothing to answer, but nothing may wait forever either.
    req.on('close', () => {
      if (!req.complete) reject(new RequestError('IncompleteBody', 400, 'The request body ended early.'));
    });
  });
}

export const isFormBody = (req: IncomingMessage): boolean =>
  /^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '');

/** Typed access to an operation's parameters; required ones raise `Missing<Name>`, bad ones a business error. */
export class Params {
  constructor(readonly all: ReadonlyMap<string, string>) {}

  opt(name: string): string | undefined {
    const v = this.all.get(name);
    return v === undefined || v === '' ? undefined : v;
  }

  req(name: string): string {
    const v = this.opt(name);
    if (v === undefined) throw missing(name);
    return v;
  }

  /** A whole number (`null` when absent); `code` names the business error for a bad value. */
  int(name: string, opts: { required?: boolean; min?: number; max?: number; code?: string } = {}): number | null {
    const raw = opts.required ? this.req(name) : this.opt(name);
    if (raw === undefined) return null;
    const n = /^-?\d{1,16}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
    if (
      !Number.isSafeInteger(n) ||
      (opts.min !== undefined && n < opts.min) ||
      (opts.max !== undefined && n > opts.max)
    ) {
      const range = opts.min !== undefined && opts.max !== undefined ? ` (${opts.min} to ${opts.max})` : '';
      throw new BusinessError(
        opts.code ?? 'iot.common.InvalidFormattedParameter',
        `${name} must be a whole number${range}; got ${JSON.stringify(raw.slice(0, 40))}`,
      );
    }
    return n;
  }

  bool(name: string): boolean | null {
    const raw = this.opt(name);
    if (raw === undefined) return null;
    if (/^(true|1)$/i.test(raw)) return true;
    if (/^(false|0)$/i.test(raw)) return false;
    throw new BusinessError('iot.common.InvalidFormattedParameter', `${name} must be true or false`);
  }

  /** A list flattened with 1-based suffixes (`DeviceName.1=a&DeviceName.2=b`), in index order. */
  list(name: string): string[] {
    const prefix = `${name}.`;
    const items: [number, string][] = [];
    for (const [k, v] of this.all) {
      if (!k.startsWith(prefix)) continue;
      const i = Number(k.slice(prefix.length));
      if (Number.isInteger(i) && i >= 1 && v !== '') items.push([i, v]);
    }
    return items.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }

  /** A JSON object given as a string (`Items`, `Args`, `Versions`); `code` names the business error when it is not. */
  jsonObject(name: string, code: string): Record<string, unknown> {
    const raw = this.req(name);
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw new BusinessError(code, `${name} is not valid JSON`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw new BusinessError(code, `${name} must be a JSON object`);
    return v as Record<string, unknown>;
  }
}
