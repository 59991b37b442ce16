import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALINK } from '../../../src/domain/alink/codes.ts';
import {
  API_CODES,
  ApiCode,
  ApiError,
  alinkCodeOf,
  DeviceLookupError,
  DomainError,
  DomainErrors,
  ForbiddenError,
  isApiCode,
  meaningOf,
  PageSizeError,
} from '../../../src/domain/errors.ts';
import { ForbiddenError as ForbiddenFromServices } from '../../../src/services/access.ts';
import { PageSizeError as PageSizeFromServices } from '../../../src/services/paging.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('the API code table', () => {
  it('names every code after itself, in SCREAMING_SNAKE, with a one-line meaning', () => {
    expect(API_CODES.length).toBeGreaterThan(50);
    for (const code of API_CODES) {
      expect(ApiCode[code]).toBe(code);
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(isApiCode(code)).toBe(true);
      expect(meaningOf(code).length).toBeGreaterThan(10);
      expect(meaningOf(code)).not.toContain('\n');
    }
  });

  it('knows the codes graphql-api.md promises in userErrors', () => {
    const promised = [
      'PRODUCT_NOT_FOUND',
      'DEVICE_NOT_FOUND',
      'PRODUCT_ALREADY_EXISTS',
      'DEVICE_ALREADY_EXISTS',
      'INVALID_TSL',
      'INVALID_NAME',
      'PROPERTY_NOT_WRITABLE',
      'IDENTIFIER_NOT_FOUND',
      'INVALID_VALUE',
      'TOPIC_NOT_ALLOWED',
      'DEVICE_OFFLINE',
      'DEVICE_DISABLED',
      'PAYLOAD_TOO_LARGE',
      'TIMEOUT_OUT_OF_RANGE',
      'PRODUCT_HAS_DEVICES',
      'INVALID_SQL',
    ];
    for (const code of promised) expect(isApiCode(code), code).toBe(true);
  });

  it('refuses strings that are not codes, inherited object keys included', () => {
    for (const s of ['', 'not_found', 'NOPE', 'toString', 'constructor', '__proto__'])
      expect(isApiCode(s), s).toBe(false);
  });

  it('holds every code a source file raises as a userError literal', () => {
    const literals = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirRecursive(dir)) {
        const text = readFileSync(entry, 'utf8');
        for (const m of text.matchAll(/DomainError\(\s*'([A-Z_]+)'/g)) literals.add(m[1]!);
        for (const m of text.matchAll(/\{ code: '([A-Z_]+)', message:/g)) literals.add(m[1]!);
      }
    };
    walk(path.join(ROOT, 'src'));
    expect(literals.size).toBeGreaterThan(30);
    for (const code of literals) expect(isApiCode(code), code).toBe(true);
  });

  it('gives an Alink code only where one applies, from the ALINK table', () => {
    const wire = new Set<number>(Object.values(ALINK));
    for (const code of API_CODES) {
      const a = alinkCodeOf(code);
      if (a !== undefined) expect(wire.has(a), code).toBe(true);
    }
    expect(alinkCodeOf('DEVICE_NOT_FOUND')).toBe(ALINK.DEVICE_NOT_FOUND);
    expect(alinkCodeOf('PRODUCT_NOT_FOUND')).toBe(ALINK.PRODUCT_NOT_FOUND);
    expect(alinkCodeOf('DEVICE_DISABLED')).toBe(ALINK.DEVICE_DISABLED);
    expect(alinkCodeOf('INVALID_TSL')).toBeUndefined();
  });

  it('is documented row by row in docs/errors.md', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
    for (const code of API_CODES) expect(doc, code).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });
});

describe('the error hierarchy', () => {
  it('carries code, field and Alink code on a DomainError', () => {
    const e = new DomainError('DEVICE_NOT_FOUND', 'device d1 does not exist', ['input', 'deviceName']);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code, e.message, e.field, e.alinkCode]).toEqual([
      'DomainError',
      'DEVICE_NOT_FOUND',
      'device d1 does not exist',
      ['input', 'deviceName'],
      ALINK.DEVICE_NOT_FOUND,
    ]);
  });

  it('keeps the top-level errors out of DomainError, so mutations never turn them into userErrors', () => {
    const top = [new ForbiddenError('no'), new PageSizeError('too many'), new DeviceLookupError()];
    expect(top.map((e) => [e.name, e.code])).toEqual([
      ['ForbiddenError', 'FORBIDDEN'],
      ['PageSizeError', 'INVALID_PAGE_SIZE'],
      ['DeviceLookupError', 'INVALID_DEVICE_LOOKUP'],
    ]);
    for (const e of top) {
      expect(e).toBeInstanceOf(ApiError);
      expect(e).not.toBeInstanceOf(DomainError);
      expect(e.field).toBeUndefined();
    }
    expect(new DeviceLookupError().message).toBe('pass productKey and deviceName, or iotId');
  });

  it('is the same class when imported from the services that re-export it', () => {
    expect(ForbiddenFromServices).toBe(ForbiddenError);
    expect(PageSizeFromServices).toBe(PageSizeError);
  });

  it('joins the messages of several failures', () => {
    const e = new DomainErrors([
      { code: 'INVALID_NAME', message: 'a' },
      { code: 'INVALID_TSL', message: 'b', field: ['x'] },
    ]);
    expect([e.name, e.message]).toEqual(['DomainErrors', 'a; b']);
    expect(e).not.toBeInstanceOf(ApiError);
  });
});

function readdirRecursive(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? readdirRecursive(p) : p.endsWith('.ts') ? [p] : [];
  });
}
