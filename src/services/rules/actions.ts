import amqp from 'amqplib';
import http from 'node:http';
import https from 'node:https';
import type { z } from 'zod';
import { canSubscribe } from '../../domain/alink/acl.ts';
import { isValidTopicName } from '../../domain/alink/topic-filter.ts';
import { parseTopic, validateTopicName } from '../../domain/alink/topics.ts';
import type { ForwardingMessage } from '../../domain/rules/forwarding.ts';
import type { Logger } from '../../logger.ts';
import type { DevicePublisher } from '../ports.ts';
import type { ProductCache } from '../product-cache.ts';
import { DestinationRefused, pinnedLookup, type TargetGuard } from './destinations.ts';
import { amqpSchema, fill, fillBody, republishSchema, webhookSchema, type RuleAction } from './action-config.ts';

export {
  ACTION_SCHEMAS,
  checkActionConfiguration,
  fill,
  fillBody,
  type RuleAction,
  type RuleActionType,
} from './action-config.ts';

export class DeliveryError extends Error {
  constructor(
    message: string,
    /** false: retrying cannot help (e.g. the target may not receive the topic). */
    readonly retryable = true,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface Delivery {
  action: RuleAction;
  output: Record<string, unknown>;
  message: Pick<ForwardingMessage, 'topic' | 'productKey' | 'deviceName'>;
  /** `${ruleId}:${eventPosition}:${actionIndex}`: the same delivery retried carries the same key. */
  deliveryKey: string;
  /** Aborts an in-flight delivery (the rule stops or the platform shuts down; the event is delivered again later). */
  signal?: AbortSignal | undefined;
  /** Products the rule may write to (RuleRecord.scope); null or absent = every product. */
  scope?: readonly string[] | null;
}

/**
 * Executes actions: republish to a device topic (the target's ACL applies), HTTP webhook, AMQP publish with
 * publisher confirms. AMQP connections are kept per URL and dropped on error, so a broker that comes back is
 * reconnected on the next attempt.
 */
export function createActionRunner(deps: {
  publisher: DevicePublisher;
  products: ProductCache;
  logger: Logger;
  targets: TargetGuard;
}) {
  const channels = new Map<string, Promise<{ conn: amqp.ChannelModel; ch: amqp.ConfirmChannel }>>();

  function channel(url: string) {
    let c = channels.get(url);
    if (!c) {
      c = (async () => {
        // The server's address is checked, then the connection goes to exactly that address (pinned lookup).
        const host = /^amqps?:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(url)?.[1] ?? '';
        const target = await deps.targets.resolve(host || 'localhost');
        const conn = await amqp.connect(url, { timeout: 5000, lookup: pinnedLookup(target) });
        const ch = await conn.createConfirmChannel();
        const drop = () => channels.delete(url);
        conn.on('error', drop);
        conn.on('close', drop);
        ch.on('error', drop);
        ch.on('close', drop);
        return { conn, ch };
      })();
      channels.set(url, c);
      c.catch(() => channels.delete(url));
    }
    return c;
  }

  async function republish(d: Delivery): Promise<void> {
    const cfg = configOf(republishSchema, d);
    const topic = fill(cfg.topic, d.message, d.output);
    const t = parseTopic(topic);
    if (!isValidTopicName(topic)) throw new DeliveryError(`republish topic "${topic}" is not a valid topic`, false);
    const named = validateTopicName(topic);
    if (!named.ok) throw new DeliveryError(`republish topic "${topic}": ${named.error}`, false);
    const pk = t.kind === 'custom' || t.kind === 'sys' ? t.productKey : null;
    // The final topic (placeholders filled from the message and SELECT output) must stay within the rule's scope:
    // checked here, at delivery, since SELECT output is only known now. Same answer as for a missing product.
    const inScope = pk !== null && (d.scope == null || d.scope.includes(pk));
    const info = pk && inScope ? await deps.products.get(pk) : null;
    const allowed =
      info &&
      ((t.kind === 'custom' &&
        canSubscribe({ productKey: t.productKey, deviceName: t.deviceName }, topic, info.categories)) ||
        (t.kind === 'sys' && t.path[0] === 'thing' && t.path[1] === 'service'));
    if (!allowed) throw new DeliveryError(`TOPIC_NOT_ALLOWED: the target device may not receive ${topic}`, false);
    await deps.publisher.publish(topic, Buffer.from(JSON.stringify(d.output)), cfg.qos ?? 1);
  }

  async function webhook(d: Delivery): Promise<void> {
    const cfg = configOf(webhookSchema, d);
    const body = cfg.bodyTemplate ? fillBody(cfg.bodyTemplate, d.message, d.output) : JSON.stringify(d.output);
    let isJson = !cfg.bodyTemplate;
    if (cfg.bodyTemplate) {
      try {
        JSON.parse(body);
        isJson = true;
      } catch {
        isJson = false;
      }
    }
    const url = new URL(cfg.url);
    let target: { address: string; family: 4 | 6 };
    try {
      target = await deps.targets.resolve(url.hostname);
    } catch (e) {
      if (e instanceof DestinationRefused)
        throw new DeliveryError(`webhook ${safeUrl(cfg.url)} refused: ${e.message}`, false);
      throw new DeliveryError(`webhook ${safeUrl(cfg.url)} unreachable: its host name does not resolve`);
    }
    const headers: Record<string, string> = {
      'content-type': isJson ? 'application/json' : 'text/plain; charset=utf-8',
      'idempotency-key': d.deliveryKey,
      'x-thingql-topic': d.message.topic,
      ...cfg.headers,
    };
    for (const k of Object.keys(headers)) headers[k] = headerValue(headers[k]!);
    const timeoutMs = cfg.timeoutMs ?? 10_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    let status: number;
    try {
      status = await send(url, {
        method: cfg.method ?? 'POST',
        headers,
        body,
        lookup: pinnedLookup(target),
        signal: d.signal ? AbortSignal.any([timeout, d.signal]) : timeout,
      });
    } catch (e) {
      // Building the request failed (a header the HTTP layer refuses): the same delivery fails the same way every
      // time, so it is dead-lettered at once instead of being retried for minutes.
      if (e instanceof RequestBuildError)
        throw new DeliveryError(`webhook ${safeUrl(cfg.url)} request could not be built: ${e.message}`, false);
      const why = timeout.aborted ? `no answer within ${timeoutMs} ms` : (e as Error).message;
      throw new DeliveryError(`webhook ${safeUrl(cfg.url)} unreachable: ${why}`);
    }
    if (status < 200 || status >= 300) {
      throw new DeliveryError(
        `webhook ${safeUrl(cfg.url)} answered HTTP ${status}`,
        status >= 500 || status === 429 || status === 408,
      );
    }
  }

  async function amqpPublish(d: Delivery): Promise<void> {
    const cfg = configOf(amqpSchema, d);
    let ch: amqp.ConfirmChannel;
    try {
      ({ ch } = await channel(cfg.url));
    } catch (e) {
      if (e instanceof DestinationRefused)
        throw new DeliveryError(`AMQP server ${redact(cfg.url)} refused: ${e.message}`, false);
      const err = e as NodeJS.ErrnoException;
      // Network failures say "unreachable"; a server that answers but refuses (login, vhost) says so.
      const network =
        typeof err.code === 'string' &&
        /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/.test(err.code);
      const timedOut = /timeout/i.test(err.message);
      throw new DeliveryError(
        `AMQP server ${redact(cfg.url)} ${network || timedOut ? 'unreachable' : 'refused the connection'}: ${redact(err.message)}`,
      );
    }
    await new Promise<void>((resolve, reject) => {
      // The server closes the channel when it refuses a publish (e.g. 404 NOT_FOUND for an unknown exchange): amqplib
      // emits that reason as 'error' before it fails the pending confirms with a bare "channel closed".
      let closedWith: Error | null = null;
      const onError = (e: Error) => void (closedWith = e);
      ch.once('error', onError);
      try {
        ch.publish(
          cfg.exchange ?? '',
          cfg.routingKey,
          Buffer.from(JSON.stringify(d.output)),
          {
            persistent: cfg.persistent ?? true,
            messageId: d.deliveryKey,
            contentType: 'application/json',
            headers: { topic: d.message.topic },
          },
          (err: unknown) => {
            ch.off('error', onError);
            if (!err) return resolve();
            const why = closedWith?.message ?? (err instanceof Error ? err.message : String(err));
            reject(new DeliveryError(`AMQP publish to ${redact(cfg.url)} was not confirmed: ${why}`));
          },
        );
      } catch (e) {
        ch.off('error', onError);
        reject(new DeliveryError(`AMQP publish to ${redact(cfg.url)} failed: ${(e as Error).message}`));
      }
    });
  }

  return {
    deliver(d: Delivery): Promise<void> {
      switch (d.action.type) {
        case 'REPUBLISH':
          return republish(d);
        case 'WEBHOOK':
          return webhook(d);
        case 'AMQP':
          return amqpPublish(d);
      }
    },
    async close(): Promise<void> {
      const all = [...channels.values()];
      channels.clear();
      await Promise.all(all.map((c) => c.then((x) => x.conn.close()).catch(() => undefined)));
    },
  };
}

class RequestBuildError extends Error {}

/**
 * The action's configuration, or a permanent failure: a rule stored before a check was added (or written to the
 * database by hand) fails the same way on every attempt, so retrying it for minutes cannot help.
 */
function configOf<T>(schema: z.ZodType<T>, d: Delivery): T {
  const r = schema.safeParse(d.action.configuration);
  if (!r.success)
    throw new DeliveryError(
      `${d.action.type} configuration is invalid: ${r.error.issues.map((i) => `${i.path.join('.') || 'configuration'}: ${i.message}`).join('; ')}`,
      false,
    );
  return r.data;
}

/**
 * A header value as HTTP carries it: visible ASCII is sent as is; anything else (a topic level in Chinese, an
 * emoji, a control character) is percent-encoded as UTF-8, which never throws and keeps the value readable.
 */
export function headerValue(v: string): string {
  return /^[\t\x20-\x7e]*$/.test(v) ? v : v.replace(/[^\t\x20-\x7e]/gu, (c) => encodeURIComponent(c));
}

/** One HTTP request to the pinned address; resolves with the status once the response has been read. */
function send(
  url: URL,
  opts: {
    method: string;
    headers: Record<string, string>;
    body: string;
    lookup: ReturnType<typeof pinnedLookup>;
    signal: AbortSignal;
  },
): Promise<number> {
  return new Promise((resolve, reject) => {
    let req: http.ClientRequest;
    try {
      req = (url.protocol === 'https:' ? https : http).request(
        url,
        { method: opts.method, headers: opts.headers, lookup: opts.lookup, signal: opts.signal, agent: false },
        (res) => {
          res.on('error', reject);
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
    } catch (e) {
      return reject(new RequestBuildError((e as Error).message));
    }
    req.on('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code ? `${e.code}` : e.message)));
    req.end(opts.body);
  });
}

/** Never log credentials of an AMQP URL. */
export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * A webhook URL for error texts (dead letters, Rule.lastError, logs): without user info and query, which often carry
 * the secret (chat-bot webhooks take `?access_token=...`).
 */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return redact(url);
  }
}

export type ActionRunner = ReturnType<typeof createActionRunner>;
