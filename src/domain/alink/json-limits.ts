/**
 * Bounds on device JSON before it is parsed (docs/security-device.md). One linear pass over the text, outside strings:
 * - nesting deeper than `maxDepth` is refused: a value nested 100,000 levels deep parses, but every recursive walk
 *   after it (validation, JSON.stringify on the way into the database) overflows the stack, the commit fails, and the
 *   device's resend fails the same way, forever;
 * - the escape `\u0000` is refused: PostgreSQL's jsonb cannot hold it, with the same effect.
 */
export const MAX_JSON_DEPTH = 64;

export type JsonScan = 'ok' | 'tooDeep' | 'nul';

export function scanJson(text: string, maxDepth = MAX_JSON_DEPTH): JsonScan {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) {
        if (text.charCodeAt(i + 1) === 0x75 /* u */ && text.startsWith('0000', i + 2)) return 'nul';
        i++; // skip the escaped character
      } else if (c === 0x22 /* " */) {
        inString = false;
      }
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return 'tooDeep';
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return 'ok';
}

/** JSON.parse within those bounds; `undefined` with the reason when the text is refused or not JSON. */
export function parseBoundedJson(
  text: string,
  maxDepth = MAX_JSON_DEPTH,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  const scan = scanJson(text, maxDepth);
  if (scan === 'tooDeep') return { ok: false, reason: `JSON nested deeper than ${maxDepth} levels` };
  if (scan === 'nul') return { ok: false, reason: 'JSON with \\u0000 characters cannot be stored' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: 'payload is not valid JSON' };
  }
}
