import type { AmqpMessageContent } from '../../domain/amqp/messages.ts';

/** One message as it goes out (§7.5: a redelivery has the same messageId, a higher delivery count, first_acquirer false). */
export interface OutgoingMessage extends AmqpMessageContent {
  position: number;
  attempt: number;
  deliveryCount: number;
  firstAcquirer: boolean;
}

/** A connected client's receiver link, as the dispatcher sees it (the transport lives in src/amqp/). */
export interface ConsumerHandle {
  readonly clientId: string;
  readonly accessKeyId: string;
  readonly remoteAddress: string;
  readonly connectedAt: Date;
  /** The AccessKey's scope (§7.6); null: every product. */
  readonly productKeys: readonly string[] | null;
  /** Link credit left for new deliveries. */
  credit(): number;
  send(msg: OutgoingMessage): void;
}

export type Outcome = 'accepted' | 'rejected' | 'released' | 'modified' | 'undeliverable-here';

export interface ClientState {
  handle: ConsumerHandle;
  /** position -> attempt of the copy this client holds. */
  inFlight: Map<number, number>;
}

/** Deliveries each client may still take in this pump. */
export type Budget = Map<ClientState, number>;

const visible = (h: ConsumerHandle, pk: string | null) =>
  h.productKeys === null || (pk !== null && h.productKeys.includes(pk));

/** The clients of one consumer group on this instance, taken round-robin. */
export class ClientRing {
  readonly clients: ClientState[] = [];
  private rr = 0;

  add(handle: ConsumerHandle): void {
    this.clients.push({ handle, inFlight: new Map() });
  }

  /** Take the client out; what it held is returned to the caller. */
  remove(handle: ConsumerHandle): ClientState | undefined {
    const i = this.clients.findIndex((c) => c.handle === handle);
    return i < 0 ? undefined : this.clients.splice(i, 1)[0];
  }

  find(handle: ConsumerHandle): ClientState | undefined {
    return this.clients.find((x) => x.handle === handle);
  }

  /** Each client's credit now. */
  budget(): Budget {
    return new Map(this.clients.map((c) => [c, Math.max(0, c.handle.credit())]));
  }

  /** The next client with credit that may see the product, round-robin; `avoid` only when no other one fits. */
  pick(budget: Budget, pk: string | null, avoid?: ConsumerHandle): ClientState | null {
    const n = this.clients.length;
    let fallback: ClientState | null = null;
    for (let k = 0; k < n; k++) {
      const c = this.clients[(this.rr + k) % n]!;
      if ((budget.get(c) ?? 0) <= 0 || !visible(c.handle, pk)) continue;
      if (avoid && c.handle === avoid) {
        fallback ??= c;
        continue;
      }
      this.rr = (this.rr + k + 1) % n;
      return c;
    }
    return fallback;
  }
}

/** Products some client with credit may see; null: all. */
export function budgetScopes(budget: Budget): readonly string[] | null {
  const keys = new Set<string>();
  for (const [c, n] of budget) {
    if (n <= 0) continue;
    if (c.handle.productKeys === null) return null;
    for (const k of c.handle.productKeys) keys.add(k);
  }
  return [...keys];
}

export const totalCredit = (budget: Budget): number => [...budget.values()].reduce((a, b) => a + b, 0);
