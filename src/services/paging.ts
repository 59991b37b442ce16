import { DomainError, PageSizeError } from '../domain/errors.ts';

/** Defined with the rest of the error vocabulary (domain/errors.ts); re-exported for the services that import it here. */
export { PageSizeError };

/** graphql-api.md: page size default 50, max 500; asking for more is an error, not a silent cut. */
export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;

export interface PageArgs {
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
}

export interface KeysetPage {
  limit: number;
  /** Forward: rows with key > after, ascending. Backward: rows with key < before, descending then reversed. */
  direction: 'forward' | 'backward';
  afterKey: string | null;
  beforeKey: string | null;
}

/** Opaque keyset cursor: base64url of `k:<key>`; the key is a row id or a composite ordering key. */
export const encodeKey = (key: string | number): string => Buffer.from(`k:${key}`).toString('base64url');

export function decodeKey(cursor: string, field: string): string {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!raw.startsWith('k:')) throw new DomainError('INVALID_CURSOR', `"${cursor}" is not a valid cursor`, [field]);
  return raw.slice(2);
}

/** The key of a list ordered by row id: a cursor whose key is not an id is refused, never passed on as NaN to SQL. */
export function idKey(key: string | null, field: 'after' | 'before'): number | null {
  if (key == null) return null;
  if (!/^\d{1,15}$/.test(key))
    throw new DomainError('INVALID_CURSOR', `the ${field} cursor does not belong to this list`, [field]);
  return Number(key);
}

export function keysetPage(args: PageArgs): KeysetPage {
  const { first, last } = args;
  if (first != null && last != null) throw new PageSizeError('pass either first or last, not both');
  for (const [name, v] of [
    ['first', first],
    ['last', last],
  ] as const) {
    if (v != null && (v < 0 || v > MAX_PAGE))
      throw new PageSizeError(`${name} must be between 0 and ${MAX_PAGE} (got ${v})`);
  }
  const backward = last != null || (args.before != null && first == null);
  return {
    limit: (backward ? last : first) ?? DEFAULT_PAGE,
    direction: backward ? 'backward' : 'forward',
    afterKey: args.after ? decodeKey(args.after, 'after') : null,
    beforeKey: args.before ? decodeKey(args.before, 'before') : null,
  };
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  /** Rows matching the filters, ignoring paging: a query of its own, run only when `totalCount` is selected. */
  totalCount: () => Promise<number>;
}

/** The count of a list the caller may not see (or that cannot exist): nothing to query. */
export const noRows = async (): Promise<number> => 0;

/**
 * Build a Relay connection from rows fetched with limit + 1 in the page's direction. `count` counts every row that
 * matches the list's filters (no cursor, no limit); it is called lazily, by the `totalCount` field only.
 */
/** The cursor key of a row paged by its numeric id. */
export const idKeyOf = (row: { id: number }): number => row.id;

export function toConnection<T>(
  rows: T[],
  page: KeysetPage,
  keyOf: (row: T) => string | number,
  count: () => Promise<number>,
): Connection<T> {
  const hasMore = rows.length > page.limit;
  const slice = rows.slice(0, page.limit);
  if (page.direction === 'backward') slice.reverse();
  const edges = slice.map((node) => ({ cursor: encodeKey(keyOf(node)), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.direction === 'forward' ? hasMore : page.beforeKey != null,
      hasPreviousPage: page.direction === 'backward' ? hasMore : page.afterKey != null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
    totalCount: count,
  };
}
