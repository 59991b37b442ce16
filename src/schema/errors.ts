import { ApiError, DomainError, DomainErrors, type ApiCode, type UserErrorShape } from '../domain/errors.ts';

/**
 * The GraphQL side of the error vocabulary (docs/errors.md): mutations answer expected failures in `userErrors`;
 * everything else that is expected becomes a top-level error with a stable `extensions.code` (graphql-api.md
 * "Top-level GraphQL errors"). Pure: no yoga, no schema; http/graphql.ts builds the GraphQLError.
 */

/** Top-level `extensions.code` values. */
export const GraphQLErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  BAD_REQUEST: 'BAD_REQUEST',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  RATE_LIMITED: 'RATE_LIMITED',
  REQUEST_ENTITY_TOO_LARGE: 'REQUEST_ENTITY_TOO_LARGE',
  SUBSCRIBER_TOO_SLOW: 'SUBSCRIBER_TOO_SLOW',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type GraphQLErrorCode = (typeof GraphQLErrorCode)[keyof typeof GraphQLErrorCode];

/** How an API code surfaces as a top-level error: its `extensions.code`, whether `reason` names the API code, HTTP status. */
export interface TopLevelMapping {
  code: GraphQLErrorCode;
  reason: boolean;
  status?: number;
}

/** Every API code not listed is BAD_USER_INPUT with the API code as `reason`. */
const TOP_LEVEL: Partial<Record<ApiCode, TopLevelMapping>> = {
  FORBIDDEN: { code: GraphQLErrorCode.FORBIDDEN, reason: false, status: 403 },
  INVALID_PAGE_SIZE: { code: GraphQLErrorCode.BAD_USER_INPUT, reason: false },
  INVALID_DEVICE_LOOKUP: { code: GraphQLErrorCode.BAD_USER_INPUT, reason: false },
  // A subscription stream ends with it; the client resumes from the cursor in the message.
  SUBSCRIBER_TOO_SLOW: { code: GraphQLErrorCode.SUBSCRIBER_TOO_SLOW, reason: true },
};

const BAD_USER_INPUT: TopLevelMapping = { code: GraphQLErrorCode.BAD_USER_INPUT, reason: true };

export const topLevelMappingOf = (code: ApiCode): TopLevelMapping => TOP_LEVEL[code] ?? BAD_USER_INPUT;

/**
 * The `userErrors` of a mutation for an expected failure, or null when the error is not one (FORBIDDEN, page size and
 * the rest propagate as top-level errors; unexpected ones are masked).
 */
export function toUserErrors(e: unknown): UserErrorShape[] | null {
  if (e instanceof DomainError) return [{ code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) }];
  if (e instanceof DomainErrors) return e.errors;
  return null;
}

export interface TopLevelError {
  message: string;
  extensions: { code: GraphQLErrorCode; http?: { status: number }; reason?: ApiCode };
}

/**
 * The top-level error for an expected failure, or null when the error is not one of ours (GraphQL's own errors pass
 * through; anything else is masked as INTERNAL_SERVER_ERROR).
 */
export function toTopLevelError(e: unknown): TopLevelError | null {
  if (e instanceof ApiError) {
    const m = topLevelMappingOf(e.code);
    return {
      message: e.message,
      extensions: {
        code: m.code,
        ...(m.status ? { http: { status: m.status } } : {}),
        ...(m.reason ? { reason: e.code } : {}),
      },
    };
  }
  // Pothos refuses malformed global ids (`node(id:)`) with a PothosValidationError, a GraphQLError without a code.
  if (e instanceof Error && e.name === 'PothosValidationError')
    return { message: e.message, extensions: { code: GraphQLErrorCode.BAD_USER_INPUT } };
  return null;
}
