/**
 * AMQP 1.0 error conditions the server closes connections and links with (AMQP 1.0 §2.8.15 amqp-error, §2.8.16
 * connection-error; cloud-api.md §7.2). Wire values.
 */
export const AmqpCondition = {
  /** Not authenticated, or the AccessKey was revoked. */
  UNAUTHORIZED_ACCESS: 'amqp:unauthorized-access',
  /** No receiver link attached in time. */
  RESOURCE_LIMIT_EXCEEDED: 'amqp:resource-limit-exceeded',
  /** A second receiver link, or a link the client would send on. */
  NOT_ALLOWED: 'amqp:not-allowed',
  /** The consumer group was deleted. */
  NOT_FOUND: 'amqp:not-found',
  /** The server is shutting down. */
  CONNECTION_FORCED: 'amqp:connection:forced',
} as const;

export type AmqpCondition = (typeof AmqpCondition)[keyof typeof AmqpCondition];
