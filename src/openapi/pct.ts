/**
 * cloud-api.md §3 shared rules: percent-encoding of UTF-8 bytes, everything but `A-Z a-z 0-9 - _ . ~` as `%XX`
 * (uppercase), so space is `%20` and `*` is `%2A`.
 */
export const pct = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Parameters sorted by name in byte order, each `pct(name)=pct(value)`, joined with `&`. */
export function canonicalize(params: ReadonlyMap<string, string>): string {
  return [...params.keys()]
    .sort()
    .map((k) => `${pct(k)}=${pct(params.get(k)!)}`)
    .join('&');
}

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,3})?Z$/;

/** `YYYY-MM-DDTHH:mm:ssZ` (UTC) to epoch ms; null when unparsable. */
export function parseAcsTime(s: string): number | null {
  const m = TIME_RE.exec(s);
  if (!m) return null;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : null;
}
