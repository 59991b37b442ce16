/**
 * One line per setting for `thingql <command> --help` and docs/operations.md. The list of settings, their defaults
 * and allowed values come from the zod schema in src/config.ts; a setting can also carry its text there with
 * `.describe('...')`, which wins over this table. test/unit/cli-help.test.ts fails when a setting has no text.
 */
export const SETTING_TEXT: Record<string, string> = {
  PORT: 'HTTP port: GraphQL, GraphiQL, MQTT over WebSocket at /mqtt, health and metrics',
  MQTT_PORT: 'MQTT over TCP (also the default broker port of `thingql simulate`)',
  HOST: 'address to listen on (0.0.0.0: all)',
  DATABASE_URL: 'postgres://user:pass@host/db uses that PostgreSQL; memory:// an in-memory embedded database; unset: the embedded database in DATA_DIR',
  DATA_DIR: 'directory of the embedded database (private to this user, one process at a time)',
  DATABASE_WAIT_MS: 'how long a start retries an unreachable DATABASE_URL before giving up, in ms (0: one try)',
  REDIS_URL: 'several instances: MQTT routing and event fan-out through this Redis',
  ADMIN_TOKEN: 'bearer token with the ADMIN role (16+ characters); unset: generated at the first start and printed once (thingql admin-token --reset makes a new one)',
  SECRET_KEY: '32 bytes in base64 that encrypt device secrets at rest; unset: generated and kept in the database',
  LOG_LEVEL: 'log level',
  LOG_FORMAT: 'auto: human-readable on a terminal, JSON lines otherwise',
  MQTT_MAX_PAYLOAD: 'largest MQTT payload in bytes (Alink decision D18)',
  MQTT_TLS_CERT: 'PEM certificate file: also listen for MQTT over TLS on MQTTS_PORT',
  MQTT_TLS_KEY: 'PEM private key file of MQTT_TLS_CERT',
  MQTTS_PORT: 'MQTT over TLS (with MQTT_TLS_CERT and MQTT_TLS_KEY)',
  AUTH_MAX_CLOCK_SKEW_MS: 'refuse device logins (and sub-device signatures) whose signed timestamp is missing or further off than this, in ms (0: off)',
  EVENT_RETENTION_DAYS: 'days the event log is kept (subscriptions resume within it)',
  HISTORY_RETENTION_DAYS: 'days property, event and service history is kept',
  COMMIT_DELAY_MS: 'group commit: how long ingest gathers work before a commit, in ms',
  SUBSCRIBER_BUFFER: 'events buffered for a slow subscriber before its stream ends with a resumable cursor',
  PRINT_ADMIN_TOKEN: 'print the generated admin token at the first start (to stderr, outside the log)',
  PUBLIC_URL: 'how devices reach this platform over HTTP (firmware download links), e.g. https://iot.example.com',
  RULE_RETRY_BASE_MS: 'rules: first retry delay of a failed delivery, in ms',
  RULE_RETRY_MAX_MS: 'rules: how long to retry a delivery before dead-lettering it, in ms',
  MQTT_MAX_SUBSCRIPTIONS_PER_DEVICE: 'subscriptions one device may hold on a connection (a gateway\'s sub-devices count separately); past it SUBACK 0x80',
  MQTT_MAX_RETAINED_PER_DEVICE: 'retained messages one device may hold; past it a retained publish is stored but not retained (429 on /ext/error)',
  MQTT_RETAINED_TTL_SECONDS: 'retained messages older than this are deleted, in seconds',
  MQTT_HEARTBEAT_MS: 'broker heartbeat, in ms: an instance silent for 3 heartbeats is dead and the others publish its clients\' wills',
  AUTH_MAX_FAILURES_PER_SOURCE: 'failed device logins per source address per minute before its logins are refused with CONNACK 3 (0: off)',
  AUTH_MAX_FAILURES_PER_DEVICE: 'failed logins per device per minute before its logins are refused with CONNACK 3 for the rest of the minute (0: off)',
  DYNAMIC_REGISTRATION_PER_MINUTE: 'dynamic registrations (HTTPS and MQTT) per product per minute; past it code 429 / CONNACK 3 (0: off)',
  SUB_REGISTRATION_PER_MINUTE: 'sub-devices one gateway may register per minute with thing/sub/register; past it code 429 (0: off)',
};
