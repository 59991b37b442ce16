import { and, asc, desc, gt, lt, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';

/** One page of rows ordered by an integer id: exclusive bounds, direction, and how many rows to read. */
export interface IdWindow {
  after: number | null;
  before: number | null;
  forward: boolean;
  limit: number;
}

/** The WHERE bounds and ORDER BY of an id window over `column`. */
export function idWindowClauses(column: AnyPgColumn, w: IdWindow): { where: SQL | undefined; orderBy: SQL } {
  return {
    where: and(w.after != null ? gt(column, w.after) : undefined, w.before != null ? lt(column, w.before) : undefined),
    orderBy: w.forward ? asc(column) : desc(column),
  };
}
