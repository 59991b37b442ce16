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
import {
  BusinessError,
  businessCodeOf,
  businessErrorOf,
  BUSINESS_CODES,
  INVALID_PARAMETER,
  internalError,
  RequestError,
} from '../../../src/openapi/errors.ts';

/** The table operations/shared.ts used before (codeOf), verbatim. */
const BEFORE: Record<string, string> = {
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
};
const beforeCode = (c: string, overrides: Record<string, string> = {}) =>
  overrides[c] ?? BEFORE[c] ?? 'iot.common.InvalidFormattedParameter';

const TOP_LEVEL_ONLY = new Set(['FORBIDDEN', 'INVALID_PAGE_SIZE', 'INVALID_DEVICE_LOOKUP']);
const domainCodes = API_CODES.filter((c) => !TOP_LEVEL_ONLY.has(c)) as DomainCode[];

/** Business codes of cloud-api.md §5.2: nothing else may be emitted. */
const DOCUMENTED = new Set([
  'iot.prod.NotExistedProduct',
  'iot.device.NotExistedDevice',
  'iot.device.AlreadyExistedDeviceName',
  'iot.device.InvalidFormattedDeviceName',
  'iot.prod.InvalidFormattedProductName',
  'iot.prod.AlreadyExistedProductName',
  'iot.prod.InvalidNodeType',
  'iot.device.InvalidFormattedDevicePropertiesString',
  'iot.device.InvalidFormattedDevicePropertyKey',
  'iot.device.InvokeThingServiceFailed',
  'iot.messagebroker.OFFLINE',
  'iot.messagebroker.TIMEOUT',
  'iot.messagebroker.HALFCONN',
  'iot.messagebroker.InvalidFormattedTopicName',
  'iot.messagebroker.MessageContentIsNotBase64Encode',
  'iot.messagebroker.NullMessageContent',
  'iot.messagebroker.InvalidTimeoutValue',
  'iot.messagebroker.TopicAlreadyFound',
  'iot.device.InactiveDevice',
  'iot.device.TooManyDevicePropertiesPerTime',
  'iot.device.InvalidTimeBucket',
  'iot.common.InvalidPageParams',
  'iot.common.InvalidFormattedParameter',
  'iot.common.ParameterSizeLimit',
  'iot.common.RamActionPermissionDeny',
  'iot.system.SystemException',
]);

describe('OpenAPI business errors', () => {
  it('maps every API code to a business code', () => {
    for (const code of API_CODES) expect(businessCodeOf(code), code).toMatch(/^iot\.[a-z]+\.[A-Za-z0-9]+$/);
  });

  it('maps only to codes cloud-api.md §5.2 lists', () => {
    for (const code of API_CODES)
      expect(DOCUMENTED.has(businessCodeOf(code)), `${code} -> ${businessCodeOf(code)}`).toBe(true);
  });

  it.each(domainCodes)('answers a DomainError %s with the code and message it had before', (code) => {
    const e = businessErrorOf(new DomainError(code, `failed with ${code}`, ['input']))!;
    expect(e).toBeInstanceOf(BusinessError);
    expect([e.code, e.message, e.fields]).toEqual([beforeCode(code), `failed with ${code}`, {}]);
  });

  it('lets an operation override a code, and only that code', () => {
    const overrides = {
      INVALID_NAME: 'iot.messagebroker.InvalidFormattedTopicName',
      TOPIC_LIMIT_EXCEEDED: 'iot.common.ParameterSizeLimit',
    };
    for (const code of domainCodes)
      expect(businessErrorOf(new DomainError(code, 'x'), overrides)!.code, code).toBe(beforeCode(code, overrides));
  });

  it("answers several failures with the first one's code and every message", () => {
    const e = businessErrorOf(
      new DomainErrors([
        { code: 'IDENTIFIER_NOT_FOUND', message: 'a' },
        { code: 'INVALID_VALUE', message: 'b' },
      ]),
    )!;
    expect([e.code, e.message]).toEqual(['iot.device.InvalidFormattedDevicePropertyKey', 'a; b']);
    expect(businessErrorOf(new DomainErrors([]))!.code).toBe(INVALID_PARAMETER);
    expect(businessErrorOf(new DomainErrors([{ code: 'NOT_A_CODE', message: 'x' }]))!.code).toBe(INVALID_PARAMETER);
  });

  it('answers FORBIDDEN with RamActionPermissionDeny, whatever the overrides', () => {
    const e = businessErrorOf(new ForbiddenError('this operation needs the OPERATOR role; the caller has VIEWER'), {
      FORBIDDEN: 'iot.other',
    })!;
    expect([e.code, e.message]).toEqual([
      'iot.common.RamActionPermissionDeny',
      'this operation needs the OPERATOR role; the caller has VIEWER',
    ]);
  });

  it('answers the other top-level errors with parameter codes', () => {
    expect(businessErrorOf(new PageSizeError('too many'))!.code).toBe('iot.common.InvalidPageParams');
    expect(businessErrorOf(new DeviceLookupError())!.code).toBe(INVALID_PARAMETER);
  });

  it.each([
    ['an unexpected error', new Error('boom')],
    ['a business error already made', new BusinessError('iot.prod.NotExistedProduct', 'x')],
    ['a request error', new RequestError('MissingProductKey', 400, 'x')],
    ['a thrown string', 'boom'],
  ])("is not the mapper's business for %s (the router answers it as is, or as InternalError)", (_what, e) => {
    expect(businessErrorOf(e)).toBeNull();
  });

  it('answers unexpected failures with the masked InternalError of §5.1', () => {
    const e = internalError();
    expect([e.code, e.status, e.message]).toEqual([
      'InternalError',
      500,
      'The request processing has failed due to some unknown error.',
    ]);
  });

  it('keeps the former defaults in the table', () => {
    for (const [code, business] of Object.entries(BEFORE))
      expect(BUSINESS_CODES[code as keyof typeof BUSINESS_CODES]).toBe(business);
  });
});
