import { ApiError, DomainErrors, alinkCodeOf, isApiCode } from '../errors.ts';
import { ALINK, defaultMessage, type AlinkCode } from './codes.ts';

/** The `code` and `message` of an Alink reply (alink-protocol.md §3.2) that reports a failure. */
export interface AlinkFailure {
  code: AlinkCode;
  message: string;
}

/**
 * The Alink side of the error vocabulary (docs/errors.md), for a device path that caught an error: an expected
 * failure answers its Alink code (REQUEST_ERROR when its API code has none) with its own message; several at once
 * answer the first one's code with every message; anything else is UNKNOWN_ERROR with the default message, never the
 * internal cause (like GraphQL's masked errors).
 */
export function toAlinkFailure(e: unknown): AlinkFailure {
  if (e instanceof ApiError) return { code: e.alinkCode ?? ALINK.REQUEST_ERROR, message: e.message };
  if (e instanceof DomainErrors) {
    const first = e.errors[0]?.code;
    return {
      code: (first !== undefined && isApiCode(first) ? alinkCodeOf(first) : undefined) ?? ALINK.REQUEST_ERROR,
      message: e.message,
    };
  }
  return { code: ALINK.UNKNOWN_ERROR, message: defaultMessage(ALINK.UNKNOWN_ERROR) };
}
