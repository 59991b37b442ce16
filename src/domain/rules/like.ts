/**
 * SQL `LIKE` for rule expressions (alink-protocol.md §5.5): `%` any run of characters (also none), `_` exactly one
 * character, everything else literal. Characters are Unicode code points.
 *
 * A backtracking regex (`^.*a.*a.*b$`) takes exponential time on hostile input (a rule's pattern is user input); this is a
 * bit-parallel simulation of the pattern's automaton: one pass over the text, `ceil(pattern/32)` word operations per
 * character, no backtracking. Both inputs are bounded too (LIKE_MAX_PATTERN, LIKE_MAX_TEXT): a longer operand does
 * not match (and `NOT LIKE` is then true), the same answer whatever its content.
 */

/** Longest pattern compared, in code points. */
export const LIKE_MAX_PATTERN = 1024;
/** Longest text compared, in UTF-16 code units (1 MiB of text at most, four times the MQTT payload limit). */
export const LIKE_MAX_TEXT = 1024 * 1024;

interface CompiledLike {
  /** Pattern positions, `%` runs collapsed into one. */
  length: number;
  words: number;
  /** Bit i: position i is `%`. */
  star: Uint32Array;
  /** Bit i: position i is `_`. */
  any: Uint32Array;
  /** Per literal code point, the positions holding it. */
  literal: Map<number, Uint32Array>;
}

const cache = new Map<string, CompiledLike>();

function compile(pattern: string): CompiledLike {
  const hit = cache.get(pattern);
  if (hit) return hit;
  const chars: number[] = [];
  for (const ch of pattern) {
    const cp = ch.codePointAt(0)!;
    if (cp === 37 && chars[chars.length - 1] === 37) continue; // `%%` = `%`
    chars.push(cp);
  }
  const length = chars.length;
  const words = (length >>> 5) + 1; // one more bit: the accepting state `length`
  const star = new Uint32Array(words);
  const any = new Uint32Array(words);
  const literal = new Map<number, Uint32Array>();
  chars.forEach((cp, i) => {
    const bit = 1 << (i & 31);
    if (cp === 37) star[i >>> 5]! |= bit;
    else if (cp === 95) any[i >>> 5]! |= bit;
    else {
      let m = literal.get(cp);
      if (!m) literal.set(cp, (m = new Uint32Array(words)));
      m[i >>> 5]! |= bit;
    }
  });
  const c = { length, words, star, any, literal };
  if (cache.size >= 256) cache.delete(cache.keys().next().value!);
  cache.set(pattern, c);
  return c;
}

/** States reachable through `%` without reading a character: a `%` at i also activates i + 1 (runs are collapsed). */
function closeOverStars(state: Uint32Array, star: Uint32Array): void {
  let carry = 0;
  for (let w = 0; w < state.length; w++) {
    const s = state[w]! & star[w]!;
    const shifted = ((s << 1) | carry) >>> 0;
    carry = s >>> 31;
    state[w] = (state[w]! | shifted) >>> 0;
  }
}

/** True when `text` matches the LIKE `pattern` as a whole. */
export function likeMatch(text: string, pattern: string): boolean {
  if (pattern.length > LIKE_MAX_PATTERN * 2 || text.length > LIKE_MAX_TEXT) return false;
  if ([...pattern].length > LIKE_MAX_PATTERN) return false;
  const p = compile(pattern);
  const { words, star, any, literal } = p;
  let state = new Uint32Array(words);
  let next = new Uint32Array(words);
  state[0] = 1;
  closeOverStars(state, star);
  const none = new Uint32Array(words);
  for (const ch of text) {
    const lit = literal.get(ch.codePointAt(0)!) ?? none;
    let carry = 0;
    let alive = 0;
    for (let w = 0; w < words; w++) {
      const s = state[w]!;
      // Stay on a `%` (it eats the character), or advance past a position that accepts the character.
      const advance = s & (lit[w]! | any[w]! | star[w]!);
      const shifted = ((advance << 1) | carry) >>> 0;
      carry = advance >>> 31;
      const v = ((s & star[w]!) | shifted) >>> 0;
      next[w] = v;
      alive |= v;
    }
    if (alive === 0) return false;
    closeOverStars(next, star);
    [state, next] = [next, state];
  }
  const end = p.length;
  return (state[end >>> 5]! & (1 << (end & 31))) !== 0;
}
