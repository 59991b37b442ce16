import { ApiError, DomainErrors, isApiCode, type ApiCode } from '../domain/errors.ts';

/**
 * Errors of the Alibaba IoT OpenAPI (cloud-api.md §5). Request failures (§5.1) are HTTP errors that the SDK throws;
 * business errors (§5.2) are HTTP 200 with `Success: false`, which the SDK returns as a normal response.
 */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export class BusinessError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** Operation fields that still apply (e.g. `Data.MessageId` of a sync service that timed out). */
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'BusinessError';
  }
}

export const incompleteSignature = (why: string) =>
  new RequestError('IncompleteSignature', 400, `The request signature does not conform to Aliyun standards. ${why}`);
export const missing = (name: string) =>
  new RequestError(`Missing${name}`, 400, `${name} is mandatory for this action.`);
export const signatureMismatch = (stringToSign: string) =>
  new RequestError(
    'SignatureDoesNotMatch',
    400,
    `Specified signature does not match our calculation. server string to sign is:${stringToSign}`,
  );

/** Body limits: the largest legal request is a Pub of MQTT_MAX_PAYLOAD bytes in base64 plus the other parameters. */
export const bodyTooLarge = (limit: number) =>
  new RequestError('RequestEntityTooLarge', 413, `The request body is larger than ${limit} bytes.`);

export const permissionDeny = (action: string, role: string) =>
  new BusinessError(BUSINESS_CODES.FORBIDDEN!, `the AccessKey's role does not allow ${action} (it needs ${role})`);
export const badParameter = (message: string) => new BusinessError(INVALID_PARAMETER, message);

/** A parameter of the wrong type or format not covered by a more specific code (§5.2); also the default of the table. */
export const INVALID_PARAMETER = 'iot.common.InvalidFormattedParameter';

/**
 * API codes to Alibaba business codes (§5.2, docs/errors.md); every code not listed is INVALID_PARAMETER. Operations
 * override what depends on their context (`call(fn, overrides)` in operations/shared.ts).
 */
export const BUSINESS_CODES: Partial<Record<ApiCode, string>> = {
  PRODUCT_NOT_FOUND: 'iot.prod.NotExistedProduct',
  DEVICE_NOT_FOUND: 'iot.device.NotExistedDevice',
  DEVICE_ALREADY_EXISTS: 'iot.device.AlreadyExistedDeviceName',
  DEVICE_DISABLED: 'iot.device.InactiveDevice',
  TOPIC_NOT_ALLOWED: 'iot.messagebroker.InvalidFormattedTopicName',
  INVALID_PAYLOAD: 'iot.messagebroker.MessageContentIsNotBase64Encode',
  PAYLOAD_TOO_LARGE: 'iot.common.ParameterSizeLimit',
  TIMEOUT_OUT_OF_RANGE: 'iot.messagebroker.InvalidTimeoutValue',
  TOPIC_ALREADY_EXISTS: 'iot.messagebroker.TopicAlreadyFound',
  IDENTIFIER_NOT_FOUND: 'iot.device.InvalidFormattedDevicePropertyKey',
  PROPERTY_NOT_WRITABLE: 'iot.device.InvalidFormattedDevicePropertyKey',
  INVALID_VALUE: 'iot.device.InvalidFormattedDevicePropertiesString',
  INVALID_RANGE: 'iot.device.InvalidTimeBucket',
  INVALID_PAGE_SIZE: 'iot.common.InvalidPageParams',
  FORBIDDEN: 'iot.common.RamActionPermissionDeny',
};

export type CodeOverrides = Partial<Record<ApiCode, string>>;

/** The business code of an API code (or of a user error's code string), with an operation's overrides first. */
export function businessCodeOf(code: string, overrides: CodeOverrides = {}): string {
  if (!isApiCode(code)) return INVALID_PARAMETER;
  return overrides[code] ?? BUSINESS_CODES[code] ?? INVALID_PARAMETER;
}

/**
 * The business error (§5.2) of an expected failure, or null when the error is not one (a BusinessError or RequestError
 * an operation threw is answered as it is; anything else is InternalError). Several failures at once are answered with
 * the first one's code.
 */
export function businessErrorOf(e: unknown, overrides: CodeOverrides = {}): BusinessError | null {
  // The caller's role is never something an operation reinterprets.
  if (e instanceof ApiError)
    return new BusinessError(
      e.code === 'FORBIDDEN' ? BUSINESS_CODES.FORBIDDEN! : businessCodeOf(e.code, overrides),
      e.message,
    );
  if (e instanceof DomainErrors)
    return new BusinessError(businessCodeOf(e.errors[0]?.code ?? '', overrides), e.message);
  return null;
}

/** §5.1 InternalError: an unexpected failure, masked (the cause is logged, never sent). */
export const internalError = () =>
  new RequestError('InternalError', 500, 'The request processing has failed due to some unknown error.');
