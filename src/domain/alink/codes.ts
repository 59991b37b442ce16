/**
 * Alink result codes (alink-protocol.md §3.10) with ThingQL's fixed meanings for the TSL validation codes (D10).
 * The values are wire values; never renumber.
 */
export const ALINK = {
  // Common (§3.10)
  SUCCESS: 200,
  REQUEST_ERROR: 400,
  AUTH_ERROR: 401, // e.g. topo add signature invalid (D20)
  FORBIDDEN: 403, // downlink reply: e.g. account overdue
  TOO_MANY_SUBDEVICES_ONLINE: 428,
  TOO_MANY_REQUESTS: 429,
  PARAM_ERROR: 460, // D10: payload not a JSON object or envelope invalid
  UNKNOWN_ERROR: 500,
  PRODUCT_QUERY_FAILED: 5005,
  LORAWAN_META_QUERY_FAILED: 5244,
  PRODUCT_NOT_FOUND: 6250,
  DEVICE_NOT_FOUND: 6100,
  TOPIC_PARSE_FAILED: 6203,
  DEVICE_DISABLED: 6204,
  PAYLOAD_NOT_JSON: 6207,
  RAW_SCRIPT_NO_METHOD: 6450,
  SYSTEM_ERROR: 6760,

  // Sub-device session (§3.10)
  SUBDEVICE_NO_SESSION: 520,
  SUBDEVICE_DELETED: 521,
  SUBDEVICE_DISABLED: 522,
  SUBDEVICE_DUPLICATE_LOGIN: 527,

  // Registration / topology (§1.6, §3.10)
  SUBDEVICE_NAME_INVALID: 6280,
  SUBDEVICE_SIGN_INVALID: 6287, // D20: bad sub-device signature on combine/login
  DYNREG_DISABLED: 6288,
  DEVICE_ALREADY_ACTIVATED: 6289,
  SIGN_METHOD_NOT_SUPPORTED: 6292,
  GATEWAY_SUBDEVICE_LIMIT: 6400,
  TOPO_NOT_EXIST: 6401,
  TOPO_CANNOT_ADD_SELF: 6402,
  SIGN_VERIFY_FAILED: 6600,
  SUBDEVICE_BOUND_TO_OTHER_GATEWAY: 6619,

  // TSL (§3.10 observed codes + D10 decisions)
  PROPERTY_NOT_FOUND: 5092,
  TOO_MANY_PROPERTIES: 6104, // D10: more than 200 properties in one message
  METHOD_INVALID: 6300, // D10: method missing or not matching the topic
  TSL_PARAMS_NOT_EXIST: 6304, // identifier not defined in the TSL
  TSL_NOT_INT: 6306,
  TSL_NOT_FLOAT: 6307, // D10: float/double
  TSL_NOT_BOOL: 6308, // D10: 0 or 1
  TSL_NOT_ENUM: 6309,
  TSL_NOT_STRING: 6310,
  TSL_NOT_DATE: 6311, // D10: string of UTC ms
  TSL_STRUCT_INVALID: 6312,
  TSL_SERVICE_UNAVAILABLE: 6313,
  TSL_OUT_OF_RANGE: 6316, // D10: min/max
  TSL_TEXT_TOO_LONG: 6317, // D10
  TSL_IDENTIFIER_NOT_IN_PRODUCT: 6321,
  TSL_ARRAY_INVALID: 6324, // D10: not an array or more elements than its size
  PACK_TOO_MANY_SUBDEVICES: 6356,
  PACK_TOO_MANY_ITEMS: 6357,

  // Data-parsing script (§3.8)
  SCRIPT_EMPTY: 26001,
  SCRIPT_ERROR: 26002,
  SCRIPT_MISSING_FUNCTION: 26006,
  SCRIPT_RESULT_INVALID: 26007,
  SCRIPT_THROTTLED: 26010,

  // Downlink-reply-only (cloud side, §3.10 / §6.7)
  DEVICE_NOT_ACTIVATED: 9200,
  DEVICE_OFFLINE: 9201,
} as const;

export type AlinkCode = (typeof ALINK)[keyof typeof ALINK];

/** 100000–110000 are reserved for device-defined errors in replies to set/service (§3.10). */
export const isDeviceDefinedCode = (code: number): boolean =>
  Number.isInteger(code) && code >= 100000 && code <= 110000;

const MESSAGES: Partial<Record<number, string>> = {
  [ALINK.SUCCESS]: 'success', // §3.2: "success" on success
  [ALINK.REQUEST_ERROR]: 'request error',
  [ALINK.AUTH_ERROR]: 'auth error',
  [ALINK.TOO_MANY_REQUESTS]: 'too many requests',
  [ALINK.PARAM_ERROR]: 'request parameter error',
  [ALINK.UNKNOWN_ERROR]: 'unknown error',
  [ALINK.DEVICE_NOT_FOUND]: 'device not found',
  [ALINK.PRODUCT_NOT_FOUND]: 'product not found',
  [ALINK.DEVICE_DISABLED]: 'device disabled',
  [ALINK.METHOD_INVALID]: 'method missing or not matching the topic',
  [ALINK.TSL_PARAMS_NOT_EXIST]: 'tsl parse: params not exist',
  [ALINK.TOO_MANY_PROPERTIES]: 'too many properties',
  [ALINK.SUBDEVICE_SIGN_INVALID]: 'invalid sign',
  [ALINK.SUBDEVICE_NO_SESSION]: 'sub-device has no session',
  [ALINK.SYSTEM_ERROR]: 'system error',
};

/** Default `message` for a reply with this code (§3.2). */
export const defaultMessage = (code: number): string => MESSAGES[code] ?? 'error';
