/**
 * Fixed-window counters per key (per instance, in memory): `limit` events per `windowMs`. Bounded: at most `maxKeys`
 * keys are tracked; when full, the oldest window is dropped (a flood of new keys cannot grow
 * memory, and the keys it pushes out only get a fresh window).
 */
export class WindowCounter {
  readonly #windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
    readonly maxKeys = 100_000,
    readonly now: () => number = Date.now,
  ) {}

  #current(key: string): { count: number; resetAt: number } | undefined {
    const w = this.#windows.get(key);
    if (w && w.resetAt <= this.now()) {
      this.#windows.delete(key);
      return undefined;
    }
    return w;
  }

  /** Events counted in the key's current window. */
  count(key: string): number {
    return this.#current(key)?.count ?? 0;
  }

  /** True when the key has used its window (limit 0 = unlimited). */
  exhausted(key: string): boolean {
    return this.limit > 0 && this.count(key) >= this.limit;
  }

  /** Count `n` events; false (and nothing counted) when that would exceed the limit. */
  take(key: string, n = 1): boolean {
    if (this.limit <= 0) return true;
    const w = this.#current(key);
    if ((w?.count ?? 0) + n > this.limit) return false;
    this.add(key, n);
    return true;
  }

  /** Count `n` events whatever the limit (failures are recorded even past it). */
  add(key: string, n = 1): void {
    if (this.limit <= 0) return;
    const w = this.#current(key);
    if (w) {
      w.count += n;
      return;
    }
    if (this.#windows.size >= this.maxKeys) this.#evict();
    this.#windows.set(key, { count: n, resetAt: this.now() + this.windowMs });
  }

  /** Windows are inserted in time order (a renewed window is re-inserted), so the first key is the oldest. O(1). */
  #evict(): void {
    this.#windows.delete(this.#windows.keys().next().value!);
  }
}
