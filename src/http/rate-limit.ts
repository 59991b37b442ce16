/**
 * Per-key cost budget: a token bucket of `perMinute` cost units per API key (and one for the
 * admin token), refilled continuously, per instance. An operation takes its estimated cost (query-cost.ts); when the
 * bucket holds less, the operation is refused with RATE_LIMITED and how long to wait.
 */
export class CostBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** 0 when the cost was taken; otherwise the milliseconds until it would fit. */
  take(key: string, cost: number): number {
    if (this.perMinute <= 0) return 0;
    const now = this.now();
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * rate);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return 0;
    }
    // Keys come and go (revoked, rotated): full buckets carry no information and are dropped now and then.
    if (this.buckets.size > 10_000)
      for (const [k, v] of this.buckets) if (v.tokens >= this.perMinute) this.buckets.delete(k);
    return Math.ceil((cost - b.tokens) / rate);
  }
}
