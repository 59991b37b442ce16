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

export const incompleteSignature = (why: string) => new RequestError('IncompleteSignature', 400, `The request signature does not conform to Aliyun standards. ${why}`);
export const missing = (name: string) => new RequestError(`Missing${name}`, 400, `${name} is mandatory for this action.`);
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
  new BusinessError('iot.common.RamActionPermissionDeny', `the AccessKey's role does not allow ${action} (it needs ${role})`);
export const badParameter = (message: string) => new BusinessError('iot.common.InvalidFormattedParameter', message);
