import http from 'node:http';
import { beforeAll, expect, it } from 'vitest';
import { Collected } from '../helpers/graphql-ws.ts';
import { usePlatform } from '../helpers/use-platform.ts';
import {
  createProduct,
  headCursor,
  registerDevices,
  sseClient,
  sseFrames,
  streamClient,
  TRANSPORTS,
} from './support.ts';
import { describeEachDb } from '../helpers/services-env.ts';
import { hubListeners } from '../helpers/live.ts';
import { waitFor } from '../helpers/wait.ts';

const LIFECYCLE = `subscription($pk: String, $after: String) { deviceLifecycle(productKey: $pk, after: $after) { action deviceName cursor } }`;

interface RawSse {
  status: number;
  contentType: string;
  /** Resolves with the first `count` SSE events (`event:` name and parsed `data:`), then closes the stream. */
  next(count: number): Promise<{ event: string; data: any }[]>;
  close(): void;
}

/** A raw SSE request on its own socket (node:http), to look at the wire format itself. */
function rawSse(url: string, method: 'GET' | 'POST', headers: Record<string, string>, body?: string): Promise<RawSse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      res.setEncoding('utf8');
      const events: { event: string; data: any }[] = [];
      const frames = sseFrames();
      let wake = () => {};
      res.on('data', (chunk: string) => {
        for (const { event, data } of frames(chunk))
          if (event) events.push({ event, data: data ? JSON.parse(data) : null });
        wake();
      });
      resolve({
        status: res.statusCode ?? 0,
        contentType: String(res.headers['content-type'] ?? ''),
        async next(count) {
          const deadline = Date.now() + 5000;
          while (events.length < count && Date.now() < deadline)
            await new Promise<void>((r) => ((wake = r), setTimeout(r, 100)));
          req.destroy();
          return events.slice(0, count);
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describeEachDb('subscriptions over Server-Sent Events on %s', (kind) => {
  const t = usePlatform(kind);
  let pk: string;
  beforeAll(async () => {
    pk = (await createProduct(t, { name: 'SSE lamp' })).productKey;
  });

  it('streams lifecycle events as text/event-stream "next" events on POST /graphql', async () => {
    const after = await headCursor(t);
    const res = await rawSse(
      t.graphqlUrl,
      'POST',
      { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.adminToken}` },
      JSON.stringify({ query: LIFECYCLE, variables: { pk, after } }),
    );
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/event-stream/);
    await registerDevices(t, pk, ['sse-post-1', 'sse-post-2']);
    const got = await res.next(2);
    expect(got.map((e) => e.event)).toEqual(['next', 'next']);
    expect(got.map((e) => e.data.data.deviceLifecycle.deviceName)).toEqual(['sse-post-1', 'sse-post-2']);
  });

  it('streams on GET /graphql with the query in the URL too', async () => {
    const after = await headCursor(t);
    const url = `${t.graphqlUrl}?query=${encodeURIComponent(LIFECYCLE)}&variables=${encodeURIComponent(JSON.stringify({ pk, after }))}`;
    const res = await rawSse(url, 'GET', { accept: 'text/event-stream', authorization: `Bearer ${t.adminToken}` });
    expect(res.status).toBe(200);
    await registerDevices(t, pk, ['sse-get-1']);
    const [e] = await res.next(1);
    expect(e!.data.data.deviceLifecycle).toMatchObject({ action: 'CREATE', deviceName: 'sse-get-1' });
  });

  it('answers an SSE request without a token with 401 UNAUTHENTICATED and no stream', async () => {
    const client = sseClient(t, null);
    const c = Collected.subscribe(client, LIFECYCLE, {});
    await expect(c.waitFor(1, 5000)).rejects.toThrow();
    const refused = c.error as { status: number; body: string };
    expect(refused.status).toBe(401);
    // The refusal itself comes as one SSE `next` event carrying the error, then `complete`: no subscription runs.
    const data = /event: next\ndata: (.*)\n/.exec(refused.body)?.[1];
    expect(JSON.parse(data!).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(refused.body.trimEnd()).toMatch(/event: complete\ndata:$/);
  });

  it.each(TRANSPORTS)('releases the server-side stream when a %s subscriber goes away', async (transport) => {
    const baseline = hubListeners(t);
    const client = streamClient(transport, t);
    const c = Collected.subscribe(client, LIFECYCLE, { pk, after: await headCursor(t) });
    await registerDevices(t, pk, [`release-${transport === 'SSE' ? 'sse' : 'ws'}`]);
    await c.waitFor(1);
    expect(hubListeners(t)).toBe(baseline + 1);
    c.unsubscribe();
    await client.dispose();
    await waitFor(() => hubListeners(t), {
      until: (n) => n === baseline,
      message: 'the stream released',
      timeout: 3000,
    });
    expect(hubListeners(t)).toBe(baseline);
  });
});
