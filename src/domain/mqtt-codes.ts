import { ALINK } from './alink/codes.ts';

/**
 * MQTT return codes the broker answers with (docs/errors.md), and the mapper from a refused login to its CONNACK code
 * (alink-protocol.md D1). Wire values; never renumber.
 */

/** CONNACK return codes of MQTT 3.1.1 (§3.2.2.3). */
export const CONNACK = {
  ACCEPTED: 0,
  UNACCEPTABLE_PROTOCOL_VERSION: 1,
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;

export type ConnackCode = (typeof CONNACK)[keyof typeof CONNACK];

/** The refusals the broker itself decides (the others are aedes' own protocol checks). */
export type ConnackRefusal =
  | typeof CONNACK.SERVER_UNAVAILABLE
  | typeof CONNACK.BAD_USERNAME_OR_PASSWORD
  | typeof CONNACK.NOT_AUTHORIZED;

/** The MQTT 5 CONNACK reason codes of the same refusals (§3.2.2.2; D1 names 0x86 and 0x87). */
export const CONNACK_V5 = {
  SUCCESS: 0x00,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_IDENTIFIER_NOT_VALID: 0x85,
  BAD_USERNAME_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
} as const;

export type ConnackV5Code = (typeof CONNACK_V5)[keyof typeof CONNACK_V5];

const V5: Record<ConnackCode, ConnackV5Code> = {
  [CONNACK.ACCEPTED]: CONNACK_V5.SUCCESS,
  [CONNACK.UNACCEPTABLE_PROTOCOL_VERSION]: CONNACK_V5.UNSUPPORTED_PROTOCOL_VERSION,
  [CONNACK.IDENTIFIER_REJECTED]: CONNACK_V5.CLIENT_IDENTIFIER_NOT_VALID,
  [CONNACK.SERVER_UNAVAILABLE]: CONNACK_V5.SERVER_UNAVAILABLE,
  [CONNACK.BAD_USERNAME_OR_PASSWORD]: CONNACK_V5.BAD_USERNAME_OR_PASSWORD,
  [CONNACK.NOT_AUTHORIZED]: CONNACK_V5.NOT_AUTHORIZED,
};

/** The MQTT 5 reason code of a 3.1.1 return code. */
export const connackV5Of = (code: ConnackCode): ConnackV5Code => V5[code];

/** SUBACK return code of a refused filter (MQTT 3.1.1 §3.9.3 "Failure"; alink-protocol.md D7: the connection stays). */
export const SUBACK_FAILURE = 0x80;

/** Why a device login was refused (services/device-auth.ts). */
export type LoginFailure = 'BAD_CREDENTIALS' | 'DISABLED' | 'THROTTLED';

/**
 * D1: never reveal which part of the credentials was wrong (4); a disabled device is "not authorized" (5); a source
 * past its failed-login budget is told "server unavailable" (3), i.e. try later.
 */
export function connackForLoginFailure(failure: LoginFailure): ConnackRefusal {
  if (failure === 'THROTTLED') return CONNACK.SERVER_UNAVAILABLE;
  return failure === 'DISABLED' ? CONNACK.NOT_AUTHORIZED : CONNACK.BAD_USERNAME_OR_PASSWORD;
}

/** Alink codes of a refused dynamic registration (§1.6) that mean "not authorized" rather than bad credentials. */
const REGISTRATION_NOT_AUTHORIZED: ReadonlySet<number> = new Set([
  ALINK.DYNREG_DISABLED,
  ALINK.DEVICE_ALREADY_ACTIVATED,
  ALINK.DEVICE_DISABLED,
]);

/** A refused dynamic registration (§1.6) by its Alink code: past the product's budget (429) is "server unavailable". */
export function connackForRegistration(alinkCode: number): ConnackRefusal {
  if (alinkCode === ALINK.TOO_MANY_REQUESTS) return CONNACK.SERVER_UNAVAILABLE;
  return REGISTRATION_NOT_AUTHORIZED.has(alinkCode) ? CONNACK.NOT_AUTHORIZED : CONNACK.BAD_USERNAME_OR_PASSWORD;
}
