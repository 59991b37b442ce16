import type { GraphiQLOptions } from 'graphql-yoga';

/** sessionStorage key under which the console keeps the API key (console/src/api.ts). */
export const CONSOLE_TOKEN_KEY = 'thingql.token';

const HEADERS_MARK = '__THINGQL_CONSOLE_HEADERS__';

/**
 * GraphiQL with every asset inlined from the installed @graphql-yoga/render-graphiql package (no CDN: it works with no
 * internet access). When the browser signed in through the console, its token (sessionStorage, this origin) prefills
 * the Headers tab: the options object yoga serialises gets an expression in place of a marker string.
 *
 * The package is imported on the first GraphiQL page, not at startup: its inlined bundle is a 9 MB source string,
 * about 35 MB of heap once loaded (docs/performance.md), which a server nobody opens GraphiQL on never needs.
 */
export function createGraphiQLRenderer(): (opts: GraphiQLOptions) => Promise<string> {
  let cached: { key: string; html: string } | null = null;
  return async (opts) => {
    const key = JSON.stringify(opts);
    if (cached?.key === key) return cached.html;
    const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
    const html = renderGraphiQL({ ...opts, headers: HEADERS_MARK }).replace(
      JSON.stringify(HEADERS_MARK),
      `(function(){try{var t=sessionStorage.getItem(${JSON.stringify(CONSOLE_TOKEN_KEY)});` +
        `return t?JSON.stringify({Authorization:'Bearer '+t},null,2):undefined}catch(e){return undefined}})()`,
    );
    cached = { key, html };
    return html;
  };
}
