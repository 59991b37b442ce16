import { ALINK, type AlinkCode } from './alink/codes.ts';

/**
 * The one error vocabulary (docs/errors.md). Every expected failure carries a stable API code from this table; each
 * transport maps the code in one place: GraphQL (schema/errors.ts), OpenAPI (openapi/errors.ts), Alink replies
 * (domain/alink/errors.ts), MQTT CONNACK/SUBACK (domain/mqtt-codes.ts). Codes are public: add, never rename.
 */
const MEANINGS = {
  // Not found (or outside the caller's product scope: a scoped key gets the same answer as for a missing thing)
  PRODUCT_NOT_FOUND: "the product does not exist, or is outside the caller's product scope",
  DEVICE_NOT_FOUND: 'the device does not exist in the product',
  TOPIC_NOT_FOUND: 'the product has no such custom topic category',
  RULE_NOT_FOUND: 'the rule does not exist',
  ROUTE_NOT_FOUND: 'no topic route from that source (to those destinations)',
  API_KEY_NOT_FOUND: 'the API key does not exist',
  ACCESS_KEY_NOT_FOUND: 'the AccessKey pair does not exist',
  CONSUMER_GROUP_NOT_FOUND: 'the AMQP consumer group does not exist',
  SUBSCRIBE_RELATION_NOT_FOUND: 'the product has no AMQP subscribe relation',
  FIRMWARE_NOT_FOUND: 'the OTA firmware does not exist',
  JOB_NOT_FOUND: 'the OTA job does not exist',
  IDENTIFIER_NOT_FOUND: 'a property, event or service identifier is not defined in the thing model',

  // Already exists / conflicts
  PRODUCT_ALREADY_EXISTS: 'the productKey is taken',
  DEVICE_ALREADY_EXISTS: 'the deviceName is taken in the product (or given twice)',
  TOPIC_ALREADY_EXISTS: 'the custom topic category already exists',
  SUBSCRIBE_RELATION_EXISTS: 'the product already has an AMQP subscribe relation',
  FIRMWARE_ALREADY_EXISTS: 'the product already has that version of the firmware module',
  PRODUCT_HAS_DEVICES: 'a product that still has devices cannot be deleted',
  DEFAULT_GROUP_UNDELETABLE: 'the DEFAULT_GROUP consumer group cannot be deleted',
  VERSION_CONFLICT: 'the expected version is not the current one (desired properties, shadow)',
  DEVICE_BUSY: 'a device is already in an active OTA upgrade of the module',
  JOB_NOT_ACTIVE: 'the OTA job is no longer active',

  // Invalid input
  INVALID_INPUT: 'an input is missing, contradictory or out of range',
  INVALID_NAME: 'a name, key or description has the wrong length or characters',
  INVALID_TSL: 'the thing model document is invalid (one error per issue, with its path)',
  INVALID_VALUE: 'a value does not match its data type in the thing model',
  PROPERTY_NOT_WRITABLE: 'the property is read-only in the thing model',
  INVALID_PAYLOAD: 'the payload is not valid in its encoding (e.g. not base64)',
  INVALID_CURSOR: 'the cursor is malformed or does not belong to this list',
  INVALID_RANGE: 'a time range whose start is after its end',
  INVALID_INTERVAL: 'an aggregation interval that is not of the form 30s, 5m, 1h, 1d',
  INVALID_TOPIC_FILTER: 'not a valid MQTT topic filter',
  INVALID_SQL: 'the rule SQL does not parse or names an unknown topic',
  INVALID_ACTION: 'a rule action configuration is invalid',
  INVALID_VERSION: 'a firmware version with the wrong length or characters',
  INVALID_MODULE: 'a firmware module name with the wrong length or characters',
  INVALID_DIGEST: 'an md5 or sha256 that is not a hex digest of the right length',
  INVALID_URL: 'not an absolute http(s) URL of at most 2048 characters',
  DIGEST_MISMATCH: 'the uploaded bytes do not have the given size or digest',
  SRC_VERSION_MISMATCH: "a device's module version is not one of the job's source versions",
  NO_MATCHING_DEVICES: 'no device of the product needs the firmware',
  TOPIC_NOT_ALLOWED: 'the topic is not one the caller or device may use (e.g. /sys, wrong operation, outside scope)',
  UNSUPPORTED_DATA_FORMAT: 'the operation needs an ALINK_JSON product',
  TIMEOUT_OUT_OF_RANGE: 'an RRPC or service timeout outside 1000-8000 ms',

  // Limits
  PAYLOAD_TOO_LARGE: 'a payload or package larger than the configured maximum',
  TOPIC_LIMIT_EXCEEDED: 'the product already has the most custom topic categories allowed',
  RULE_LIMIT_EXCEEDED: 'the product already has RULE_MAX_PER_PRODUCT rules',
  TOO_MANY_BUCKETS: 'an aggregation would give more buckets than allowed; use a wider interval',
  SUBSCRIBER_TOO_SLOW: 'a subscriber fell more than its buffer behind; resume from the cursor in the message',

  // Devices and commands
  DEVICE_DISABLED: 'the device is disabled',
  DEVICE_OFFLINE: 'the device is not connected',
  INVALID_REPLY: 'the device answered with something that is not an Alink reply',
  INVALID_OUTPUT: 'a service output from the device does not match the thing model',
  RULE_EVALUATION_FAILED: 'testRule could not evaluate the SQL on the sample payload',

  // AMQP server-side subscription login (cloud-api.md §7.2)
  AMQP_BAD_USERNAME: 'the AMQP user name is not of the Alibaba form',
  AMQP_STALE_TIMESTAMP: 'the AMQP login timestamp is outside AMQP_MAX_CLOCK_SKEW_MS',
  AMQP_UNKNOWN_ACCESS_KEY: 'the AMQP login names an unknown or revoked AccessKey',
  AMQP_BAD_SIGNATURE: 'the AMQP password is not the signature of authId and timestamp',
  AMQP_UNKNOWN_GROUP: 'the AMQP login names an unknown consumer group',
  AMQP_GROUP_FULL: 'the consumer group has AMQP_MAX_CONNECTIONS_PER_GROUP connections',

  // Top-level errors (never userErrors)
  FORBIDDEN: "the caller's role or product scope does not allow the operation",
  INVALID_PAGE_SIZE: 'a page size outside 0-500, or first and last together',
  INVALID_DEVICE_LOOKUP: 'a device lookup that names neither productKey and deviceName nor iotId',
} as const satisfies Record<string, string>;

/** A stable API code (SCREAMING_SNAKE). */
export type ApiCode = keyof typeof MEANINGS;

/** Named constants of every API code: `ApiCode.PRODUCT_NOT_FOUND === 'PRODUCT_NOT_FOUND'`. */
export const ApiCode = Object.freeze(Object.fromEntries(Object.keys(MEANINGS).map((k) => [k, k]))) as {
  readonly [K in ApiCode]: K;
};

/** Every API code, in table order. */
export const API_CODES = Object.keys(MEANINGS) as ApiCode[];

export const isApiCode = (code: string): code is ApiCode => Object.hasOwn(MEANINGS, code);

/** The one-line meaning of a code (docs/errors.md). */
export const meaningOf = (code: ApiCode): string => MEANINGS[code];

/** Codes that are only ever raised as top-level errors, by their own classes below, never as a userError. */
export type TopLevelCode = 'FORBIDDEN' | 'INVALID_PAGE_SIZE' | 'INVALID_DEVICE_LOOKUP';

/** The codes a service may raise as an expected failure (a GraphQL userError). */
export type DomainCode = Exclude<ApiCode, TopLevelCode>;

/**
 * The Alink result code (alink-protocol.md §3.10) of an API code, where one applies; the rest answer a device with
 * REQUEST_ERROR (domain/alink/errors.ts).
 */
const ALINK_CODES: Partial<Record<ApiCode, AlinkCode>> = {
  PRODUCT_NOT_FOUND: ALINK.PRODUCT_NOT_FOUND,
  DEVICE_NOT_FOUND: ALINK.DEVICE_NOT_FOUND,
  DEVICE_DISABLED: ALINK.DEVICE_DISABLED,
  DEVICE_OFFLINE: ALINK.DEVICE_OFFLINE,
  IDENTIFIER_NOT_FOUND: ALINK.TSL_PARAMS_NOT_EXIST,
  INVALID_VALUE: ALINK.PARAM_ERROR,
  INVALID_INPUT: ALINK.PARAM_ERROR,
  PROPERTY_NOT_WRITABLE: ALINK.PARAM_ERROR,
  FORBIDDEN: ALINK.FORBIDDEN,
};

export const alinkCodeOf = (code: ApiCode): AlinkCode | undefined => ALINK_CODES[code];

/**
 * The base of every expected failure: a stable API `code`, an optional `field` (the offending input path) and, where
 * one applies, the Alink code a device is answered with.
 */
export class ApiError extends Error {
  readonly alinkCode: AlinkCode | undefined;

  constructor(
    readonly code: ApiCode,
    message: string,
    readonly field?: string[],
  ) {
    super(message);
    this.name = 'ApiError';
    this.alinkCode = alinkCodeOf(code);
  }
}

/**
 * A typed, expected failure raised by services. GraphQL mutations answer it as a `UserError` (graphql-api.md); elsewhere
 * it is a top-level BAD_USER_INPUT with the code as `reason`.
 */
export class DomainError extends ApiError {
  declare readonly code: DomainCode;

  constructor(code: DomainCode, message: string, field?: string[]) {
    super(code, message, field);
    this.name = 'DomainError';
  }
}

/** The caller's role or product scope does not allow the operation (GraphQL FORBIDDEN, OpenAPI RamActionPermissionDeny). */
export class ForbiddenError extends ApiError {
  constructor(message: string) {
    super('FORBIDDEN', message);
    this.name = 'ForbiddenError';
  }
}

/** graphql-api.md: page size default 50, max 500; asking for more is an error, not a silent cut. */
export class PageSizeError extends ApiError {
  constructor(message: string) {
    super('INVALID_PAGE_SIZE', message);
    this.name = 'PageSizeError';
  }
}

/** `device(...)` named neither productKey and deviceName nor iotId. */
export class DeviceLookupError extends ApiError {
  constructor(message = 'pass productKey and deviceName, or iotId') {
    super('INVALID_DEVICE_LOOKUP', message);
    this.name = 'DeviceLookupError';
  }
}

/**
 * One expected failure as a GraphQL `UserError`. `code` stays a string here: lists of issues are built by services as
 * plain objects; their codes are the API codes of the table above (docs/errors.md).
 */
export interface UserErrorShape {
  code: string;
  message: string;
  field?: string[];
}

/** Several expected failures at once (e.g. every issue of an invalid TSL document). */
export class DomainErrors extends Error {
  constructor(readonly errors: UserErrorShape[]) {
    super(errors.map((e) => e.message).join('; '));
    this.name = 'DomainErrors';
  }
}
