/**
 * Where a value sits in a JSON text: `locate(text, ['properties', '0', 'dataType'])` gives the character range and
 * line of that value, so an error with a field path (setThingModel's INVALID_TSL) can be shown at its place in the
 * editor. A small scanner over valid JSON; null when the text does not parse or the path is absent.
 */
export interface Located {
  start: number;
  end: number;
  line: number;
}

export function locate(text: string, path: (string | number)[]): Located | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  // Skip (or descend into) the value at i; returns its range when `depth` reaches the end of the path.
  const value = (depth: number): Located | null => {
    ws();
    const start = i;
    const c = text[i];
    if (c === '{' || c === '[') {
      const isObj = c === '{';
      i++;
      let index = 0;
      let found: Located | null = null;
      for (;;) {
        ws();
        if (text[i] === (isObj ? '}' : ']')) {
          i++;
          break;
        }
        let key = String(index++);
        if (isObj) {
          key = str();
          ws();
          i++; // ':'
        }
        const hit = depth < path.length && String(path[depth]) === key ? value(depth + 1) : value(path.length + 1);
        if (hit && !found) found = hit;
        ws();
        if (text[i] === ',') i++;
        if (i >= text.length) throw new Error('eof');
      }
      if (found) return found;
    } else if (c === '"') str();
    else while (i < text.length && /[^,\]}\s]/.test(text[i]!)) i++;
    if (depth === path.length) return { start, end: i, line: text.slice(0, start).split('\n').length };
    return null;
  };
  try {
    JSON.parse(text);
    return value(0);
  } catch {
    return null;
  }
}
