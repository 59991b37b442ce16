/**
 * Moves a consumer group's cursor after the settled prefix at most every 200 ms, off the delivery path: the cursor only
 * bounds what a restart or another instance re-reads (claims and settlements are what keep delivery exact).
 */
export class CursorAdvancer {
  private advancing: Promise<unknown> | null = null;
  /** A move is wanted but was held back (too soon, or one is running). */
  private dirty = false;
  private lastAt = 0;
  private lastScanned = -1;

  constructor(
    private readonly advance: (scanned: number) => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** After a pump: move when something was settled or scanned since the last move, or a move is still wanted. */
  afterPump(scanned: number, settled: boolean): void {
    if (settled || scanned !== this.lastScanned || this.dirty) this.soon(scanned);
  }

  /** A tick: a move held back may go at the next pump. */
  tick(): void {
    if (this.dirty) this.lastAt = 0;
  }

  /** Resolves when no move is running. */
  async idle(): Promise<void> {
    await this.advancing;
  }

  private soon(scanned: number): void {
    this.dirty = true;
    if (this.advancing || Date.now() - this.lastAt < 200) return;
    this.dirty = false;
    this.lastAt = Date.now();
    this.lastScanned = scanned;
    this.advancing = this.advance(scanned)
      .catch(this.onError)
      .finally(() => (this.advancing = null));
  }
}
