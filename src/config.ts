import { z } from 'zod';

/**
 * The only reader of process.env (architecture.md §2). Settings come from the environment and from
 * `thingql serve --flag value` arguments (flags win); everything is validated once and every problem is
 * reported together.
 */
/**
 * Whole decimal numbers only. z.coerce.number would read PORT=" " as 0 (a random port), "0x10" as 16 and "1e3" as
 * 1000; a typo must be reported, not reinterpreted.
 */
const whole = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
    z
      .number({ error: (i) => `must be a whole number (got ${JSON.stringify(i.input)})` })
      .int({ error: (i) => `must be a whole number (got ${JSON.stringify(i.input)})` })
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`),
  );
const port = (def: number) => whole(0, 65535).default(def);
const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const duration = whole(1);

export const configSchema = z
  .object({
    PORT: port(4000),
    MQTT_PORT: port(1883),
    HOST: z.string().min(1).default('0.0.0.0'),
    DATABASE_URL: z
      .string()
      .refine(
        (v) => /^(postgres(ql)?:\/\/|memory:\/\/)/.test(v),
        'must start with postgres://, postgresql:// or memory://',
      )
      .optional(),
    DATA_DIR: z.string().min(1).default('./data'),
    /** How long a start retries an unreachable DATABASE_URL before giving up, in ms (0: one try). */
    DATABASE_WAIT_MS: whole(0).default(30_000),
    REDIS_URL: z
      .string()
      .refine((v) => /^rediss?:\/\//.test(v), 'must start with redis:// or rediss://')
      .optional(),
    ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    SECRET_KEY: z
      .string()
      .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes encoded in base64')
      .optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** auto: human-readable lines on a terminal, JSON lines otherwise. */
    LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
    /** alink-protocol.md D18: broker payload limit in bytes. */
    MQTT_MAX_PAYLOAD: whole(1024, 16 * 1024 * 1024).default(256 * 1024),
    MQTT_TLS_CERT: z.string().optional(),
    MQTT_TLS_KEY: z.string().optional(),
    MQTTS_PORT: port(8883),
    /**
     * alink-protocol.md D2: optional maximum clock skew of the signed timestamp, in ms. 0 (default) = not enforced: the C
     * Link SDK sends a fixed 2524608000000. When set, a ClientId without a timestamp is refused, and sub-device
     * signatures must carry a fresh one too (docs/security-device.md).
     */
    AUTH_MAX_CLOCK_SKEW_MS: whole(0).default(0),
    EVENT_RETENTION_DAYS: duration.default(7),
    HISTORY_RETENTION_DAYS: duration.default(30),
    /** Group commit: how long the ingest writer waits to gather a batch, in ms. */
    COMMIT_DELAY_MS: whole(0, 1000).default(2),
    /**
     * Memory budget of the ingest queue (messages received, not yet committed), in bytes. Past it devices get no
     * PUBACK until the queue drains (backpressure), instead of the queue growing.
     */
    INGEST_QUEUE_MAX_BYTES: whole(1024 * 1024).default(64 * 1024 * 1024),
    /** Memory budget of the shared GraphQL subscription result cache, in bytes. */
    SUBSCRIPTION_CACHE_MAX_BYTES: whole(64 * 1024).default(32 * 1024 * 1024),
    /** Slow GraphQL subscriber policy: events buffered before the stream is closed with a resumable cursor. */
    SUBSCRIBER_BUFFER: whole(10).default(10_000),
    PRINT_ADMIN_TOKEN: bool.default(true),
    /** How devices reach this platform over HTTP (firmware download links), e.g. https://iot.example.com. */
    PUBLIC_URL: z
      .string()
      .refine((v) => /^https?:\/\/[^/\s]+/.test(v), 'must be an http:// or https:// URL')
      .transform((v) => v.replace(/\/+$/, ''))
      .optional(),
    /** Rules engine: first retry delay of a failed delivery, and how long to keep retrying before dead-lettering (ms). */
    RULE_RETRY_BASE_MS: whole(10).default(1000),
    RULE_RETRY_MAX_MS: whole(0).default(120_000),
    /** cloud-api.md §3: Alibaba OpenAPI requests whose signed time differs from the server clock by more are refused (s). */
    OPENAPI_MAX_CLOCK_SKEW_S: whole(1, 86_400).default(900),
    /** The built web console served at `/` (docs/console.md); unset: console/dist in the package. */
    CONSOLE_DIR: z.string().min(1).optional(),
    /** `thingql serve` builds the console when CONSOLE_DIR has no build (docs/console.md); false: never. */
    CONSOLE_BUILD_ON_START: bool.default(true),
    /** cloud-api.md §7.1: AMQP 1.0 server-side subscription. Unset: off (5672 is RabbitMQ's port on many hosts). */
    AMQP_PORT: whole(0, 65535).optional(),
    /** AMQP over TLS, only when AMQP_TLS_CERT and AMQP_TLS_KEY (PEM paths) are set. */
    AMQPS_PORT: port(5671),
    AMQP_TLS_CERT: z.string().optional(),
    AMQP_TLS_KEY: z.string().optional(),
    /** Limit on the age of the login timestamp in ms (0: not enforced; Alibaba's Node sample hard-codes one). */
    AMQP_MAX_CLOCK_SKEW_MS: whole(0).default(0),
    /** An unsettled delivery older than this is redelivered (ms). */
    AMQP_ACK_TIMEOUT_MS: whole(100).default(30_000),
    /** Messages older than this (hours) are dropped from a group's backlog; never beyond EVENT_RETENTION_DAYS. */
    AMQP_BACKLOG_MAX_AGE_H: whole(1).default(24),
    AMQP_MAX_CONNECTIONS_PER_GROUP: whole(1).default(128),
    // Hardening (docs/security.md): GraphQL request limits.
    /** Largest GraphQL request body in bytes (JSON, GET query strings); multipart firmware uploads keep their own cap. */
    GRAPHQL_MAX_BODY_BYTES: whole(1024, 64 * 1024 * 1024).default(1024 * 1024),
    /** Most lexical tokens a GraphQL document may have (parsing stops there). */
    GRAPHQL_MAX_TOKENS: whole(100).default(10_000),
    /** Most estimated resolver calls of one operation (list sizes multiply: `first`, default page 50, other lists 10). */
    GRAPHQL_MAX_COST: whole(100).default(100_000),
    /** Most fields (after fragment expansion) in one operation. */
    GRAPHQL_MAX_FIELDS: whole(10).default(2_000),
    /** Most aliased fields in one operation. */
    GRAPHQL_MAX_ALIASES: whole(0).default(100),
    /** Cost budget per API key (and the admin token) per minute, per instance; 0 = unlimited. RATE_LIMITED beyond. */
    GRAPHQL_RATE_LIMIT: whole(0).default(1_000_000),
    // Rules engine limits.
    /** WEBHOOK/AMQP actions may reach loopback, link-local, private, unspecified and multicast addresses. */
    RULE_ALLOW_PRIVATE_TARGETS: bool.default(false),
    /** With RULE_ALLOW_PRIVATE_TARGETS=true: only these private ranges (comma-separated CIDRs or addresses); empty = all. */
    RULE_PRIVATE_TARGETS: z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      )
      .refine(
        (list) => list.every((c) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(c)),
        'must be a comma-separated list of IP addresses or CIDR ranges',
      ),
    /** Most rules reading one product (rules over every product count as one group). */
    RULE_MAX_PER_PRODUCT: whole(1).default(1000),
    // Device-side limits (docs/security-device.md). 0 turns a per-minute limit off.
    /** §7: subscriptions per device identity on one connection (a gateway's sub-devices count separately). */
    MQTT_MAX_SUBSCRIPTIONS_PER_DEVICE: whole(1, 100_000).default(100),
    /** Retained messages one device may hold; past it a retained publish is stored without retaining (429 on /ext/error). */
    MQTT_MAX_RETAINED_PER_DEVICE: whole(0, 100_000).default(100),
    /** Retained messages older than this are deleted (seconds; the reference keeps offline messages 7 days). */
    MQTT_RETAINED_TTL_SECONDS: whole(60).default(7 * 24 * 3600),
    /** aedes heartbeat: an instance silent for 3 heartbeats is dead and its clients' wills are published by the others. */
    MQTT_HEARTBEAT_MS: whole(100, 3_600_000).default(60_000),
    /** Failed logins per source address per minute (unknown devices included) before logins are refused (CONNACK 3). */
    AUTH_MAX_FAILURES_PER_SOURCE: whole(0).default(60),
    /** Failed logins per device per minute before its logins are refused for the rest of the minute (CONNACK 3). */
    AUTH_MAX_FAILURES_PER_DEVICE: whole(0).default(10),
    /** Dynamic registrations (HTTPS and MQTT, §1.6) per product per minute; past it code 429 / CONNACK 3. */
    DYNAMIC_REGISTRATION_PER_MINUTE: whole(0).default(60),
    /** Sub-devices a gateway may register per minute with thing/sub/register; past it code 429. */
    SUB_REGISTRATION_PER_MINUTE: whole(0).default(60),
  })
  .superRefine(
    (c, ctx) => {
      if (c.GRAPHQL_RATE_LIMIT > 0 && c.GRAPHQL_RATE_LIMIT < c.GRAPHQL_MAX_COST) {
        ctx.addIssue({
          code: 'custom',
          path: ['GRAPHQL_RATE_LIMIT'],
          message: 'must be 0 (unlimited) or at least GRAPHQL_MAX_COST',
        });
      }
      if (Boolean(c.MQTT_TLS_CERT) !== Boolean(c.MQTT_TLS_KEY)) {
        ctx.addIssue({
          code: 'custom',
          path: ['MQTT_TLS_CERT'],
          message: 'MQTT_TLS_CERT and MQTT_TLS_KEY go together',
        });
      }
      if (Boolean(c.AMQP_TLS_CERT) !== Boolean(c.AMQP_TLS_KEY)) {
        ctx.addIssue({
          code: 'custom',
          path: ['AMQP_TLS_CERT'],
          message: 'AMQP_TLS_CERT and AMQP_TLS_KEY go together',
        });
      }
    },
    // Also when other settings are invalid: every problem is reported in one go, not one round at a time.
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  );

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const KEYS = Object.keys(configSchema.shape) as (keyof Config)[];

/** `--mqtt-port 1884` or `--mqtt-port=1884` → MQTT_PORT. */
export function parseFlags(argv: string[]): { values: Record<string, string>; unknown: string[] } {
  const values: Record<string, string> = {};
  const unknown: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      unknown.push(arg);
      continue;
    }
    const [rawName, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const key = rawName.toUpperCase().replace(/-/g, '_');
    if (!(KEYS as string[]).includes(key)) {
      unknown.push(arg);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) unknown.push(arg);
    else values[key] = value;
  }
  return { values, unknown };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: string[] = []): Config {
  const fromEnv: Record<string, string> = {};
  for (const key of KEYS) {
    const v = env[key];
    if (v !== undefined && v !== '') fromEnv[key] = v;
  }
  const flags = parseFlags(argv);
  const issues = flags.unknown.map((f) => `unknown argument ${f}`);
  const parsed = configSchema.safeParse({ ...fromEnv, ...flags.values });
  if (!parsed.success) {
    for (const i of parsed.error.issues) issues.push(`${i.path.join('.') || 'config'}: ${i.message}`);
  }
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);
  return parsed.data;
}

/** Test and embedding entry: defaults plus overrides, validated the same way. */
export function makeConfig(overrides: Partial<Record<keyof Config, unknown>> = {}): Config {
  const parsed = configSchema.safeParse(overrides);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return parsed.data;
}
