/** Command-line options of `thingql simulate` (parsed here, run by simulate.ts). */
import { parseArgs } from 'node:util';
import { defaultGraphqlUrl, defaultMqttUrl } from './broker-check.ts';
import { SimulationError } from './provision.ts';

export const SIMULATE_USAGE = `usage: thingql simulate --product <productKey> [--devices N] [--rate R] [options]

Runs N simulated devices against a ThingQL platform. They log in with the Alink signature, post random
TSL-valid properties and events at R messages per second in total (spread evenly across the devices), and
answer property sets, property gets, services (async and sync) and raw RRPC (echoed). A progress line goes
to stderr; a summary goes to stdout when the run ends (--duration, or Ctrl-C).

Devices are named <prefix>0001..N: missing ones are registered (registerDevices), existing ones get a new
secret (resetDeviceSecret, which needs an ADMIN token).

options:
  --product <pk>         product key (required); its thing model drives the values
  --devices <N>          number of devices (default 10)
  --rate <R>             property and event posts per second, all devices together (default 10)
  --duration <seconds>   stop after this long (default: run until Ctrl-C)
  --graphql-url <url>    GraphQL endpoint (default http://localhost:$PORT/graphql, PORT 4000 when unset)
  --token <token>        API token (default: env THINGQL_TOKEN, then ADMIN_TOKEN)
  --mqtt-url <url>       broker (default mqtt://localhost:$MQTT_PORT, 1883 when unset; ws://host:4000/mqtt works too).
                         A broker that is not ThingQL (e.g. Mosquitto) is detected and reported before any device starts
  --prefix <text>        device name prefix (default sim-)
  --qos <0|1>            QoS of the posts (default 1)
  --events-ratio <0..1>  share of event posts among the posts (default 0.1)
  --properties <n>       properties per property post, picked at random (default: all)
  --concurrency <n>      logins in parallel (default 50)
  --json                 print the summary as JSON
  -h, --help             show this text

exit status: 0 when every post was answered with code 200 and nothing failed, 1 otherwise, 2 on bad options.
`;

export interface CliOptions {
  productKey: string;
  devices: number;
  rate: number;
  durationSeconds: number | undefined;
  graphqlUrl: string;
  token: string | undefined;
  mqttUrl: string;
  prefix: string;
  qos: 0 | 1;
  eventsRatio: number;
  propertiesPerPost: number | undefined;
  concurrency: number;
  json: boolean;
}

function num(
  name: string,
  raw: string | undefined,
  fallback: number | undefined,
  check: (n: number) => boolean,
  what: string,
): number | undefined {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || !check(n))
    throw new SimulationError('INVALID_OPTIONS', `--${name} must be ${what} (got "${raw}")`);
  return n;
}

const positiveInt = (n: number) => Number.isInteger(n) && n >= 1;

/** Returns null for --help. Throws SimulationError('INVALID_OPTIONS') with a one-line reason. */
export function parseSimulateArgs(argv: string[], env: NodeJS.ProcessEnv): CliOptions | null {
  const parse = () =>
    parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        product: { type: 'string' },
        devices: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        'graphql-url': { type: 'string' },
        token: { type: 'string' },
        'mqtt-url': { type: 'string' },
        prefix: { type: 'string' },
        qos: { type: 'string' },
        'events-ratio': { type: 'string' },
        properties: { type: 'string' },
        concurrency: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  let values: ReturnType<typeof parse>;
  try {
    values = parse();
  } catch (e) {
    throw new SimulationError('INVALID_OPTIONS', (e as Error).message);
  }
  if (values.help) return null;
  if (!values.product) throw new SimulationError('INVALID_OPTIONS', '--product <productKey> is required');
  const qos = num('qos', values.qos, 1, (n) => n === 0 || n === 1, '0 or 1') as 0 | 1;
  const prefix = values.prefix ?? 'sim-';
  if (!/^[A-Za-z0-9_@.:-]{0,27}$/.test(prefix)) {
    throw new SimulationError(
      'INVALID_OPTIONS',
      '--prefix may use letters, digits and -_@.: and leave room for the 4-digit number (at most 27 characters)',
    );
  }
  return {
    productKey: values.product,
    devices: num('devices', values.devices, 10, positiveInt, 'a positive integer')!,
    rate: num('rate', values.rate, 10, (n) => n > 0, 'a positive number')!,
    durationSeconds: num('duration', values.duration, undefined, (n) => n > 0, 'a positive number of seconds'),
    graphqlUrl: values['graphql-url'] ?? defaultGraphqlUrl(env),
    token: values.token ?? env.THINGQL_TOKEN ?? env.ADMIN_TOKEN,
    mqttUrl: values['mqtt-url'] ?? defaultMqttUrl(env),
    prefix,
    qos,
    eventsRatio: num('events-ratio', values['events-ratio'], 0.1, (n) => n >= 0 && n <= 1, 'between 0 and 1')!,
    propertiesPerPost: num('properties', values.properties, undefined, positiveInt, 'a positive integer'),
    concurrency: num('concurrency', values.concurrency, 50, positiveInt, 'a positive integer')!,
    json: values.json ?? false,
  };
}
