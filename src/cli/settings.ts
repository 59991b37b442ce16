/**
 * One line per setting for `thingql <command> --help` and docs/operations.md. The list of settings, their defaults
 * and allowed values come from the zod schema in src/config.ts; a setting can also carry its text there with
 * `.describe('...')`, which wins over this table. test/unit/cli-help.test.ts fails when a setting has no text.
 */
export const SETTING_TEXT: Record<string, string> = {
  PORT: 'HTTP port: GraphQL, GraphiQL, MQTT over WebSocket at /mqtt, health and metrics',
  MQTT_PORT: 'MQTT over TCP (also the default broker port of `thingql simulate`)',
  HOST: 'address to listen on (0.0.0.0: all)',
  DATABASE_URL:
    'postgres://user:pass@host/db uses that PostgreSQL; memory:// an in-memory embedded database; unset: the embedded database in DATA_DIR',
  DATA_DIR: 'directory of the embedded database (private to this user, one process at a time)',
  DATABASE_WAIT_MS: 'how long a start retries an unreachable DATABASE_URL before giving up, in ms (0: one try)',
  REDIS_URL: 'several instances: MQTT routing and event fan-out through this Redis',
  ADMIN_TOKEN:
    'bearer token with the ADMIN role (16+ characters); unset: generated at the first start and printed once (thingql admin-token --reset makes a new one)',
  SECRET_KEY: '32 bytes in base64 that encrypt device secrets at rest; unset: generated and kept in the database',
  LOG_LEVEL: 'log level',
  LOG_FORMAT: 'auto: human-readable on a terminal, JSON lines otherwise',
  MQTT_MAX_PAYLOAD: 'largest MQTT payload in bytes (Alink decision D18)',
  MQTT_TLS_CERT: 'PEM certificate file: also listen for MQTT over TLS on MQTTS_PORT',
  MQTT_TLS_KEY: 'PEM private key file of MQTT_TLS_CERT',
  MQTTS_PORT: 'MQTT over TLS (with MQTT_TLS_CERT and MQTT_TLS_KEY)',
  AUTH_MAX_CLOCK_SKEW_MS:
    'refuse device logins (and sub-device signatures) whose signed timestamp is missing or further off than this, in ms (0: off)',
  EVENT_RETENTION_DAYS: 'days the event log is kept (subscriptions resume within it)',
  HISTORY_RETENTION_DAYS: 'days property, event and service history is kept',
  COMMIT_DELAY_MS: 'group commit: how long ingest gathers work before a commit, in ms',
  SUBSCRIPTION_CACHE_MAX_BYTES: 'memory budget of the shared GraphQL subscription result cache, in bytes',
  INGEST_QUEUE_MAX_BYTES:
    'bytes of device messages waiting for their commit; past it devices get their PUBACK only once the queue drains (backpressure)',
  SUBSCRIBER_BUFFER: 'events buffered for a slow subscriber before its stream ends with a resumable cursor',
  PRINT_ADMIN_TOKEN: 'print the generated admin token at the first start (to stderr, outside the log)',
  PUBLIC_URL: 'how devices reach this platform over HTTP (firmware download links), e.g. https://iot.example.com',
  RULE_RETRY_BASE_MS: 'rules: first retry delay of a failed delivery, in ms',
  RULE_RETRY_MAX_MS: 'rules: how long to retry a delivery before dead-lettering it, in ms',
  OPENAPI_MAX_CLOCK_SKEW_S:
    'Alibaba OpenAPI: refuse requests whose signed time is further off the server clock than this, in seconds',
  CONSOLE_DIR: 'directory of the built web console served at / (unset: console/dist in the package)',
  CONSOLE_BUILD_ON_START: 'thingql serve builds the web console when it has no build yet',
  AMQP_PORT: 'AMQP 1.0 server-side subscription port (Alibaba AMQP consumers); unset: off',
  AMQPS_PORT: 'AMQP over TLS (with AMQP_TLS_CERT and AMQP_TLS_KEY)',
  AMQP_TLS_CERT: 'PEM certificate file: also listen for AMQP over TLS on AMQPS_PORT',
  AMQP_TLS_KEY: 'PEM private key file of AMQP_TLS_CERT',
  AMQP_MAX_CLOCK_SKEW_MS: 'AMQP: refuse logins whose signed timestamp is further off than this, in ms (0: off)',
  AMQP_ACK_TIMEOUT_MS: 'AMQP: an unsettled delivery older than this is delivered again, in ms',
  AMQP_BACKLOG_MAX_AGE_H: "AMQP: messages older than this (hours) are dropped from a consumer group's backlog",
  AMQP_MAX_CONNECTIONS_PER_GROUP: 'AMQP: most client connections of one consumer group (per instance)',
  GRAPHQL_MAX_BODY_BYTES:
    'largest GraphQL request body or graphql-ws message in bytes (firmware uploads keep their own cap)',
  GRAPHQL_MAX_TOKENS: 'most lexical tokens in a GraphQL document (parsing stops there)',
  GRAPHQL_MAX_COST: 'most estimated resolver calls of one operation (list sizes multiply)',
  GRAPHQL_MAX_FIELDS: 'most fields in one operation, fragments expanded',
  GRAPHQL_MAX_ALIASES: 'most aliased fields in one operation',
  GRAPHQL_RATE_LIMIT: 'query cost budget per API key per minute, per instance (0: unlimited); RATE_LIMITED beyond',
  RULE_ALLOW_PRIVATE_TARGETS:
    'rules may deliver to loopback, link-local and private addresses (local webhooks, a local RabbitMQ)',
  RULE_PRIVATE_TARGETS:
    'with RULE_ALLOW_PRIVATE_TARGETS=true: only these private addresses or CIDR ranges (comma-separated; empty: all)',
  RULE_MAX_PER_PRODUCT: 'most rules reading one product',
  MQTT_MAX_SUBSCRIPTIONS_PER_DEVICE:
    "subscriptions one device may make on a connection (the platform's automatic ones do not count; a gateway's sub-devices count separately); past it SUBACK 0x80",
  MQTT_MAX_RETAINED_PER_DEVICE:
    'retained messages one device may hold; past it a retained publish is stored but not retained (429 on /ext/error)',
  MQTT_RETAINED_TTL_SECONDS: 'retained messages older than this are deleted, in seconds',
  MQTT_HEARTBEAT_MS:
    "broker heartbeat, in ms: an instance silent for 3 heartbeats is dead and the others publish its clients' wills",
  AUTH_MAX_FAILURES_PER_SOURCE:
    'failed device logins per source address per minute before its logins are refused with CONNACK 3 (0: off)',
  AUTH_MAX_FAILURES_PER_DEVICE:
    'failed logins per device per minute before its logins are refused with CONNACK 3 for the rest of the minute (0: off)',
  DYNAMIC_REGISTRATION_PER_MINUTE:
    'dynamic registrations (HTTPS and MQTT) per product per minute; past it code 429 / CONNACK 3 (0: off)',
  SUB_REGISTRATION_PER_MINUTE:
    'sub-devices one gateway may register per minute with thing/sub/register; past it code 429 (0: off)',
};
