import { builder } from './builder.ts';

/**
 * `totalCount` on every Relay connection (Relay allows it; `nodes` comes from the relay plugin's nodesOnConnection).
 * Connections carry a lazy counter (services/paging.ts toConnection): the COUNT query runs only when a client
 * selects this field, so pages that do not ask pay nothing.
 */
builder.globalConnectionField('totalCount', (t) =>
  t.int({
    description: 'How many items match the arguments other than paging (first, after, last, before).',
    resolve: (parent) => {
      const count = (parent as { totalCount?: () => Promise<number> }).totalCount;
      if (typeof count !== 'function') throw new Error('connection without a counter');
      return count();
    },
  }),
);
