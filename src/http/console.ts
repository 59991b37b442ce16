import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/**
 * The web console (console/, a Vite app) served at `/`: its built files under /assets/ and its client-side routes.
 * It is a client of the public GraphQL API only; this handler just hands out static files.
 *
 * Routing is deliberately narrow: GET/HEAD only, never a request that carries the Alibaba OpenAPI markers
 * (`x-acs-action` header or `Action` parameter, cloud-api.md: the OpenAPI also lives on `/`), never a reserved
 * path. Anything else falls through (returns false) to the next handler.
 */

/** Client-side routes of the console (console/src/router.ts): HTML GETs on these get index.html. */
const SPA_ROUTES = /^\/(?:$|signin$|products(?:\/|$)|devices(?:\/|$)|rules(?:\/|$)|ota$|api-keys(?:\/|$))/;
/** Paths other handlers own: the console never answers them, whatever the Accept header says. */
const RESERVED = /^\/(?:graphql|mqtt|healthz|readyz|metrics|auth|ota\/firmware|api)(?:\/|$)/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The package root (the directory of thingql's package.json), from src/ under tsx or a compiled dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'thingql') return dir;
      } catch {
        /* not ours: keep walking */
      }
    }
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** Where `npm run build:console` writes the console (git-ignored). */
export const defaultConsoleDir = (): string => join(packageRoot(), 'console', 'dist');

export function isConsoleRequest(req: IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (req.headers['x-acs-action'] !== undefined) return false;
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.searchParams.has('Action')) return false;
  if (RESERVED.test(url.pathname)) return false;
  if (url.pathname.startsWith('/assets/') || url.pathname === '/favicon.svg') return true;
  return SPA_ROUTES.test(url.pathname) && acceptsHtml(req);
}

function acceptsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  // A bare GET (curl, a health probe of `/`) still gets the page; an API client asking for JSON does not.
  return accept === undefined || accept.includes('text/html') || accept.includes('*/*');
}

/**
 * The console page runs only its own scripts and talks only to this origin (the API over HTTP and WebSocket); uPlot
 * sizes its elements with inline styles. No framing (clickjacking).
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

interface Cached {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ThingQL</title>
<meta http-equiv="refresh" content="3"><style>body{font:16px system-ui,sans-serif;margin:4rem auto;max-width:40rem;color:#1f2937}
code{background:#f3f4f6;padding:.1rem .3rem;border-radius:4px}</style></head><body>
<h1>ThingQL</h1><p>The web console is not built yet (it is built by <code>npm install</code>, <code>npm run build:console</code>
or on the first start; this page reloads until it is there).</p><p>The GraphQL API and GraphiQL are at <a href="/graphql">/graphql</a>.</p>
</body></html>`;

/** The console's request handler: returns true when it answered. Files are read once and kept (with their gzip). */
export function createConsoleRoute(opts: { dir: string }): (req: IncomingMessage, res: ServerResponse) => boolean {
  const root = resolve(opts.dir);
  const cache = new Map<string, Cached>();

  const load = (rel: string): Cached | null => {
    const hit = cache.get(rel);
    if (hit) return hit;
    const file = normalize(join(root, rel));
    if (!file.startsWith(root + sep)) return null;
    try {
      if (!statSync(file).isFile()) return null;
    } catch {
      return null;
    }
    const body = readFileSync(file);
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const entry = {
      body,
      type,
      gzip: /text|javascript|json|svg/.test(type) && body.length > 1024 ? gzipSync(body) : null,
    };
    // index.html is re-read until it exists (a build on first start); hashed assets never change.
    cache.set(rel, entry);
    return entry;
  };

  return (req, res) => {
    if (!isConsoleRequest(req)) return false;
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const isAsset = path.startsWith('/assets/') || path === '/favicon.svg';
    const entry = load(isAsset ? path.slice(1) : 'index.html');
    if (!entry) {
      if (isAsset) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      else
        res
          .writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'retry-after': '3' })
          .end(req.method === 'HEAD' ? undefined : NOT_BUILT);
      return true;
    }
    const gzip = entry.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? entry.gzip! : entry.body;
    res.writeHead(200, {
      'content-type': entry.type,
      'content-length': body.length,
      // Vite names assets by content hash: cache them for good; the page itself is always revalidated.
      'cache-control': path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(isAsset ? {} : { 'content-security-policy': CSP, 'referrer-policy': 'no-referrer' }),
      ...(gzip ? { 'content-encoding': 'gzip', vary: 'accept-encoding' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
