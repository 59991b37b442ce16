/**
 * What a rule action is configured with (REPUBLISH, WEBHOOK, AMQP): the schemas checked when a rule is saved and at
 * each delivery, and the templates that fill topics and bodies from the SELECT output. The runner is in actions.ts.
 */
import { z } from 'zod';
import { isValidTopicName } from '../../domain/alink/topic-filter.ts';
import { parseTopic } from '../../domain/alink/topics.ts';
import { DestinationRefused, type TargetGuard } from './destinations.ts';

import type { RuleAction } from '../../db/rule-records.ts';

export type { RuleAction, RuleActionType } from '../../db/rule-records.ts';

export const republishSchema = z.object({
  topic: z.string().min(2).max(256),
  topicType: z.union([z.literal(0), z.literal(1)]).optional(),
  qos: z.union([z.literal(0), z.literal(1)]).optional(),
});
/** RFC 9110 token: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$/;
/** Headers the platform sets itself: a configured value would break or smuggle the request. */
const RESERVED_HEADERS = [
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'expect',
  'idempotency-key',
];
export const webhookSchema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  method: z.enum(['POST', 'PUT']).optional(),
  headers: z
    .record(
      z
        .string()
        .regex(HEADER_NAME, "header names are HTTP tokens (letters, digits and !#$%&'*+-.^_`|~)")
        .refine((n) => !RESERVED_HEADERS.includes(n.toLowerCase()), 'this header is set by the platform'),
      z.string().max(8192),
    )
    .optional(),
  bodyTemplate: z
    .string()
    .max(64 * 1024)
    .optional(),
  timeoutMs: z.number().int().min(100).max(60_000).optional(),
});
export const amqpSchema = z.object({
  url: z.string().regex(/^amqps?:\/\//, 'must start with amqp:// or amqps://'),
  exchange: z.string().max(255).optional(),
  routingKey: z.string().max(255),
  persistent: z.boolean().optional(),
});

export const ACTION_SCHEMAS = { REPUBLISH: republishSchema, WEBHOOK: webhookSchema, AMQP: amqpSchema } as const;

/** Validate an action's configuration; returns the issues (empty when valid). */
export function checkActionConfiguration(a: RuleAction, guard?: TargetGuard): string[] {
  const schema = ACTION_SCHEMAS[a.type];
  const r = schema.safeParse(a.configuration);
  if (!r.success) return r.error.issues.map((i) => `${i.path.join('.') || 'configuration'}: ${i.message}`);
  if (guard && (a.type === 'WEBHOOK' || a.type === 'AMQP')) {
    // Host names are checked at every delivery (after resolution); an address literal can be refused now.
    let host = '';
    try {
      host = new URL(String(a.configuration.url)).hostname;
    } catch {
      /* AMQP URLs amqplib reads but WHATWG does not: checked at delivery */
    }
    if (host && guard.literalRefused(host)) return [`url: ${new DestinationRefused().message}`];
  }
  if (a.type === 'REPUBLISH') {
    const topic = fill(String(a.configuration.topic), { productKey: 'pk0', deviceName: 'dn0' }, {});
    const t = parseTopic(topic);
    const ok =
      isValidTopicName(topic) &&
      (t.kind === 'custom' || (t.kind === 'sys' && t.path[0] === 'thing' && t.path[1] === 'service'));
    if (!ok)
      return [
        `topic: republish targets a device's custom topic (/\${productKey}/\${deviceName}/user/...) or a TSL downlink (/sys/.../thing/service/...)`,
      ];
  }
  return [];
}

/** `${field}` placeholders: the source message's productKey / deviceName / topic, then the SELECT output's fields. */
export function fill(
  template: string,
  source: { productKey?: string | null; deviceName?: string | null; topic?: string },
  output: Record<string, unknown>,
): string {
  return template.replace(/\$\{([A-Za-z0-9_.]+)\}/g, (_m, k: string) => {
    if (k === 'productKey' && source.productKey != null) return source.productKey;
    if (k === 'deviceName' && source.deviceName != null) return source.deviceName;
    if (k === 'topic' && source.topic != null) return source.topic;
    const v = k
      .split('.')
      .reduce<unknown>((o, p) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[p] : undefined), output);
    return v == null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

/**
 * A webhook body template. A JSON template (`{...}` or `[...]`, e.g. a chat-bot message) stays valid JSON whatever the
 * values hold: a placeholder inside a JSON string is filled JSON-escaped (quotes, backslashes, newlines); elsewhere
 * it is filled as `fill` does.
 */
export function fillBody(
  template: string,
  source: { productKey?: string | null; deviceName?: string | null; topic?: string },
  output: Record<string, unknown>,
): string {
  if (!/^\s*[[{]/.test(template)) return fill(template, source, output);
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; ) {
    const ch = template[i]!;
    if (ch === '$' && template[i + 1] === '{') {
      const m = /^\$\{[A-Za-z0-9_.]+\}/.exec(template.slice(i));
      if (m) {
        const text = fill(m[0], source, output);
        out += inString ? JSON.stringify(text).slice(1, -1) : text;
        i += m[0].length;
        continue;
      }
    }
    if (ch === '\\' && inString) {
      out += template.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (ch === '"') inString = !inString;
    out += ch;
    i++;
  }
  return out;
}
