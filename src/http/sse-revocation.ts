import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Principal } from '../services/access.ts';
import { unauthenticated } from './guards.ts';

/**
 * Subscriptions over Server-Sent Events end when their API key is revoked, as graphql-ws
 * sockets are closed with 4401: the stream gets one last event with an UNAUTHENTICATED error, then `complete`.
 * `end(keyId)` runs on every instance (the revocation reaches each one through the event hub).
 */
export function createSseRevocation(isRevoked: (keyId: number) => boolean) {
  const streams = new Map<number, Set<() => void>>();

  function guard(source: AsyncIterable<ExecutionResult>, keyId: number): AsyncIterableIterator<ExecutionResult> {
    const it = source[Symbol.asyncIterator]();
    let revoked = false;
    let noticeSent = false;
    let wake!: () => void;
    const revokedNow = new Promise<null>((r) => (wake = () => r(null)));
    const end = () => {
      revoked = true;
      wake();
      void it.return?.();
    };
    let set = streams.get(keyId);
    if (!set) streams.set(keyId, (set = new Set()));
    set.add(end);
    const forget = () => {
      const s = streams.get(keyId);
      s?.delete(end);
      if (s?.size === 0) streams.delete(keyId);
    };
    // Revoked while the request was being authenticated and parsed.
    if (isRevoked(keyId)) end();
    const finish = (): IteratorResult<ExecutionResult> => {
      if (!noticeSent) {
        noticeSent = true;
        return { done: false, value: { errors: [unauthenticated('API key revoked')] } };
      }
      forget();
      return { done: true, value: undefined };
    };
    return {
      async next() {
        if (revoked) return finish();
        const r = await Promise.race([it.next(), revokedNow]);
        if (r === null || revoked) return finish();
        if (r.done) forget();
        return r;
      },
      async return() {
        forget();
        await it.return?.();
        return { done: true, value: undefined };
      },
      async throw(e?: unknown) {
        forget();
        await it.return?.();
        throw e;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  const plugin: Plugin = {
    onSubscribe({ args }) {
      const ctx = args.contextValue as { principal?: Principal; socket?: unknown };
      const keyId = ctx.principal?.keyId;
      // graphql-ws subscriptions do not come through here (their socket is closed instead); only HTTP ones do.
      if (keyId == null || ctx.socket) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (result && typeof result === 'object' && Symbol.asyncIterator in result)
            setResult(guard(result as AsyncIterable<ExecutionResult>, keyId));
        },
      };
    },
  };

  return {
    plugin,
    /** End every SSE stream of this key. */
    end(keyId: number): void {
      for (const end of [...(streams.get(keyId) ?? [])]) end();
    },
    count: (keyId: number) => streams.get(keyId)?.size ?? 0,
  };
}
