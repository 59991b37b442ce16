import { describe, expect, it } from 'vitest';
import { ALINK } from '../../../src/domain/alink/codes.ts';
import { toAlinkFailure } from '../../../src/domain/alink/errors.ts';
import {
  API_CODES,
  ApiError,
  DeviceLookupError,
  DomainError,
  DomainErrors,
  ForbiddenError,
  PageSizeError,
} from '../../../src/domain/errors.ts';

const WIRE = new Set<number>(Object.values(ALINK));

describe('Alink replies for errors on a device path', () => {
  it.each(API_CODES)("answers %s with an Alink code of the table and the error's own message", (code) => {
    const r = toAlinkFailure(new ApiError(code, `failed with ${code}`));
    expect(WIRE.has(r.code)).toBe(true);
    expect(r.code).not.toBe(ALINK.SUCCESS);
    expect(r.code).not.toBe(ALINK.UNKNOWN_ERROR);
    expect(r.message).toBe(`failed with ${code}`);
  });

  it.each([
    ['DEVICE_NOT_FOUND', ALINK.DEVICE_NOT_FOUND],
    ['PRODUCT_NOT_FOUND', ALINK.PRODUCT_NOT_FOUND],
    ['DEVICE_DISABLED', ALINK.DEVICE_DISABLED],
    ['IDENTIFIER_NOT_FOUND', ALINK.TSL_PARAMS_NOT_EXIST],
    ['INVALID_VALUE', ALINK.PARAM_ERROR],
    ['INVALID_INPUT', ALINK.PARAM_ERROR],
    ['DEVICE_OFFLINE', ALINK.DEVICE_OFFLINE],
    ['INVALID_NAME', ALINK.REQUEST_ERROR],
    ['INVALID_TSL', ALINK.REQUEST_ERROR],
  ] as const)('answers a DomainError %s with %i', (code, alink) => {
    expect(toAlinkFailure(new DomainError(code, 'm'))).toEqual({ code: alink, message: 'm' });
  });

  it('answers the top-level errors too', () => {
    expect(toAlinkFailure(new ForbiddenError('no')).code).toBe(ALINK.FORBIDDEN);
    expect(toAlinkFailure(new PageSizeError('too many')).code).toBe(ALINK.REQUEST_ERROR);
    expect(toAlinkFailure(new DeviceLookupError()).code).toBe(ALINK.REQUEST_ERROR);
  });

  it("answers several failures with the first one's code and every message", () => {
    expect(
      toAlinkFailure(
        new DomainErrors([
          { code: 'IDENTIFIER_NOT_FOUND', message: 'a' },
          { code: 'INVALID_VALUE', message: 'b' },
        ]),
      ),
    ).toEqual({ code: ALINK.TSL_PARAMS_NOT_EXIST, message: 'a; b' });
    expect(toAlinkFailure(new DomainErrors([])).code).toBe(ALINK.REQUEST_ERROR);
    expect(toAlinkFailure(new DomainErrors([{ code: 'SOMETHING_ELSE', message: 'x' }])).code).toBe(ALINK.REQUEST_ERROR);
  });

  it.each([
    ['an unexpected error', new Error('password authentication failed for user "postgres"')],
    ['a thrown string', 'boom'],
    ['nothing', undefined],
  ])('answers %s with UNKNOWN_ERROR and never its cause', (_what, e) => {
    expect(toAlinkFailure(e)).toEqual({ code: ALINK.UNKNOWN_ERROR, message: 'unknown error' });
  });
});
