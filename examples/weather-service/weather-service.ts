/**
 * The "weather service": a small HTTP service that a ThingQL rule calls (WEBHOOK action) with
 * `{ "city": "...", "dn": "<device name>" }`, and that answers the device by calling ThingQL's GraphQL `pub` mutation
 * on the device's `/${productKey}/${dn}/user/weather/reply` topic.
 *
 * It is what a partner's backend looks like: it knows nothing of MQTT, only HTTP in (the rule) and GraphQL out.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Forecast {
  city: string;
  date: string;
  condition: string;
  highC: number;
  lowC: number;
}

const CONDITIONS = ['sunny', 'cloudy', 'light rain', 'thunderstorms', 'fog', 'windy'];

/** A made-up but stable forecast (the example needs no internet): the same city gives the same answer on one day. */
export function forecastFor(city: string, day = new Date()): Forecast {
  let h = 0;
  for (const ch of city.toLowerCase()) h = (h * 31 + ch.codePointAt(0)!) >>> 0;
  const date = day.toISOString().slice(0, 10);
  const low = 5 + (h % 20);
  return { city, date, condition: CONDITIONS[h % CONDITIONS.length]!, highC: low + 4 + (h % 7), lowC: low };
}

export interface WeatherServiceOptions {
  /** ThingQL's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql */
  graphqlUrl: string;
  /** A bearer token allowed to `pub` (an OPERATOR API key limited to the product is enough). */
  token: string;
  productKey: string;
  host?: string;
  log?: (line: string) => void;
}

const PUB = `mutation($i: PubInput!) { pub(input: $i) { messageId userErrors { code message } } }`;

export async function startWeatherService(opts: WeatherServiceOptions) {
  const log = opts.log ?? (() => {});
  // Rules deliver at least once, each delivery with an Idempotency-Key: a retried request is answered only once.
  const answered = new Map<string, string>();

  async function answer(city: string, dn: string): Promise<string> {
    const forecast = forecastFor(city);
    log(`[weather-service] ${dn} asks for ${city}: ${forecast.condition}, ${forecast.lowC} to ${forecast.highC} °C`);
    const res = await fetch(opts.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.token}` },
      body: JSON.stringify({
        query: PUB,
        variables: {
          i: {
            productKey: opts.productKey,
            topicFullName: `/${opts.productKey}/${dn}/user/weather/reply`,
            payload: JSON.stringify(forecast),
            qos: 1,
          },
        },
      }),
    });
    const body = (await res.json()) as {
      data?: { pub?: { messageId: string | null; userErrors: { code: string; message: string }[] } };
      errors?: unknown;
    };
    const pub = body.data?.pub;
    if (!pub || pub.userErrors.length > 0 || !pub.messageId)
      throw new Error(`pub failed: ${JSON.stringify(body.errors ?? pub?.userErrors)}`);
    log(`[weather-service] answered ${dn} (message ${pub.messageId})`);
    return pub.messageId;
  }

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      void (async () => {
        if (req.method !== 'POST') return res.writeHead(405).end();
        let q: { city?: unknown; dn?: unknown };
        try {
          q = JSON.parse(raw);
        } catch {
          return res.writeHead(400).end('expected JSON');
        }
        if (typeof q.city !== 'string' || typeof q.dn !== 'string')
          return res.writeHead(400).end('expected {"city", "dn"}');
        const key = String(req.headers['idempotency-key'] ?? '');
        try {
          const messageId = answered.get(key) ?? (await answer(q.city, q.dn));
          if (key) answered.set(key, messageId);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ messageId }));
        } catch (e) {
          // A 5xx makes the rule retry with backoff (and dead-letter the request if it keeps failing).
          log(`[weather-service] could not answer: ${(e as Error).message}`);
          res.writeHead(502).end();
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, opts.host ?? '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}/weather`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
