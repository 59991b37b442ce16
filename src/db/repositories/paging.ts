import { asc, desc, gt, lt, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';

/** A keyset page over a list ordered by row id: rows after/before an id, `limit` rows, ascending when `forward`. */
export interface IdPage {
  afterId: number | null;
  beforeId: number | null;
  forward: boolean;
  limit: number;
}

/** The cursor conditions of an id page, to add to the list's own filters. */
export function idPageConds(id: PgColumn, page: IdPage): SQL[] {
  const conds: SQL[] = [];
  if (page.afterId != null) conds.push(gt(id, page.afterId));
  if (page.beforeId != null) conds.push(lt(id, page.beforeId));
  return conds;
}

export const idPageOrder = (id: PgColumn, page: IdPage): SQL => (page.forward ? asc(id) : desc(id));
