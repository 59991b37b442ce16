import type { RuleAction } from './actions.ts';

/**
 * What callers below ADMIN see of an action's configuration: the shape and the destinations,
 * not the credentials. Like the error texts (actions.ts safeUrl/redact): user info and query values of URLs are
 * masked (chat-bot webhooks carry `?access_token=...`, AMQP URLs `user:password@`), and webhook header values too,
 * except a few that never carry credentials.
 */
export const REDACTED = '***';
const PLAIN_HEADERS = new Set(['content-type', 'accept', 'accept-language', 'user-agent']);

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? REDACTED : '';
      u.password = u.password ? REDACTED : '';
    }
    if (u.search) {
      const masked = [...u.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=${REDACTED}`).join('&');
      u.search = masked;
    }
    u.hash = '';
    return u.toString();
  } catch {
    // Not a WHATWG URL (amqplib reads a few more forms): mask user info and the whole query.
    return url.replace(/\/\/[^@/]*@/, `//${REDACTED}@`).replace(/\?.*$/s, `?${REDACTED}`);
  }
}

export function redactAction(a: RuleAction): RuleAction {
  if (a.type === 'REPUBLISH') return a;
  const c: Record<string, unknown> = { ...a.configuration };
  if (typeof c.url === 'string') c.url = redactUrl(c.url);
  if (a.type === 'WEBHOOK' && c.headers && typeof c.headers === 'object') {
    c.headers = Object.fromEntries(
      Object.entries(c.headers as Record<string, unknown>).map(([k, v]) => [
        k,
        PLAIN_HEADERS.has(k.toLowerCase()) ? v : REDACTED,
      ]),
    );
  }
  return { ...a, configuration: c };
}
