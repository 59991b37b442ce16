/**
 * Online-debug forms generated from the TSL (alink-protocol.md §4): one input per parameter by data type, parsed and
 * checked in the browser before the command is sent (the server validates again and its userErrors are shown too).
 */
export interface DataType {
  type: string;
  specs?: Record<string, unknown> | unknown[];
}

export interface Param {
  identifier: string;
  name: string;
  dataType: DataType;
}

export type InputKind = 'number' | 'bool' | 'enum' | 'text' | 'date' | 'json';

export function inputKind(dt: DataType): InputKind {
  switch (dt.type) {
    case 'int':
    case 'float':
    case 'double':
      return 'number';
    case 'bool':
      return 'bool';
    case 'enum':
      return 'enum';
    case 'text':
      return 'text';
    case 'date':
      return 'date';
    default:
      return 'json';
  }
}

const spec = (dt: DataType, k: string): string | undefined => {
  const s = dt.specs as Record<string, unknown> | undefined;
  const v = s && !Array.isArray(s) ? s[k] : undefined;
  return v == null || v === '' ? undefined : String(v);
};

/** The choices of a bool or enum, as [value, label]. */
export function choices(dt: DataType): [string, string][] {
  const s = dt.specs as Record<string, unknown> | undefined;
  if (!s || Array.isArray(s))
    return dt.type === 'bool'
      ? [
          ['0', '0'],
          ['1', '1'],
        ]
      : [];
  return Object.entries(s)
    .filter(([k]) => /^-?\d+$/.test(k))
    .map(([k, v]) => [k, `${k} · ${String(v)}`]);
}

export function hint(dt: DataType): string {
  const unit = spec(dt, 'unit');
  switch (dt.type) {
    case 'int':
    case 'float':
    case 'double': {
      const min = spec(dt, 'min');
      const max = spec(dt, 'max');
      return `${dt.type}${min != null || max != null ? ` ${min ?? '…'} to ${max ?? '…'}` : ''}${unit ? ` ${unit}` : ''}`;
    }
    case 'text':
      return `text${spec(dt, 'length') ? `, at most ${spec(dt, 'length')} characters` : ''}`;
    case 'date':
      return 'date: UTC milliseconds';
    case 'struct':
      return 'struct: a JSON object';
    case 'array':
      return 'array: a JSON array';
    default:
      return dt.type;
  }
}

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

/** Parse and check one input; an empty input is "not set" (value undefined). */
export function parseInput(raw: string, dt: DataType): Parsed {
  const text = raw.trim();
  if (text === '') return { ok: true, value: undefined };
  switch (inputKind(dt)) {
    case 'number': {
      if (dt.type === 'int' ? !/^[-+]?\d+$/.test(text) : !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
        return { ok: false, error: dt.type === 'int' ? 'must be a whole number' : 'must be a number' };
      }
      const n = Number(text);
      const min = spec(dt, 'min');
      const max = spec(dt, 'max');
      if (min != null && n < Number(min)) return { ok: false, error: `must be at least ${min}` };
      if (max != null && n > Number(max)) return { ok: false, error: `must be at most ${max}` };
      return { ok: true, value: n };
    }
    case 'bool':
    case 'enum': {
      if (!choices(dt).some(([k]) => k === text)) return { ok: false, error: 'not one of the allowed values' };
      return { ok: true, value: Number(text) };
    }
    case 'text': {
      const len = spec(dt, 'length');
      if (len != null && text.length > Number(len)) return { ok: false, error: `at most ${len} characters` };
      return { ok: true, value: raw };
    }
    case 'date':
      if (!/^\d{1,15}$/.test(text)) return { ok: false, error: 'must be UTC milliseconds (digits)' };
      return { ok: true, value: text };
    case 'json':
      try {
        const v = JSON.parse(text) as unknown;
        if (dt.type === 'struct' && (typeof v !== 'object' || v === null || Array.isArray(v)))
          return { ok: false, error: 'must be a JSON object' };
        if (dt.type === 'array' && !Array.isArray(v)) return { ok: false, error: 'must be a JSON array' };
        return { ok: true, value: v };
      } catch {
        return { ok: false, error: 'must be valid JSON' };
      }
  }
}

/** Parse every input of a form: the values to send, or the error of each field. */
export function parseForm(
  params: Param[],
  raw: Record<string, string>,
): { values: Record<string, unknown>; errors: Record<string, string> } {
  const values: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const p of params) {
    const r = parseInput(raw[p.identifier] ?? '', p.dataType);
    if (!r.ok) errors[p.identifier] = r.error;
    else if (r.value !== undefined) values[p.identifier] = r.value;
  }
  return { values, errors };
}

export const isNumeric = (dt: DataType): boolean => dt.type === 'int' || dt.type === 'float' || dt.type === 'double';
export const unitOf = (dt: DataType): string => spec(dt, 'unit') ?? '';
