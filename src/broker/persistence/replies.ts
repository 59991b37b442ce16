import { isReplyTopic } from '../../domain/alink/topics.ts';

export { isReplyTopic };

/**
 * Per client, the packet ids of reply deliveries awaiting their PUBACK: nothing was stored for them, so the PUBACK
 * deletes nothing. Reset when the session resumes (a new connection numbers afresh from the stored queue). A packet id
 * reused for a stored command while a reply with the same id is still unacknowledged (after 65,535 deliveries) leaves
 * that command queued: it is delivered again at the next reconnect, which QoS 1 allows.
 */
export class InflightReplies {
  readonly #byClient = new Map<string, Set<number>>();

  add(clientId: string, messageId: unknown): void {
    if (typeof messageId !== 'number') return;
    let ids = this.#byClient.get(clientId);
    if (!ids) this.#byClient.set(clientId, (ids = new Set()));
    ids.add(messageId);
  }

  /** Whether `messageId` was a reply's (and forget it). */
  take(clientId: string, messageId: unknown): boolean {
    const ids = this.#byClient.get(clientId);
    if (!ids || typeof messageId !== 'number' || !ids.delete(messageId)) return false;
    if (ids.size === 0) this.#byClient.delete(clientId);
    return true;
  }

  reset(clientId: string): void {
    this.#byClient.delete(clientId);
  }
}
