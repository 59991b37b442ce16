import { DomainError } from '../domain/errors.ts';

/** Cursors are opaque to clients (Relay habit): base64url of `e:<position>`. */
export function encodeCursor(position: number): string {
  return Buffer.from(`e:${position}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^e:(\d{1,16})$/.exec(raw);
  if (!m) throw new DomainError('INVALID_CURSOR', `"${cursor}" is not a stream cursor`, ['after']);
  return Number(m[1]);
}
