import { describe, expect, it } from 'vitest';
import {
  CONNACK,
  CONNACK_V5,
  connackForLoginFailure,
  connackForRegistration,
  connackV5Of,
  SUBACK_FAILURE,
  type ConnackCode,
} from '../../../src/domain/mqtt-codes.ts';

describe('MQTT return codes', () => {
  it('keeps the wire values of MQTT 3.1.1 and 5', () => {
    expect(CONNACK).toEqual({
      ACCEPTED: 0,
      UNACCEPTABLE_PROTOCOL_VERSION: 1,
      IDENTIFIER_REJECTED: 2,
      SERVER_UNAVAILABLE: 3,
      BAD_USERNAME_OR_PASSWORD: 4,
      NOT_AUTHORIZED: 5,
    });
    expect([CONNACK_V5.BAD_USERNAME_OR_PASSWORD, CONNACK_V5.NOT_AUTHORIZED, CONNACK_V5.SERVER_UNAVAILABLE]).toEqual([
      0x86, 0x87, 0x88,
    ]);
    expect(SUBACK_FAILURE).toBe(128);
  });

  it('gives every 3.1.1 code its MQTT 5 reason code', () => {
    for (const code of Object.values(CONNACK) as ConnackCode[])
      expect(Object.values(CONNACK_V5)).toContain(connackV5Of(code));
    expect(connackV5Of(CONNACK.BAD_USERNAME_OR_PASSWORD)).toBe(0x86);
    expect(connackV5Of(CONNACK.NOT_AUTHORIZED)).toBe(0x87);
  });
});

describe('CONNACK for a refused login (alink-protocol.md D1)', () => {
  /** What broker/authenticate.ts answered before the table, verbatim. */
  const loginBefore = (failure: string) => (failure === 'THROTTLED' ? 3 : failure === 'DISABLED' ? 5 : 4);
  const registrationBefore = (code: number) =>
    code === 429 ? 3 : code === 6288 || code === 6289 || code === 6204 ? 5 : 4;

  it.each(['BAD_CREDENTIALS', 'DISABLED', 'THROTTLED'] as const)('answers %s as before', (failure) => {
    expect(connackForLoginFailure(failure)).toBe(loginBefore(failure));
  });

  it('never tells which part of the credentials was wrong, and a disabled device is not authorized', () => {
    expect(connackForLoginFailure('BAD_CREDENTIALS')).toBe(CONNACK.BAD_USERNAME_OR_PASSWORD);
    expect(connackForLoginFailure('DISABLED')).toBe(CONNACK.NOT_AUTHORIZED);
    expect(connackForLoginFailure('THROTTLED')).toBe(CONNACK.SERVER_UNAVAILABLE);
  });

  it.each([429, 6288, 6289, 6204, 6292, 6250, 6600, 6100, 460, 500, 0])(
    'answers a dynamic registration refused with Alink %i as before',
    (code) => {
      expect(connackForRegistration(code)).toBe(registrationBefore(code));
    },
  );
});
