import { createHmac } from 'node:crypto';
import { err, ok, type Result } from '../result.ts';

/**
 * The AMQP login of Alibaba's server-side subscription (cloud-api.md §7.2): SASL PLAIN with
 * username `<clientId>|authMode=aksign,signMethod=hmacsha1,timestamp=...,authId=...,consumerGroupId=...|`
 * and password `base64(HMAC-<signMethod>(AccessKeySecret, "authId=<authId>&timestamp=<timestamp>"))`.
 */
export type AmqpSignMethod = 'hmacmd5' | 'hmacsha1' | 'hmacsha256';

export interface AmqpLogin {
  clientId: string;
  signMethod: AmqpSignMethod;
  timestamp: string;
  authId: string;
  consumerGroupId: string;
}

const HASH: Record<AmqpSignMethod, string> = { hmacmd5: 'md5', hmacsha1: 'sha1', hmacsha256: 'sha256' };

export function parseAmqpUsername(username: string): Result<AmqpLogin, string> {
  const m = /^([^|]*)\|([^|]*)\|$/.exec(username);
  if (!m) return err('the username must be "<clientId>|<key>=<value>,...|"');
  const clientId = m[1]!.trim();
  if (clientId.length < 1 || clientId.length > 64) return err('clientId must be 1 to 64 characters');
  const params = new Map<string, string>();
  // Pairs in any order, spaces trimmed, unknown keys ignored (§7.2: the samples use at least three orders).
  for (const pair of m[2]!.split(',')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    params.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  if (params.get('authMode') !== 'aksign') return err('authMode must be aksign');
  const signMethod = (params.get('signMethod') ?? '').toLowerCase();
  if (!(signMethod in HASH)) return err('signMethod must be hmacmd5, hmacsha1 or hmacsha256');
  const timestamp = params.get('timestamp') ?? '';
  if (!/^\d{1,16}$/.test(timestamp)) return err('timestamp must be a time in ms');
  const authId = params.get('authId') ?? '';
  if (!authId) return err('authId (the AccessKeyId) is missing');
  const consumerGroupId = params.get('consumerGroupId') ?? '';
  if (!consumerGroupId) return err('consumerGroupId is missing');
  return ok({ clientId, signMethod: signMethod as AmqpSignMethod, timestamp, authId, consumerGroupId });
}

/** The expected password for a login (parameter names sorted: authId, timestamp). */
export function amqpPassword(signMethod: AmqpSignMethod, secret: string, authId: string, timestamp: string): string {
  return createHmac(HASH[signMethod], secret).update(`authId=${authId}&timestamp=${timestamp}`).digest('base64');
}
