import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { TestPlatform } from './platform.ts';

/** A real graphql-ws client over a real socket (Node 20 has no global WebSocket: stack.md gotcha 13). */
export function wsClient(
  url: string,
  token: string | null,
  extra: Partial<Parameters<typeof createClient>[0]> = {},
): Client {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    ...extra,
  });
}

/** Collects what a subscription yields; `next(n)` waits for n more results. */
export class Collected<T = any> {
  readonly items: T[] = [];
  error: unknown = null;
  done = false;
  private waiters: (() => void)[] = [];
  private dispose: () => void = () => {};

  /**
   * Subscribe from the current head of the event log (`after: streamCursor`): no event committed after this call is
   * missed, however long the subscription takes to reach the server. The document must take `$after: String`.
   */
  static async fromNow<T = any>(
    client: Client,
    gql: (q: string) => Promise<{ data: any }>,
    query: string,
    variables: Record<string, unknown> = {},
  ): Promise<Collected<T>> {
    const head = (await gql('{ streamCursor }')).data.streamCursor as string;
    return Collected.subscribe<T>(client, query, { ...variables, after: head });
  }

  static subscribe<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}): Collected<T> {
    const c = new Collected<T>();
    c.dispose = client.subscribe<T>(
      { query, variables },
      {
        next: (v) => {
          if (v.errors) c.error = v.errors;
          else c.items.push(v.data as T);
          c.wake();
        },
        error: (e) => {
          c.error = e;
          c.wake();
        },
        complete: () => {
          c.done = true;
          c.wake();
        },
      },
    );
    return c;
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Wait until at least `count` items arrived (or fail after timeoutMs with what was seen). */
  async waitFor(count: number, timeoutMs = 10_000): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.items.length < count) {
      if (this.error) throw new Error(`subscription failed: ${JSON.stringify(this.error)}`);
      if (this.done) throw new Error(`subscription completed after ${this.items.length} of ${count} items`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out with ${this.items.length} of ${count} items: ${JSON.stringify(this.items)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.items;
  }

  unsubscribe() {
    this.dispose();
  }
}

/**
 * An admin graphql-ws client on a platform (`ws`, to dispose), `fromNow(query, variables)`: a subscription on it
 * from the current head of the event log (Collected.fromNow), and `subscribe(query, variables)`: one from when the
 * server gets it (Collected.subscribe).
 */
export function adminLive(t: Pick<TestPlatform, 'wsUrl' | 'adminToken' | 'gql'>) {
  const ws = wsClient(t.wsUrl, t.adminToken);
  const fromNow = <T = any>(query: string, variables: Record<string, unknown> = {}) =>
    Collected.fromNow<T>(ws, (q) => t.gql(q), query, variables);
  const subscribe = <T = any>(query: string, variables: Record<string, unknown> = {}) =>
    Collected.subscribe<T>(ws, query, variables);
  return { ws, fromNow, subscribe };
}
