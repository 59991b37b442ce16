import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Captured {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A pass-through proxy that keeps the last request as sent, so a test can replay it byte for byte. */
export async function recordingProxy(targetPort: number) {
  const seen: Captured[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const c = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(c);
      send(targetPort, c).then(({ status, headers, body }) => res.writeHead(status, headers).end(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export function send(
  port: number,
  c: Pick<Captured, 'method' | 'url' | 'headers' | 'body'>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; json: any }> {
  return new Promise((resolve, reject) => {
    const headers = { ...c.headers };
    delete headers['transfer-encoding'];
    headers['content-length'] = String(c.body.length);
    const req = http.request({ host: '127.0.0.1', port, method: c.method, path: c.url, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (x: Buffer) => chunks.push(x));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        let json: any = null;
        try {
          json = JSON.parse(body.toString());
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode!, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    req.end(c.body);
  });
}
