import { describe, expect, it } from 'vitest';
import {
  API_CODES,
  DeviceLookupError,
  DomainError,
  DomainErrors,
  ForbiddenError,
  PageSizeError,
  type DomainCode,
} from '../../../src/domain/errors.ts';
import { GraphQLErrorCode, toTopLevelError, toUserErrors, topLevelMappingOf } from '../../../src/schema/errors.ts';

const TOP_LEVEL_ONLY = new Set(['FORBIDDEN', 'INVALID_PAGE_SIZE', 'INVALID_DEVICE_LOOKUP']);
const domainCodes = API_CODES.filter((c) => !TOP_LEVEL_ONLY.has(c)) as DomainCode[];

/** What http/graphql.ts maskError answered before the mapper, for the same errors (extensions in key order). */
function previousAnswer(original: unknown): { message: string; extensions: Record<string, unknown> } | null {
  if (original instanceof ForbiddenError)
    return { message: original.message, extensions: { code: 'FORBIDDEN', http: { status: 403 } } };
  const badInput =
    original instanceof DeviceLookupError || (original instanceof Error && original.name === 'PothosValidationError');
  if (original instanceof PageSizeError || original instanceof DomainError || badInput) {
    return {
      message: (original as Error).message,
      extensions: {
        code:
          original instanceof DomainError && original.code === 'SUBSCRIBER_TOO_SLOW' ? original.code : 'BAD_USER_INPUT',
        ...(original instanceof DomainError ? { reason: original.code } : {}),
      },
    };
  }
  return null;
}

const pothos = Object.assign(new Error('Invalid global id'), { name: 'PothosValidationError' });

describe('GraphQL userErrors', () => {
  it.each(domainCodes)('answers a DomainError %s as one userError with its code, message and field', (code) => {
    expect(toUserErrors(new DomainError(code, `failed with ${code}`, ['input', 'x']))).toEqual([
      { code, message: `failed with ${code}`, field: ['input', 'x'] },
    ]);
  });

  it('leaves field out when the error has none', () => {
    const [e] = toUserErrors(new DomainError('RULE_NOT_FOUND', 'rule 3 does not exist'))!;
    expect(e).toEqual({ code: 'RULE_NOT_FOUND', message: 'rule 3 does not exist' });
    expect(Object.keys(e!)).toEqual(['code', 'message']);
  });

  it('answers several failures with every one of them, in order', () => {
    const errors = [
      { code: 'INVALID_TSL', message: 'a', field: ['input', 'tsl'] },
      { code: 'INVALID_TSL', message: 'b' },
    ];
    expect(toUserErrors(new DomainErrors(errors))).toBe(errors);
  });

  it.each([
    ['FORBIDDEN', new ForbiddenError('needs OPERATOR')],
    ['a page size', new PageSizeError('first must be between 0 and 500 (got 501)')],
    ['a bad device lookup', new DeviceLookupError()],
    ['an unexpected error', new Error('connection refused')],
    ['a thrown string', 'boom'],
  ])('does not turn %s into userErrors (it propagates)', (_what, e) => {
    expect(toUserErrors(e)).toBeNull();
  });
});

describe('GraphQL top-level errors', () => {
  it('maps every API code to a top-level extensions.code', () => {
    const codes = new Set<string>(Object.values(GraphQLErrorCode));
    for (const code of API_CODES) expect(codes.has(topLevelMappingOf(code).code), code).toBe(true);
  });

  it.each(domainCodes)('answers a DomainError %s outside a mutation as before', (code) => {
    const e = new DomainError(code, `failed with ${code}`);
    const got = toTopLevelError(e);
    expect(JSON.stringify(got)).toBe(JSON.stringify(previousAnswer(e)));
    expect(got!.extensions.reason).toBe(code);
  });

  it.each([
    [
      'FORBIDDEN with HTTP 403',
      new ForbiddenError('this operation needs the OPERATOR role; the caller has VIEWER'),
      { code: 'FORBIDDEN', http: { status: 403 } },
    ],
    [
      'a page size as BAD_USER_INPUT without reason',
      new PageSizeError('pass either first or last, not both'),
      { code: 'BAD_USER_INPUT' },
    ],
    ['a bad device lookup as BAD_USER_INPUT', new DeviceLookupError(), { code: 'BAD_USER_INPUT' }],
    ['a malformed global id as BAD_USER_INPUT', pothos, { code: 'BAD_USER_INPUT' }],
    [
      'a slow subscriber with its own code',
      new DomainError('SUBSCRIBER_TOO_SLOW', 'resume with after: "x"'),
      { code: 'SUBSCRIBER_TOO_SLOW', reason: 'SUBSCRIBER_TOO_SLOW' },
    ],
    [
      'a DomainError as BAD_USER_INPUT with the code as reason',
      new DomainError('INVALID_CURSOR', 'bad cursor', ['after']),
      { code: 'BAD_USER_INPUT', reason: 'INVALID_CURSOR' },
    ],
  ])('answers %s, exactly as before', (_what, e, extensions) => {
    const got = toTopLevelError(e);
    expect(got).toEqual({ message: (e as Error).message, extensions });
    expect(JSON.stringify(got)).toBe(JSON.stringify(previousAnswer(e)));
  });

  it.each([
    ['an unexpected error', new Error('relation "devices" does not exist')],
    [
      'several failures at once (masked outside mutations, as before)',
      new DomainErrors([{ code: 'INVALID_TSL', message: 'x' }]),
    ],
    ['a thrown string', 'boom'],
    ['nothing', undefined],
  ])('leaves %s to masking (INTERNAL_SERVER_ERROR)', (_what, e) => {
    expect(toTopLevelError(e)).toBeNull();
    expect(previousAnswer(e)).toBeNull();
  });
});
