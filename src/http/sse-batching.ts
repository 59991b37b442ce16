import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

/** Most text gathered into one write before it goes (a subscriber far behind still gets bounded writes). */
const MAX_BATCH_CHARS = 256 * 1024;
/** As graphql-yoga: a comment every 12 s keeps proxies from closing an idle stream. */
const PING_MS = 12_000;

type Result = IteratorResult<ExecutionResult>;

/** The result as it goes on the wire: without the `http` extensions graphql-yoga uses for statuses and headers. */
function onTheWire(result: ExecutionResult): unknown {
  if (!result.errors?.length && !result.extensions?.http) return result;
  const out: Record<string, unknown> = { ...result };
  if (result.errors)
    out.errors = result.errors.map((e) => {
      const { http: _h, unexpected: _u, ...extensions } = e.extensions ?? {};
      return { ...e.toJSON(), extensions: Object.keys(extensions).length ? extensions : undefined };
    });
  if (result.extensions) {
    const { http: _h, ...extensions } = result.extensions;
    out.extensions = Object.keys(extensions).length ? extensions : undefined;
  }
  return out;
}

/** One `next` event of the GraphQL over SSE "distinct connections" format, as graphql-yoga writes it. */
function nextFrame(value: ExecutionResult): string {
  return `event: next\ndata: ${JSON.stringify(onTheWire(value))}\n\n`;
}

const COMPLETE = 'event: complete\ndata:\n\n';

/**
 * Subscriptions over Server-Sent Events with the results of one turn of the event loop in one write.
 *
 * graphql-yoga's SSE processor hands each result to the response stream on its own, and its Node adapter writes each
 * to the socket on its own: one chunked-encoding write (a `writev` call) per event and subscriber. One commit hands its events to every stream in one turn (the hub, each stream and the GraphQL
 * execution are promise continuations), so this processor takes every result that is ready before the next turn
 * and writes them as one chunk: one write per commit and subscriber, as graphql-ws sockets get (ws-transport.ts).
 * The wire format is unchanged: the same frames, the same opening comment, keep-alive comments and `complete`.
 */
export function sseBatching(): Plugin {
  return {
    onResultProcess({ result, resultProcessor, setResultProcessor }) {
      // Subscriptions take only the SSE processor (yoga's use-result-processor: regular results are not
      // iterables, and multipart is never offered to a subscription): a processor chosen for an iterable is SSE's.
      if (resultProcessor && isAsyncIterable(result))
        setResultProcessor(
          (r, fetchAPI) => batchedSse(r as AsyncIterable<ExecutionResult>, fetchAPI),
          'text/event-stream',
        );
    },
  };
}

interface FetchApi {
  ReadableStream: typeof ReadableStream;
  Response: typeof Response;
  TextEncoder: typeof TextEncoder;
}

function batchedSse(result: AsyncIterable<ExecutionResult>, fetchAPI: FetchApi): Response {
  const encoder = new fetchAPI.TextEncoder();
  const iterator = result[Symbol.asyncIterator]();
  /** A `next()` asked for while gathering and not yet answered when the turn ended: the next pull starts with it. */
  let pending: Promise<Result> | null = null;
  let ping: NodeJS.Timeout | undefined;
  const stream = new fetchAPI.ReadableStream<Uint8Array>({
    start(controller) {
      // Some browsers hold a fetch until the first bytes of the body: yoga opens with a comment too.
      controller.enqueue(encoder.encode(':\n\n'));
      ping = setInterval(() => {
        if (controller.desiredSize === null) return clearInterval(ping);
        if (controller.desiredSize > 0) controller.enqueue(encoder.encode(':\n\n'));
      }, PING_MS);
    },
    async pull(controller) {
      let text = '';
      let done = false;
      try {
        const first = await (pending ?? iterator.next());
        pending = null;
        // A final value with `done` is sent too, as graphql-yoga does.
        if (first.value != null) text += nextFrame(first.value);
        if (first.done) done = true;
        else {
          const turnEnds = nextTurn();
          while (text.length < MAX_BATCH_CHARS) {
            const asked = iterator.next();
            const r = await Promise.race([asked, turnEnds]);
            if (r === undefined) {
              // Awaited by the next pull; until then its failure must not count as unhandled.
              asked.catch(() => undefined);
              pending = asked;
              break;
            }
            if (r.value != null) text += nextFrame(r.value);
            if (r.done) {
              done = true;
              break;
            }
          }
        }
      } catch (err) {
        clearInterval(ping);
        if (text) controller.enqueue(encoder.encode(text));
        controller.error(err);
        return;
      }
      if (done) {
        clearInterval(ping);
        controller.enqueue(encoder.encode(text + COMPLETE));
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(text));
    },
    async cancel() {
      clearInterval(ping);
      await iterator.return?.();
    },
  });
  return new fetchAPI.Response(stream, {
    status: 200,
    headers: {
      'Content-Type': 'text/event-stream',
      Connection: 'keep-alive',
      'Cache-Control': 'no-cache',
      'Content-Encoding': 'none',
    },
  });
}
