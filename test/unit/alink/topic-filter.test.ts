import { describe, expect, it } from 'vitest';
import {
  filterIsWithin,
  grantedFilterMatches,
  isValidFilter,
  isValidTopicName,
  topicMatches,
} from '../../../src/domain/alink/topic-filter.ts';

describe('isValidTopicName / isValidFilter', () => {
  it.each(['/a/b', 'a', '/', '//', '$SYS/x', '/a b/ü'])('accepts topic name %j', (t) => {
    expect(isValidTopicName(t)).toBe(true);
  });
  it.each(['', '/a/+', '/a/#', '/a/b#', 'a\u0000b'])('rejects topic name %j', (t) => {
    expect(isValidTopicName(t)).toBe(false);
  });
  it.each(['#', '+', '/+/#', 'a/+/c', '/a/#', '+/+', '/'])('accepts filter %j', (f) => {
    expect(isValidFilter(f)).toBe(true);
  });
  it.each(['', 'a/#/b', 'a#', 'a/b+', '+a/b', '##', 'a\u0000'])('rejects filter %j', (f) => {
    expect(isValidFilter(f)).toBe(false);
  });
});

describe('topicMatches', () => {
  it.each([
    ['sport/tennis/player1/#', 'sport/tennis/player1'],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking'],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon'],
    ['sport/#', 'sport'],
    ['#', '/a/b'],
    ['sport/tennis/+', 'sport/tennis/player1'],
    ['sport/+', 'sport/'],
    ['+/+', '/finance'],
    ['/+', '/finance'],
    ['/sys/a1/d1/thing/service/+', '/sys/a1/d1/thing/service/property'],
    ['$SYS/#', '$SYS/monitor'],
  ])('%j matches %j', (f, t) => {
    expect(topicMatches(f, t)).toBe(true);
  });
  it.each([
    ['sport/tennis/+', 'sport/tennis/player1/ranking'],
    ['sport/+', 'sport'],
    ['+', '/finance'],
    ['/sys/a1/d1/thing/service/+', '/sys/a1/d1/thing/service/property/set'],
    ['#', '$SYS/monitor'],
    ['+/monitor', '$SYS/monitor'],
    ['a/b', 'a/b/c'],
    ['a/b/c', 'a/b'],
    ['a/#/b', 'a/x/b'],
    ['a/+', 'a/+'],
  ])('%j does not match %j', (f, t) => {
    expect(topicMatches(f, t)).toBe(false);
  });
});

describe('filterIsWithin', () => {
  it.each([
    ['/sys/pk/dn/thing/service/+', '/sys/pk/dn/#'],
    ['/sys/pk/dn/#', '/sys/pk/dn/#'],
    ['/sys/pk/dn', '/sys/pk/dn/#'],
    ['/sys/pk/dn/+/+/#', '/sys/pk/dn/#'],
    ['a/+', 'a/+/#'],
    ['a/b', '+/+'],
    ['a/+/c', '+/+/+'],
    ['+/x', '#'],
    ['/ext/rrpc/+//pk/dn/user/get', '/ext/rrpc/+//pk/dn/user/#'],
  ])('%j is within %j', (f, a) => {
    expect(filterIsWithin(f, a)).toBe(true);
  });
  it.each([
    ['/sys/pk/+/thing/#', '/sys/pk/dn/#'],
    ['/sys/#', '/sys/pk/dn/#'],
    ['#', '/sys/pk/dn/#'],
    ['/sys/pk/dn/#', '/sys/pk/dn/thing/#'],
    ['a/#', 'a/+/#'],
    ['a/+', 'a/b'],
    ['a/b/c', 'a/b'],
    ['a/b', 'a/b/c'],
    ['$SYS/x', '#'],
    ['$SYS/x', '+/x'],
    ['a/#/b', '#'],
  ])('%j is not within %j', (f, a) => {
    expect(filterIsWithin(f, a)).toBe(false);
  });
  it('agrees with topicMatches on sample topics', () => {
    const topics = ['a', 'a/b', 'a/b/c', 'a/x/c', '/a', 'b/b'];
    const filters = ['a/#', 'a/+', 'a/+/c', '+/b', '#', 'a/b', '+/+/+', 'a/+/#'];
    for (const f of filters) {
      for (const a of filters) {
        if (!filterIsWithin(f, a)) continue;
        for (const t of topics) if (topicMatches(f, t)) expect(topicMatches(a, t), `${f} ⊆ ${a} on ${t}`).toBe(true);
      }
    }
  });
});

describe('filterIsWithin exhaustively over a small universe', () => {
  const product = (alphabet: string[], maxDepth: number): string[] => {
    const out: string[][] = [];
    let frontier: string[][] = [[]];
    for (let d = 1; d <= maxDepth; d++) {
      frontier = frontier.flatMap((p) => alphabet.map((l) => [...p, l]));
      out.push(...frontier);
    }
    return out.map((l) => l.join('/'));
  };
  const filters = product(['a', '$s', '', '+', '#'], 3).filter(isValidFilter);
  const topics = product(['a', '$s', '', 'z'], 4);

  it('is sound and complete: within ⇔ no sample topic matched by the filter escapes the allowed filter', () => {
    for (const f of filters) {
      const matched = topics.filter((t) => topicMatches(f, t));
      for (const a of filters) {
        const escapes = matched.some((t) => !topicMatches(a, t));
        expect(filterIsWithin(f, a), `${f} within ${a}`).toBe(!escapes);
      }
    }
  });
});

describe('grantedFilterMatches', () => {
  it('answers as topicMatches for every valid filter and topic name of a small alphabet', () => {
    // Every filter and topic of up to three levels over these (a deterministic exhaustive check, not a sample).
    const topicLevels = ['', 'a', 'b', 'ab', '$s'];
    const filterLevels = [...topicLevels, '+', '#'];
    const combos = (levels: string[]) => {
      const out: string[] = [];
      for (const x of levels) {
        out.push(x);
        for (const y of levels) {
          out.push(`${x}/${y}`);
          for (const z of levels) out.push(`${x}/${y}/${z}`);
        }
      }
      return out;
    };
    const filters = combos(filterLevels).filter(isValidFilter);
    const topics = combos(topicLevels).filter(isValidTopicName);
    let checked = 0;
    for (const f of filters)
      for (const t of topics) {
        if (grantedFilterMatches(f, t) !== topicMatches(f, t)) expect([f, t, grantedFilterMatches(f, t)]).toBe(null);
        checked++;
      }
    expect(checked).toBeGreaterThan(10_000);
    expect(grantedFilterMatches('/sys/pk/dn/+/#', '/sys/pk/dn/thing/event/property/post_reply')).toBe(true);
    expect(grantedFilterMatches('/sys/pk/dn/thing/service/+', '/sys/pk/dn/thing/service/property/set')).toBe(false);
  });
});
