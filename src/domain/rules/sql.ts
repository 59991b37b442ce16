// Only the BigQuery grammar (the dialect parsed below): the package's main entry bundles every dialect, about 16 MB
// more resident memory for the same AST (docs/performance.md).
import sqlParser from 'node-sql-parser/build/bigquery.js';
import { isValidFilter } from '../alink/topic-filter.ts';
import { err, ok, type Result } from '../result.ts';
import { FUNCTIONS, num, str, type RuleContext } from './functions.ts';
import { likeMatch } from './like.ts';

const { Parser } = sqlParser as unknown as {
  Parser: new () => { astify(sql: string, opts: { database: string }): unknown };
};
const parser = new Parser();

export interface SqlError {
  message: string;
  /** 0-based offset in the statement, when known. */
  offset: number | null;
  line: number | null;
  column: number | null;
}

export interface CompiledRule {
  /** The FROM topic filter (MQTT filter over forwarding topics, alink-protocol.md §5.5). */
  topicFilter: string;
  where: (ctx: RuleContext) => boolean;
  select: (ctx: RuleContext) => Record<string, unknown>;
  /** The rule calls attribute(): the caller must load the device's tags into the context. */
  usesAttributes: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: node-sql-parser's AST is walked by shape; each field is checked where it is read.
type Node = Record<string, any>;
type Eval = (ctx: RuleContext) => unknown;

class CompileError extends Error {
  constructor(
    message: string,
    /** Where to point: the first match of this text (case-insensitive) or pattern in the statement. */
    readonly needle?: string | RegExp,
  ) {
    super(message);
  }
}

function locate(sql: string, needle: string | RegExp | undefined): number | null {
  if (needle === undefined) return null;
  if (typeof needle === 'string') {
    const i = sql.toLowerCase().indexOf(needle.toLowerCase());
    return i >= 0 ? i : null;
  }
  const m = new RegExp(needle.source, needle.flags.includes('i') ? needle.flags : `${needle.flags}i`).exec(sql);
  return m ? m.index : null;
}

function position(sql: string, offset: number | null): Pick<SqlError, 'offset' | 'line' | 'column'> {
  if (offset == null || offset < 0) return { offset: null, line: null, column: null };
  const before = sql.slice(0, offset).split('\n');
  return { offset, line: before.length, column: before[before.length - 1]!.length + 1 };
}

/** The function name as written (`deviceName`); look-ups lower-case it (names are case-insensitive). */
const writtenName = (n: Node): string => {
  const name = n.name?.name?.[0]?.value ?? n.name?.schema?.value ?? n.name;
  return String(typeof name === 'string' ? name : '');
};
const functionName = (n: Node): string => writtenName(n).toLowerCase();

/** A column reference `a.b.c` becomes a JSON path into the message body (`items.Temperature.value`). */
function columnPath(n: Node): string[] {
  const col = typeof n.column === 'string' ? n.column : n.column?.expr?.value;
  return [...(n.table ? [String(n.table)] : []), String(col), ...((n.subFields as string[] | undefined) ?? [])];
}

function lookup(json: unknown, path: string[]): unknown {
  let cur: unknown = json;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur as object, k)) return null;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur === undefined ? null : cur;
}

function compare(a: unknown, b: unknown): number | null {
  if (a == null || b == null) return null;
  const na = num(a);
  const nb = num(b);
  if (na != null && nb != null && (typeof a === 'number' || typeof b === 'number'))
    return na === nb ? 0 : na < nb ? -1 : 1;
  const sa = str(a)!;
  const sb = str(b)!;
  return sa === sb ? 0 : sa < sb ? -1 : 1;
}

const truthy = (v: unknown) => v === true || (typeof v === 'number' && v !== 0) || v === 'true';

/** Deepest expression nesting a rule may have (parentheses, operators, function calls). */
export const MAX_EXPRESSION_DEPTH = 64;
/** Longest rule statement, in characters. */
export const MAX_RULE_SQL_LENGTH = 16 * 1024;

let nesting = 0;

function compileExpr(n: Node): Eval {
  if (++nesting > MAX_EXPRESSION_DEPTH)
    throw new CompileError(`expression nested deeper than ${MAX_EXPRESSION_DEPTH} levels`);
  try {
    return compileNode(n);
  } finally {
    nesting--;
  }
}

function compileNode(n: Node): Eval {
  switch (n.type) {
    case 'number':
      return () => Number(n.value);
    case 'single_quote_string':
    case 'double_quote_string':
    case 'string':
      return () => String(n.value);
    case 'bool':
    case 'boolean':
      return () => Boolean(n.value);
    case 'null':
      return () => null;
    case 'column_ref': {
      const path = columnPath(n);
      if (path.length === 1 && path[0] === '*') throw new CompileError('* is only allowed as a SELECT field', '*');
      return (ctx) => lookup(ctx.json, path);
    }
    case 'expr_list': {
      const items = (n.value as Node[]).map(compileExpr);
      return (ctx) => items.map((f) => f(ctx));
    }
    case 'unary_expr': {
      const inner = compileExpr(n.expr);
      if (n.operator === '-') return (ctx) => (num(inner(ctx)) == null ? null : -num(inner(ctx))!);
      if (String(n.operator).toUpperCase() === 'NOT') return (ctx) => !truthy(inner(ctx));
      return inner;
    }
    case 'function': {
      const name = functionName(n);
      const args = ((n.args?.value as Node[] | undefined) ?? []).map(compileExpr);
      if (name === 'not' && args.length === 1) return (ctx) => !truthy(args[0]!(ctx));
      const fn = FUNCTIONS[name];
      if (!fn) throw new CompileError(`unknown function ${name}()`, `${name}(`);
      if (args.length < fn.min || args.length > fn.max) {
        throw new CompileError(
          `${name}() takes ${fn.min === fn.max ? fn.min : `${fn.min} to ${fn.max}`} arguments, got ${args.length}`,
          `${name}(`,
        );
      }
      return (ctx) =>
        fn.call(
          ctx,
          args.map((a) => a(ctx)),
        );
    }
    case 'binary_expr':
      return compileBinary(n);
    case 'aggr_func':
      // Rules see one message at a time (alink-protocol.md §5.5): there is nothing to aggregate over.
      throw new CompileError(
        `${String(n.name).toLowerCase()}() is an aggregate function; rules see one message at a time`,
        `${String(n.name)}(`,
      );
    case 'case':
      throw new CompileError('CASE expressions are not supported in rules', /\bcase\b/);
    case 'cast':
      throw new CompileError('CAST is not supported in rules', /\bcast\b/);
    default:
      if (n.ast) throw new CompileError('subqueries are not supported in rules', /\(\s*select\b/);
      throw new CompileError(`unsupported expression (${String(n.type)})`);
  }
}

function compileBinary(n: Node): Eval {
  const op = String(n.operator).toUpperCase();
  const l = compileExpr(n.left);
  if (op === 'IS' || op === 'IS NOT') {
    const isNull = (ctx: RuleContext) => l(ctx) == null;
    return op === 'IS' ? isNull : (ctx) => !isNull(ctx);
  }
  const r = compileExpr(n.right);
  const arith =
    (f: (a: number, b: number) => number): Eval =>
    (ctx) => {
      const a = num(l(ctx));
      const b = num(r(ctx));
      return a == null || b == null ? null : f(a, b);
    };
  const cmp =
    (test: (c: number) => boolean): Eval =>
    (ctx) => {
      const c = compare(l(ctx), r(ctx));
      return c != null && test(c);
    };
  switch (op) {
    case 'AND':
      return (ctx) => truthy(l(ctx)) && truthy(r(ctx));
    case 'OR':
      return (ctx) => truthy(l(ctx)) || truthy(r(ctx));
    case '=':
      return cmp((c) => c === 0);
    case '<>':
    case '!=':
      return cmp((c) => c !== 0);
    case '<':
      return cmp((c) => c < 0);
    case '<=':
      return cmp((c) => c <= 0);
    case '>':
      return cmp((c) => c > 0);
    case '>=':
      return cmp((c) => c >= 0);
    case '+':
      return arith((a, b) => a + b);
    case '-':
      return arith((a, b) => a - b);
    case '*':
      return arith((a, b) => a * b);
    case '/':
      return arith((a, b) => (b === 0 ? Number.NaN : a / b));
    case '%':
      return arith((a, b) => a % b);
    case 'IN':
    case 'NOT IN': {
      const hit: Eval = (ctx) => {
        const v = l(ctx);
        const list = r(ctx);
        return Array.isArray(list) && list.some((x) => compare(v, x) === 0);
      };
      return op === 'IN' ? hit : (ctx) => !hit(ctx);
    }
    case 'LIKE':
    case 'NOT LIKE': {
      const hit: Eval = (ctx) => {
        const v = l(ctx);
        const p = r(ctx);
        return v != null && p != null && likeMatch(str(v)!, str(p)!);
      };
      return op === 'LIKE' ? hit : (ctx) => !hit(ctx);
    }
    case 'BETWEEN':
    case 'NOT BETWEEN': {
      const hit: Eval = (ctx) => {
        const v = l(ctx);
        const [lo, hi] = r(ctx) as unknown[];
        const a = compare(v, lo);
        const b = compare(v, hi);
        return a != null && b != null && a >= 0 && b <= 0;
      };
      return op === 'BETWEEN' ? hit : (ctx) => !hit(ctx);
    }
    default:
      throw new CompileError(`unsupported operator ${op}`);
  }
}

function fieldName(expr: Node, alias: string | null, index: number): string {
  if (alias) return alias;
  if (expr.type === 'column_ref') return columnPath(expr).at(-1)!;
  if (expr.type === 'function') return `${writtenName(expr)}()`;
  return `field${index + 1}`;
}

/**
 * Compile `SELECT <fields> FROM "<topic filter>" [WHERE <condition>]` (alink-protocol.md §5.5) with a real SQL parser
 * (node-sql-parser, BigQuery dialect: it reads `a.b.c.d` paths of any depth). Everything that cannot run is refused
 * here, with its position: syntax errors, unknown functions, wrong arities, joins, grouping, ordering, limits.
 */
export function compileRuleSql(sql: string): Result<CompiledRule, SqlError> {
  if (sql.length > MAX_RULE_SQL_LENGTH)
    return err({ message: `a rule statement has at most ${MAX_RULE_SQL_LENGTH} characters`, ...position(sql, null) });
  let ast: Node;
  nesting = 0;
  try {
    const parsed = parser.astify(sql, { database: 'BigQuery' });
    if (Array.isArray(parsed)) {
      if (parsed.length !== 1) return err({ message: 'one SELECT statement expected', ...position(sql, null) });
      ast = parsed[0] as Node;
    } else ast = parsed as Node;
  } catch (e) {
    const loc = (e as { location?: { start?: { offset?: number } } }).location?.start?.offset ?? null;
    const found = loc != null ? sql.slice(loc, loc + 12) : '';
    return err({ message: `syntax error${found ? ` near "${found}"` : ' at the end'}`, ...position(sql, loc) });
  }
  try {
    if (ast.type !== 'select') throw new CompileError('only SELECT statements are rules', /\S/);
    // UNION / INTERSECT / EXCEPT: node-sql-parser chains the next statement in `_next`; one rule is one SELECT.
    if (ast._next || ast.set_op)
      throw new CompileError(
        `${String(ast.set_op ?? 'UNION').toUpperCase()} is not supported in rules`,
        String(ast.set_op ?? 'union').split(' ')[0],
      );
    const from = ast.from as Node[] | null;
    if (from?.length !== 1 || typeof from[0]!.table !== 'string' || from[0]!.join) {
      throw new CompileError(
        'FROM takes exactly one quoted topic filter, e.g. FROM "/a1xxx/+/thing/event/property/post"',
        'from',
      );
    }
    const topicFilter = String(from[0]!.table);
    if (!topicFilter.startsWith('/') || !isValidFilter(topicFilter))
      throw new CompileError(`"${topicFilter}" is not a valid topic filter`, topicFilter);
    for (const k of ['groupby', 'having', 'orderby', 'window', 'with', 'qualify']) {
      const v = ast[k];
      if (v && !(typeof v === 'object' && 'columns' in v && !v.columns) && !(Array.isArray(v) && v.length === 0)) {
        throw new CompileError(
          `${({ groupby: 'GROUP BY', orderby: 'ORDER BY' } as Record<string, string>)[k] ?? k.toUpperCase()} is not supported in rules`,
          k === 'groupby' ? 'group' : k === 'orderby' ? 'order' : k,
        );
      }
    }
    for (const l of [ast.limit, ast._limit]) {
      if (l && (Array.isArray(l.value) ? l.value.length > 0 : true))
        throw new CompileError('LIMIT is not supported in rules', 'limit');
    }
    const columns = ast.columns as Node[] | '*';
    // star: `*`, the whole body; merge: an unaliased thingPropertyFlatMap(...), whose properties become fields.
    const fields: { kind: 'star' | 'merge' | 'field'; name: string; f: Eval }[] = [];
    for (const [i, c] of (columns === '*' ? [{ expr: { type: 'column_ref', column: '*' } }] : columns).entries()) {
      const e = c.expr as Node;
      if (e.type === 'column_ref' && (e.column === '*' || e.column?.expr?.value === '*')) {
        fields.push({ kind: 'star', name: '*', f: (ctx) => ctx.json });
        continue;
      }
      const merge = e.type === 'function' && functionName(e) === 'thingpropertyflatmap' && !c.as;
      fields.push({ kind: merge ? 'merge' : 'field', name: fieldName(e, c.as ?? null, i), f: compileExpr(e) });
    }
    const where = ast.where ? compileExpr(ast.where as Node) : null;
    return ok({
      topicFilter,
      usesAttributes: /\battribute\s*\(/i.test(sql),
      where: (ctx) => (where ? truthy(where(ctx)) : true),
      select: (ctx) => {
        const out: Record<string, unknown> = {};
        for (const f of fields) {
          const v = f.f(ctx);
          if (f.kind === 'field') out[f.name] = v ?? null;
          else if (v && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, v);
          else if (f.kind === 'star') out.payload = v ?? ctx.raw.toString('base64');
        }
        return out;
      },
    });
  } catch (e) {
    // A statement nested deep enough to exhaust the stack is refused like one over MAX_EXPRESSION_DEPTH.
    if (e instanceof RangeError)
      return err({ message: `expression nested deeper than ${MAX_EXPRESSION_DEPTH} levels`, ...position(sql, null) });
    if (!(e instanceof CompileError)) throw e;
    return err({ message: e.message, ...position(sql, locate(sql, e.needle)) });
  }
}
