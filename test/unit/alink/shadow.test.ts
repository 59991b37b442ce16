import { describe, expect, it } from 'vitest';
import {
  applyShadowWrite,
  decodeShadowRequest,
  emptyShadow,
  SHADOW_LIMITS,
  shadowDocumentMessage,
  type ShadowDocument,
} from '../../../src/domain/alink/shadow.ts';

const req = (o: unknown) => decodeShadowRequest(Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)));
const write = (doc: ShadowDocument | null, o: unknown, opts = {}) => {
  const r = req(o);
  if (!r.ok || r.value.method === 'get') throw new Error('not a write');
  return applyShadowWrite(doc, r.value, 1700000000, opts);
};

describe('device shadow rules (alink-protocol.md §2.4)', () => {
  it('decodes the three methods and refuses malformed messages with the reference codes', () => {
    expect(req({ method: 'get' })).toEqual({ ok: true, value: { method: 'get' } });
    expect(req({ method: 'update', state: { reported: { a: 1 } }, version: 2 })).toMatchObject({
      ok: true,
      value: { method: 'update', version: 2, reported: { kind: 'attributes' } },
    });
    expect(req({ method: 'delete', state: { reported: 'null' }, version: 3 })).toMatchObject({
      ok: true,
      value: { reported: { kind: 'clear' } },
    });
    const code = (o: unknown) => (req(o) as { ok: false; error: { code: number } }).error.code;
    expect(code('{')).toBe(400);
    expect(code({ state: {} })).toBe(401);
    expect(code({ method: 'update', version: 1 })).toBe(402);
    expect(code({ method: 'update', state: { reported: { a: 1 } }, version: '1' })).toBe(403);
    expect(code({ method: 'update', state: {}, version: 1 })).toBe(404);
    expect(code({ method: 'update', state: { reported: {} }, version: 1 })).toBe(405);
    expect(code({ method: 'put', state: {}, version: 1 })).toBe(406);
  });

  it('applies versions: greater wins, equal or lower is 409, -1 resets to an empty version 0', () => {
    const v1 = write(null, { method: 'update', state: { reported: { a: 1, b: 2 } }, version: 1 });
    expect(v1).toMatchObject({
      ok: true,
      value: { version: 1, reported: { a: 1, b: 2 }, metadata: { reported: { a: { timestamp: 1700000000 } } } },
    });
    const doc = (v1 as { ok: true; value: ShadowDocument }).value;
    expect(write(doc, { method: 'update', state: { reported: { a: 5 } }, version: 1 })).toMatchObject({
      ok: false,
      error: { code: 409 },
    });
    expect(write(doc, { method: 'update', state: { reported: { a: 'null' } }, version: 2 })).toMatchObject({
      ok: true,
      value: { reported: { b: 2 } },
    });
    expect(write(doc, { method: 'delete', state: { reported: { b: 'x' } }, version: 2 })).toMatchObject({
      ok: true,
      value: { reported: { a: 1 } },
    });
    expect(write(doc, { method: 'update', state: { reported: { z: 1 } }, version: -1 })).toEqual({
      ok: true,
      value: emptyShadow(),
    });
    // The cloud's desired: replaced without delta, merged with it.
    const withDesired = (
      write(doc, { method: 'update', state: { desired: { x: 1 } }, version: 2 }) as { ok: true; value: ShadowDocument }
    ).value;
    expect(
      write(withDesired, { method: 'update', state: { desired: { y: 2 } }, version: 3 }, { replaceDesired: true }),
    ).toMatchObject({ ok: true, value: { desired: { y: 2 } } });
    expect(write(withDesired, { method: 'update', state: { desired: { y: 2 } }, version: 3 })).toMatchObject({
      ok: true,
      value: { desired: { x: 1, y: 2 } },
    });
    expect(JSON.parse(shadowDocumentMessage('control', withDesired, 5).toString())).toEqual({
      method: 'control',
      payload: {
        status: 'success',
        state: { reported: { a: 1, b: 2 }, desired: { x: 1 } },
        metadata: withDesired.metadata,
      },
      version: 2,
      timestamp: 5,
    });
  });

  it(`refuses more than ${SHADOW_LIMITS.attributes} attributes in a section (408)`, () => {
    const many = Object.fromEntries(Array.from({ length: SHADOW_LIMITS.attributes + 1 }, (_, i) => [`k${i}`, i]));
    expect(write(null, { method: 'update', state: { reported: many }, version: 1 })).toMatchObject({
      ok: false,
      error: { code: 408 },
    });
  });
});
