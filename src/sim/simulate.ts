/**
 * The device simulator: provisions N devices through the GraphQL API, logs them in over MQTT with the
 * Alink signature, paces property and event posts at R per second in total (round-robin, so evenly across the
 * devices), lets the devices answer cloud commands, and returns a Summary. `thingql simulate` is a thin CLI over
 * `runSimulation`, which benchmarks call in-process.
 */
import { assertThingQLBroker } from './broker-check.ts';
import { SimDevice } from './device.ts';
import { type CliOptions, parseSimulateArgs, SIMULATE_USAGE } from './cli.ts';
import { graphqlClient, provision, SimulationError } from './provision.ts';
import { formatSummary, SimStats, type Summary } from './stats.ts';
import { seededRng } from './values.ts';

export { SimulationError } from './provision.ts';
export type { Summary } from './stats.ts';

export interface SimulationOptions {
  productKey: string;
  devices: number;
  /** property and event posts per second, all devices together */
  rate: number;
  graphqlUrl?: string;
  token?: string;
  mqttUrl?: string;
  /** absent: run until `signal` aborts */
  durationSeconds?: number;
  prefix?: string;
  qos?: 0 | 1;
  /** share of event posts (default 0.1); products without events post properties only */
  eventsRatio?: number;
  /** properties per property post, picked at random (default: all of them) */
  propertiesPerPost?: number;
  /** logins in parallel (default 50) */
  concurrency?: number;
  /** posts awaiting their post_reply per device before the device is skipped (default 100, alink-protocol.md §7) */
  maxInFlight?: number;
  /** a post without post_reply after this long is an error (default 10 s) */
  replyTimeoutMs?: number;
  /** how long to wait for outstanding post_replies at the end (default 5 s) */
  drainMs?: number;
  /** check first that the broker is ThingQL (a wrongly signed login must be refused), default true */
  checkBroker?: boolean;
  /** reconnect devices after an unexpected disconnect (default true) */
  reconnect?: boolean;
  seed?: number;
  signal?: AbortSignal;
  /** called with a progress line every `progressIntervalMs` (default 1000) */
  progress?: (line: string) => void;
  progressIntervalMs?: number;
  /** informational messages (provisioning, logins) */
  log?: (message: string) => void;
  /** called once every device has logged in, before the first post */
  onReady?: (info: { productKey: string; deviceNames: string[] }) => void | Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connect every device, `concurrency` at a time; failures are counted, the first one kept for the message. */
async function loginAll(
  devices: SimDevice[],
  concurrency: number,
  stats: SimStats,
  signal?: AbortSignal,
): Promise<{ online: SimDevice[]; firstError?: string }> {
  const online: SimDevice[] = [];
  let firstError: string | undefined;
  let next = 0;
  const worker = async () => {
    while (next < devices.length && !signal?.aborted) {
      const d = devices[next++]!;
      try {
        await d.connect();
        online.push(d);
      } catch (e) {
        stats.loginFailures++;
        stats.error('login');
        firstError ??= `${d.creds.deviceName}: ${(e as Error).message}`;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, devices.length) }, worker));
  // Keep the name order, so round-robin spreads posts the same way on every run.
  online.sort((a, b) => (a.creds.deviceName < b.creds.deviceName ? -1 : 1));
  return { online, ...(firstError !== undefined ? { firstError } : {}) };
}

function checkOptions(o: SimulationOptions): void {
  const bad = (what: string) => {
    throw new SimulationError('INVALID_OPTIONS', what);
  };
  if (!o.productKey) bad('productKey is required');
  if (!Number.isInteger(o.devices) || o.devices < 1) bad('devices must be a positive integer');
  if (!(o.rate > 0) || !Number.isFinite(o.rate)) bad('rate must be a positive number');
  if (o.durationSeconds !== undefined && !(o.durationSeconds > 0)) bad('durationSeconds must be positive');
  if (o.eventsRatio !== undefined && !(o.eventsRatio >= 0 && o.eventsRatio <= 1))
    bad('eventsRatio must be between 0 and 1');
}

export async function runSimulation(options: SimulationOptions): Promise<Summary> {
  checkOptions(options);
  const o = {
    graphqlUrl: 'http://localhost:4000/graphql',
    mqttUrl: 'mqtt://localhost:1883',
    prefix: 'sim-',
    qos: 1 as const,
    eventsRatio: 0.1,
    concurrency: 50,
    maxInFlight: 100,
    replyTimeoutMs: 10_000,
    drainMs: 5_000,
    reconnect: true,
    checkBroker: true,
    progressIntervalMs: 1000,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  } as SimulationOptions &
    Required<
      Omit<
        SimulationOptions,
        'durationSeconds' | 'token' | 'propertiesPerPost' | 'seed' | 'signal' | 'progress' | 'log' | 'onReady'
      >
    >;
  const log = o.log ?? (() => {});
  const rng = o.seed === undefined ? Math.random : seededRng(o.seed);
  const startedAt = performance.now();

  if (o.checkBroker) await assertThingQLBroker(o.mqttUrl);
  const gql = graphqlClient(o.graphqlUrl, o.token);
  const p = await provision(gql, o.productKey, o.prefix, o.devices);
  log(
    `product ${o.productKey}: ${p.devices.length} devices (${p.registered} registered, ${p.reset} with a new secret)`,
  );

  const stats = new SimStats();
  const ctx = {
    model: p.model,
    stats,
    qos: o.qos,
    rng,
    propertiesPerPost: o.propertiesPerPost,
    mqttUrl: o.mqttUrl,
    reconnect: o.reconnect,
  };
  const all = p.devices.map((c) => new SimDevice(c, ctx));
  const loginStart = performance.now();
  const { online, firstError } = await loginAll(all, o.concurrency, stats, o.signal);
  if (online.length === 0 && !o.signal?.aborted) {
    throw new SimulationError(
      'LOGIN_FAILED',
      `no device could log in to ${o.mqttUrl}: ${firstError ?? 'unknown error'}`,
    );
  }
  log(
    `${online.length}/${all.length} devices logged in over ${o.mqttUrl} in ${((performance.now() - loginStart) / 1000).toFixed(1)}s${firstError ? ` (first failure: ${firstError})` : ''}`,
  );
  if (o.onReady) {
    void Promise.resolve()
      .then(() => o.onReady!({ productKey: o.productKey, deviceNames: online.map((d) => d.creds.deviceName) }))
      .catch((e: unknown) => log(`onReady failed: ${(e as Error).message}`));
  }

  // The pacer: every tick sends what is due by now, round-robin over the devices with room in their window.
  const t0 = performance.now();
  const tickMs = Math.min(20, Math.max(2, 1000 / o.rate));
  const maxBurst = Math.max(1, Math.ceil(o.rate / 4)); // after a stall, at most 250 ms worth at once
  let scheduled = 0;
  let cursor = 0;
  const pacer = setInterval(() => {
    const due = Math.floor((o.rate * (performance.now() - t0)) / 1000);
    let n = due - scheduled;
    scheduled = due;
    if (n > maxBurst) {
      stats.skipped += n - maxBurst;
      n = maxBurst;
    }
    for (let i = 0; i < n; i++) {
      let sent = false;
      for (let tries = 0; tries < online.length && !sent; tries++) {
        const d = online[cursor++ % online.length]!;
        if (d.isOnline && d.inFlight < o.maxInFlight) {
          d.post(rng() < o.eventsRatio);
          sent = true;
        }
      }
      if (!sent) stats.skipped++;
    }
  }, tickMs);
  const elapsed = () => (performance.now() - t0) / 1000;
  const ticker = setInterval(() => {
    const now = performance.now();
    for (const d of online) d.expire(now, o.replyTimeoutMs);
    o.progress?.(stats.progressLine(elapsed(), all.length));
  }, o.progressIntervalMs);

  await new Promise<void>((resolve) => {
    if (o.signal?.aborted) return resolve();
    const timer = o.durationSeconds === undefined ? undefined : setTimeout(resolve, o.durationSeconds * 1000);
    o.signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
  clearInterval(pacer);
  const sendSeconds = elapsed();
  const connectedAtEnd = stats.connected;

  // Drain: the last posts get their replies (or count as timed out), then every device disconnects.
  const drainUntil = performance.now() + o.drainMs;
  while (online.some((d) => d.inFlight > 0) && performance.now() < drainUntil) await sleep(20);
  clearInterval(ticker);
  for (const d of online) d.expire(Number.POSITIVE_INFINITY, 0);
  o.progress?.(stats.progressLine(elapsed(), all.length));
  await Promise.all(online.map((d) => d.close()));

  return stats.summary({
    productKey: o.productKey,
    qos: o.qos,
    targetRate: o.rate,
    durationSeconds: sendSeconds,
    totalSeconds: (performance.now() - startedAt) / 1000,
    requested: all.length,
    connected: connectedAtEnd,
  });
}

/** `thingql simulate ...`: returns the exit status (see SIMULATE_USAGE). */
export async function simulateCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let cli: CliOptions | null;
  try {
    cli = parseSimulateArgs(argv, env);
  } catch (e) {
    process.stderr.write(`thingql simulate: ${(e as Error).message}\n\n${SIMULATE_USAGE}`);
    return 2;
  }
  if (cli === null) {
    process.stdout.write(SIMULATE_USAGE);
    return 0;
  }
  const tty = process.stderr.isTTY === true;
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130); // a second Ctrl-C: leave now
    interrupted = true;
    if (tty) process.stderr.write('\n');
    process.stderr.write('stopping: waiting for the last replies (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runSimulation({
      ...cli,
      ...(cli.token !== undefined ? { token: cli.token } : {}),
      signal: controller.signal,
      log: (m) => process.stderr.write(`${m}\n`),
      // On a terminal the line is rewritten in place; in a log file, one line every 5 s.
      progress: (line) => process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`),
      progressIntervalMs: tty ? 1000 : 5000,
    });
    if (tty) process.stderr.write('\n');
    process.stdout.write(cli.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
    return summary.errors === 0 && summary.replies.other === 0 ? 0 : 1;
  } catch (e) {
    if (!(e instanceof SimulationError)) throw e;
    process.stderr.write(`thingql simulate: ${e.message}\n`);
    return e.code === 'INVALID_OPTIONS' ? 2 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
