/**
 * The web console's HTTP side: the built files at `/` (assets, client-side routes), the narrow routing that leaves
 * the Alibaba OpenAPI (`x-acs-action` / `Action` on `/`) and every API path alone, and GraphiQL served offline with
 * the console's token prefilled.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleRoute, isConsoleRequest } from '../../src/http/console.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const INDEX =
  '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="app"></div></body></html>';
const JS = `console.log(${JSON.stringify('x'.repeat(4000))});`;

function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'thingql-console-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), JS);
  return dir;
}

const get = (url: string, headers: Record<string, string> = {}, method = 'GET') =>
  new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

describe('the web console and GraphiQL over HTTP', () => {
  let t: TestPlatform;
  let dir: string;
  beforeAll(async () => {
    dir = fakeBuild();
    t = await startTestPlatform('pglite', { CONSOLE_DIR: dir });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the console page at / and at its client-side routes, and its hashed assets for good', async () => {
    for (const path of ['/', '/devices', '/devices/a1B2/lamp-1', '/products/a1B2', '/rules', '/ota', '/api-keys']) {
      const r = await get(`${t.httpUrl}${path}`, HTML);
      expect([path, r.status, r.headers['content-type'], r.body.toString()]).toEqual([
        path,
        200,
        'text/html; charset=utf-8',
        INDEX,
      ]);
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.headers['content-security-policy']).toContain("script-src 'self'");
      expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    }
    const js = await get(`${t.httpUrl}/assets/index-abc123.js`, { 'accept-encoding': 'gzip, br' });
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(js.body).toString()).toBe(JS);
    expect((await get(`${t.httpUrl}/assets/index-abc123.js`)).body.toString()).toBe(JS);
    expect((await get(`${t.httpUrl}/assets/nope.js`)).status).toBe(404);
    expect((await get(`${t.httpUrl}/assets/..%2f..%2fpackage.json`)).status).toBe(404);
    const head = await get(`${t.httpUrl}/`, HTML, 'HEAD');
    expect([head.status, head.body.length]).toEqual([200, 0]);
  });

  it('leaves the OpenAPI on / (x-acs-action header or Action parameter), other methods and API paths to their handlers', async () => {
    const notConsole = async (path: string, headers: Record<string, string> = HTML, method = 'GET') => {
      const r = await get(`${t.httpUrl}${path}`, headers, method);
      expect(r.body.toString(), `${method} ${path}`).not.toBe(INDEX);
      return r;
    };
    await notConsole('/', { ...HTML, 'x-acs-action': 'QueryDeviceDetail' });
    await notConsole('/?Action=QueryDeviceDetail&ProductKey=a1');
    await notConsole('/', HTML, 'POST');
    await notConsole('/devices', { accept: 'application/json' });
    await notConsole('/ota/firmware/1?expires=1&sig=x');
    await notConsole('/auth/register/device');
    await notConsole('/unknown-page');
    expect((await notConsole('/healthz')).body.toString()).toBe('ok\n');
    expect((await notConsole('/metrics', { accept: '*/*' })).status).toBe(200);
    // The routing decision alone (the function the server calls first).
    const req = (url: string, method = 'GET', headers: Record<string, string> = HTML) =>
      ({ url, method, headers }) as unknown as http.IncomingMessage;
    expect(isConsoleRequest(req('/'))).toBe(true);
    expect(isConsoleRequest(req('/', 'GET', { ...HTML, 'x-acs-action': 'Pub' }))).toBe(false);
    expect(isConsoleRequest(req('/?Action=Pub'))).toBe(false);
    expect(isConsoleRequest(req('/graphql'))).toBe(false);
    expect(isConsoleRequest(req('/mqtt'))).toBe(false);
    expect(isConsoleRequest(req('/ota/jobs'))).toBe(false);
    expect(isConsoleRequest(req('/', 'DELETE'))).toBe(false);
  });

  it('serves GraphiQL with every asset inlined (no CDN) and the console token read from sessionStorage', async () => {
    const r = await get(`${t.graphqlUrl}`, HTML);
    expect(r.status).toBe(200);
    const html = r.body.toString();
    expect(html).toContain('YogaGraphiQL.renderYogaGraphiQL');
    expect(html.match(/<script[^>]*\ssrc=/g)).toBeNull();
    expect(html.match(/<link[^>]*\shref="https?:/g)).toBeNull();
    expect(html).not.toMatch(/unpkg\.com|jsdelivr\.net|cdnjs/);
    expect(html).toContain('sessionStorage.getItem("thingql.token")');
    expect(html).toContain("Authorization:'Bearer '+t");
    expect(html).not.toContain('__THINGQL_CONSOLE_HEADERS__');
  });

  it('answers 503 with a self-reloading page while the console is not built, 404 for its assets', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'thingql-console-empty-'));
    const route = createConsoleRoute({ dir: empty });
    const server = http.createServer((req, res) => void (route(req, res) || res.writeHead(418).end()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const page = await get(`${base}/`, HTML);
      expect(page.status).toBe(503);
      expect(page.body.toString()).toContain('not built yet');
      expect(page.body.toString()).toContain('http-equiv="refresh"');
      expect((await get(`${base}/assets/index.js`)).status).toBe(404);
      expect((await get(`${base}/graphql`, HTML)).status).toBe(418);
      // Once the build lands, the page is served without a restart.
      writeFileSync(join(empty, 'index.html'), INDEX);
      expect((await get(`${base}/`, HTML)).body.toString()).toBe(INDEX);
    } finally {
      server.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
