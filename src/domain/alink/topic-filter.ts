/**
 * MQTT topic-name / topic-filter rules (MQTT 3.1.1 §4.7, identical in MQTT 5) used by the broker ACL
 * (alink-protocol.md D7). Pure string functions, no Alink knowledge.
 */

const MAX_TOPIC_BYTES = 65_535; // MQTT length prefix is a 16-bit integer

function basicChecks(s: string): boolean {
  if (s.length === 0) return false; // [MQTT-4.7.3-1] at least one character
  if (s.includes('\u0000')) return false; // [MQTT-4.7.3-2] no NUL
  return Buffer.byteLength(s, 'utf8') <= MAX_TOPIC_BYTES; // [MQTT-4.7.3-3]
}

/** A topic name as sent in PUBLISH: no wildcard characters at all ([MQTT-3.3.2-2]). */
export function isValidTopicName(topic: string): boolean {
  return basicChecks(topic) && !topic.includes('+') && !topic.includes('#');
}

/**
 * A topic filter as sent in SUBSCRIBE: `#` only as a whole, last level ([MQTT-4.7.1-2]);
 * `+` only as a whole level ([MQTT-4.7.1-3]).
 */
export function isValidFilter(filter: string): boolean {
  if (!basicChecks(filter)) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] ?? '';
    if (level === '#') {
      if (i !== levels.length - 1) return false;
    } else if (level === '+') {
    } else if (level.includes('#') || level.includes('+')) {
      return false;
    }
  }
  return true;
}

/**
 * [MQTT-4.7] matching: `+` matches exactly one (possibly empty) level, `#` matches the parent level and any number
 * of child levels, and topics starting with `$` are not matched by a filter whose first level is a wildcard
 * ([MQTT-4.7.2-1]). Invalid filters or topic names never match.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (!isValidFilter(filter) || !isValidTopicName(topic)) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true; // covers t.length === i too: "sport/#" matches "sport"
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * `topicMatches` for a filter known to be valid (one the broker granted) and a topic name known to be valid (one the
 * platform built): the same answer without validating either or splitting them into arrays. On the reply path it is
 * asked for every filter of the connection (test/unit/alink/topic-filter.test.ts checks it against `topicMatches`).
 */
export function grantedFilterMatches(filter: string, topic: string): boolean {
  const fl = filter.length;
  const tl = topic.length;
  if (topic.charCodeAt(0) === 36 /* $ */ && (filter.charCodeAt(0) === 43 || filter.charCodeAt(0) === 35)) return false;
  let fi = 0;
  let ti = 0;
  for (;;) {
    // At the start of a level in both.
    const c = filter.charCodeAt(fi);
    if (c === 35 /* # */) return true;
    if (c === 43 /* + */) {
      while (ti < tl && topic.charCodeAt(ti) !== 47) ti++;
      fi++;
    } else {
      while (fi < fl && filter.charCodeAt(fi) !== 47) {
        if (ti >= tl || topic.charCodeAt(ti) !== filter.charCodeAt(fi)) return false;
        fi++;
        ti++;
      }
      if (ti < tl && topic.charCodeAt(ti) !== 47) return false;
    }
    // At the end of a level in both.
    if (fi >= fl) return ti >= tl;
    // The filter goes on; a topic that ended here matches only a last `/#` (`a/#` matches `a`).
    if (ti >= tl) return fi + 2 === fl && filter.charCodeAt(fi + 1) === 35;
    fi++;
    ti++;
  }
}

/**
 * True when every topic `filter` can match is also matched by `allowedFilter` (set inclusion of the matched topic
 * sets). Used for the ACL of wildcard subscriptions: a filter that reaches even one topic outside the allowed set is
 * not within it (alink-protocol.md D7 "wildcards that reach outside the namespace are denied").
 */
export function filterIsWithin(filter: string, allowedFilter: string): boolean {
  if (!isValidFilter(filter) || !isValidFilter(allowedFilter)) return false;
  const f = filter.split('/');
  const a = allowedFilter.split('/');
  // `$` rule: a leading wildcard in allowedFilter does not cover `$...` topics; a filter with a leading wildcard
  // matches no `$...` topic, so only a literal `$` first level of `filter` is affected.
  if ((f[0] ?? '').startsWith('$') && (a[0] === '+' || a[0] === '#')) return false;
  for (let i = 0; ; i++) {
    const fl = f[i];
    const al = a[i];
    if (al === '#') return true; // allowed covers this level (and its parent) and everything below
    if (fl === undefined) return al === undefined; // filter ends: allowed must end at the same depth
    if (al === undefined) return false; // filter goes deeper than allowed can
    if (fl === '#') {
      // Unbounded depth while allowed is bounded here — except `#` ⊆ `+/#` when `#`'s parent match would be the
      // empty string, which is not a topic name ([MQTT-4.7.3-1]): `#` ⊆ `+/#` and `/#` ⊆ `/+/#`.
      const parentIsEmptyTopic = i === 0 || (i === 1 && f[0] === '');
      return parentIsEmptyTopic && al === '+' && a.length === i + 2 && a[i + 1] === '#';
    }
    if (fl === '+') {
      if (al !== '+') return false; // a literal cannot cover every value of `+`
      continue;
    }
    if (al !== '+' && al !== fl) return false;
  }
}
