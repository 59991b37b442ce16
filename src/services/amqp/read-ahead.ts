import type { StepRow } from './deliveries.ts';

interface Page {
  after: number;
  head: number;
  limit: number;
  rows: Promise<StepRow[]>;
}

/**
 * The next page of a group's scan, read and claimed while the current one is being sent (its limit is the credit left
 * after the current page, so read-ahead stays within credit). The next pump uses it when it continues from where the
 * page starts.
 */
export class ReadAhead {
  private page: Page | null = null;

  start(page: Omit<Page, 'rows'>, rows: Promise<StepRow[]>): void {
    rows.catch(() => undefined);
    this.page = { ...page, rows };
  }

  /** The page, taken, when it starts at `after` and fits in `limit`; null otherwise (it stays, to be dropped). */
  take(after: number, limit: number): Page | null {
    const p = this.page;
    if (!p || p.after !== after || p.limit > limit) return null;
    this.page = null;
    return p;
  }

  /** Forget the page; the rows it read (those it claimed are to be given back). */
  async drop(): Promise<StepRow[]> {
    const p = this.page;
    this.page = null;
    return p ? p.rows.catch(() => [] as StepRow[]) : [];
  }
}
