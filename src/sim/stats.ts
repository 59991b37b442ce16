/**
 * Counters and latency percentiles of a simulation run. Latencies go into a log-bucketed histogram (buckets 1% wide
 * from 10 µs up), so an hour at thousands of messages per second costs a few KB and every percentile is within 1%.
 */

const MIN_MS = 0.01;
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);

export class LatencyHistogram {
  private buckets: number[] = [];
  count = 0;
  sum = 0;
  max = 0;

  record(ms: number): void {
    const v = Math.max(ms, 0);
    const i = v <= MIN_MS ? 0 : Math.ceil(Math.log(v / MIN_MS) / LOG_GROWTH);
    this.buckets[i] = (this.buckets[i] ?? 0) + 1;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** The value at quantile q (0..1): the upper bound of its bucket, never above the maximum seen. */
  percentile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i] ?? 0;
      if (seen >= rank) return Math.min(MIN_MS * GROWTH ** i, this.max);
    }
    return this.max;
  }

  reset(): void {
    this.buckets = [];
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }
}

export type SentKind = 'properties' | 'events' | 'setPosts';
export type CommandKind = 'propertySets' | 'propertyGets' | 'asyncServices' | 'syncServices' | 'rrpcEchoes';
export type ErrorKind = 'login' | 'publish' | 'replyTimeout' | 'disconnect' | 'command';

/** What a run reports (stdout summary, `--json`, and the return value of runSimulation). */
export interface Summary {
  productKey: string;
  /** `connected`: online when the sending phase ended */
  devices: { requested: number; connected: number; loginFailures: number };
  qos: 0 | 1;
  targetRate: number;
  /** posts sent per second over the sending phase */
  achievedRate: number;
  /** the sending phase (--duration, or until stopped) */
  durationSeconds: number;
  /** everything: provisioning, logins, sending, waiting for the last replies, disconnecting */
  totalSeconds: number;
  /** property and event posts published (by the pacer and after property sets) */
  sent: number;
  sentByKind: Record<SentKind, number>;
  /** PUBACKs received (QoS 1) or publishes written to the socket (QoS 0) */
  acked: number;
  /** the platform's post_reply answers: code 200 vs any other code */
  replies: { ok: number; other: number; byCode: Record<string, number> };
  errors: number;
  errorsByKind: Partial<Record<ErrorKind, number>>;
  /** pacer slots not used because no device was connected with room in its in-flight window */
  skipped: number;
  /** cloud → device commands the simulated devices answered */
  commands: Record<CommandKind, number>;
  /** publish → post_reply, in ms */
  latencyMs: { count: number; mean: number; p50: number; p90: number; p99: number; max: number };
}

export class SimStats {
  readonly latency = new LatencyHistogram();
  /** since the last progress line */
  readonly window = new LatencyHistogram();
  sentByKind: Record<SentKind, number> = { properties: 0, events: 0, setPosts: 0 };
  acked = 0;
  repliesByCode = new Map<number, number>();
  errorsByKind: Partial<Record<ErrorKind, number>> = {};
  skipped = 0;
  commands: Record<CommandKind, number> = {
    propertySets: 0,
    propertyGets: 0,
    asyncServices: 0,
    syncServices: 0,
    rrpcEchoes: 0,
  };
  connected = 0;
  loginFailures = 0;
  private lastSent = 0;
  private lastAt = performance.now();

  get sent(): number {
    return this.sentByKind.properties + this.sentByKind.events + this.sentByKind.setPosts;
  }

  get errors(): number {
    return Object.values(this.errorsByKind).reduce((a, b) => a + (b ?? 0), 0);
  }

  error(kind: ErrorKind): void {
    this.errorsByKind[kind] = (this.errorsByKind[kind] ?? 0) + 1;
  }

  reply(code: number, latencyMs: number): void {
    this.repliesByCode.set(code, (this.repliesByCode.get(code) ?? 0) + 1);
    this.latency.record(latencyMs);
    this.window.record(latencyMs);
  }

  /** One progress line; resets the window (msg/s and p50/p99 are over the time since the previous line). */
  progressLine(elapsedSeconds: number, requestedDevices: number): string {
    const now = performance.now();
    const rate = ((this.sent - this.lastSent) * 1000) / Math.max(1, now - this.lastAt);
    this.lastSent = this.sent;
    this.lastAt = now;
    const w = this.window;
    const pct = (q: number) => (w.count === 0 ? '-' : ms(w.percentile(q)));
    const line =
      `[${elapsedSeconds.toFixed(1)}s] devices ${this.connected}/${requestedDevices}  sent ${this.sent}  acked ${this.acked}  ` +
      `errors ${this.errors}  ${rate.toFixed(0)} msg/s  p50 ${pct(0.5)}  p99 ${pct(0.99)}`;
    this.window.reset();
    return line;
  }

  summary(
    base: Pick<Summary, 'productKey' | 'qos' | 'targetRate' | 'durationSeconds' | 'totalSeconds'> & {
      requested: number;
      connected: number;
    },
  ): Summary {
    const byCode: Record<string, number> = {};
    let ok = 0;
    let other = 0;
    for (const [code, n] of [...this.repliesByCode].sort((a, b) => a[0] - b[0])) {
      byCode[String(code)] = n;
      if (code === 200) ok += n;
      else other += n;
    }
    const h = this.latency;
    const round = (v: number) => Math.round(v * 1000) / 1000;
    return {
      productKey: base.productKey,
      devices: { requested: base.requested, connected: base.connected, loginFailures: this.loginFailures },
      qos: base.qos,
      targetRate: base.targetRate,
      achievedRate: round(this.sent / Math.max(base.durationSeconds, 1e-3)),
      durationSeconds: round(base.durationSeconds),
      totalSeconds: round(base.totalSeconds),
      sent: this.sent,
      sentByKind: { ...this.sentByKind },
      acked: this.acked,
      replies: { ok, other, byCode },
      errors: this.errors,
      errorsByKind: { ...this.errorsByKind },
      skipped: this.skipped,
      commands: { ...this.commands },
      latencyMs: {
        count: h.count,
        mean: round(h.count ? h.sum / h.count : 0),
        p50: round(h.percentile(0.5)),
        p90: round(h.percentile(0.9)),
        p99: round(h.percentile(0.99)),
        max: round(h.max),
      },
    };
  }
}

const ms = (v: number): string => (v >= 100 ? `${v.toFixed(0)}ms` : `${v.toFixed(1)}ms`);

/** The human-readable summary printed on stdout. */
export function formatSummary(s: Summary): string {
  const kinds = (r: Record<string, number | undefined>) =>
    Object.entries(r)
      .filter(([, n]) => (n ?? 0) > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  const l = s.latencyMs;
  return [
    `simulation of product ${s.productKey}: ${s.devices.connected}/${s.devices.requested} devices online, ${s.durationSeconds}s of posts (${s.totalSeconds}s in all), QoS ${s.qos}`,
    `  sent      ${s.sent} (${kinds(s.sentByKind)}) at ${s.achievedRate} msg/s (target ${s.targetRate})`,
    `  acked     ${s.acked}`,
    `  replies   code 200: ${s.replies.ok}, other: ${s.replies.other}${s.replies.other ? ` (${kinds(s.replies.byCode)})` : ''}`,
    `  errors    ${s.errors}${s.errors ? ` (${kinds(s.errorsByKind)})` : ''}${s.skipped ? `; ${s.skipped} slots skipped (no device ready)` : ''}`,
    `  answered  ${kinds(s.commands)}`,
    `  latency   publish → post_reply: p50 ${ms(l.p50)}, p90 ${ms(l.p90)}, p99 ${ms(l.p99)}, max ${ms(l.max)} (${l.count} replies)`,
    '',
  ].join('\n');
}
