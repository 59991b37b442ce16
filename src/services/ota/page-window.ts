import type { IdWindow } from '../../db/id-window.ts';
import { idKey, keysetPage, type KeysetPage, type PageArgs } from '../paging.ts';

/** A Relay page over rows ordered by id (forward: first/after, backward: last/before), and the rows to read for it. */
export function pageWindow(args: PageArgs): { page: KeysetPage; window: IdWindow } {
  const page = keysetPage(args);
  return {
    page,
    window: {
      after: idKey(page.afterKey, 'after'),
      before: idKey(page.beforeKey, 'before'),
      forward: page.direction === 'forward',
      limit: page.limit + 1,
    },
  };
}
