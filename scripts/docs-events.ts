// `npm run docs:events`: write docs/events.md, the catalogue of platform event types, from the code: the types in
// PLATFORM_EVENT_TYPES, their meaning in EVENT_DESCRIPTIONS (src/events/descriptions.ts) and their data fields from
// the types of src/events/catalog.ts (read with swc, so a new field shows up without touching this script).
// `--check`: write nothing, exit 1 when docs/events.md differs from what the code gives (CI).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseSync } from '@swc/core';
import { PLATFORM_EVENT_TYPES } from '../src/events/catalog.ts';
import { EVENT_DESCRIPTIONS } from '../src/events/descriptions.ts';

const root = path.resolve(import.meta.dirname, '..');
const CATALOG = 'src/events/catalog.ts';
const OUT = 'docs/events.md';

interface Span {
  start: number;
  end: number;
}
// The few swc AST shapes read here; anything else in a data type stops the script with its source text.
type TypeNode = { type: string; span: Span } & Record<string, unknown>;
interface Field {
  name: string;
  optional: boolean;
  type: string;
  doc: string | null;
}
interface Shape {
  fields: Field[];
  /** The type also admits fields not listed (`Record<string, unknown>`). */
  open: boolean;
}

const source = readFileSync(path.join(root, CATALOG));
const module = parseSync(source.toString('utf8'), { syntax: 'typescript' });
const aliases = new Map<string, TypeNode>();
for (const item of module.body) {
  const decl = (item.type === 'ExportDeclaration' ? item.declaration : item) as unknown as TypeNode;
  if (decl.type === 'TsTypeAliasDeclaration') {
    aliases.set((decl.id as { value: string }).value, decl.typeAnnotation as TypeNode);
  }
}
// swc spans are byte positions counted from an offset of its own: anchor them on a declaration found in the text.
const anchor = aliases.get('EventDataMap');
if (!anchor) throw new Error(`${CATALOG}: no EventDataMap type`);
const offset = anchor.span.start - source.indexOf('{', source.indexOf('type EventDataMap'));
const text = (span: Span) => source.subarray(span.start - offset, span.end - offset).toString('utf8');
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The `/** ... *\/` comment right before a member, as one line. */
function docBefore(from: number, span: Span): string | null {
  const between = source.subarray(from - offset, span.start - offset).toString('utf8');
  const m = /\/\*\*([\s\S]*?)\*\/\s*$/.exec(between);
  return m ? oneLine(m[1]!.replace(/^\s*\*/gm, '')) : null;
}

function shapeOf(node: TypeNode): Shape {
  switch (node.type) {
    case 'TsParenthesizedType':
      return shapeOf(node.typeAnnotation as TypeNode);
    case 'TsIntersectionType': {
      const parts = (node.types as TypeNode[]).map(shapeOf);
      const fields = new Map<string, Field>();
      for (const p of parts) for (const f of p.fields) fields.set(f.name, f);
      return { fields: [...fields.values()], open: parts.some((p) => p.open) };
    }
    case 'TsTypeLiteral': {
      let from = node.span.start + 1;
      const fields: Field[] = [];
      for (const m of node.members as TypeNode[]) {
        if (m.type !== 'TsPropertySignature') throw new Error(`${CATALOG}: unexpected member ${oneLine(text(m.span))}`);
        const key = m.key as { value: string };
        const annotation = (m.typeAnnotation as { typeAnnotation: TypeNode }).typeAnnotation;
        fields.push({
          name: key.value,
          optional: m.optional === true,
          type: oneLine(text(annotation.span)),
          doc: docBefore(from, m.span),
        });
        from = m.span.end;
      }
      return { fields, open: false };
    }
    case 'TsTypeReference': {
      const name = (node.typeName as { value: string }).value;
      const params = ((node.typeParams as { params: TypeNode[] } | null)?.params ?? []) as TypeNode[];
      const alias = aliases.get(name);
      if (alias) return shapeOf(alias);
      if (name === 'Record') return { fields: [], open: true };
      if (name === 'Omit' && params[0] && params[1]) {
        const omitted = new Set(
          (params[1].type === 'TsUnionType' ? (params[1].types as TypeNode[]) : [params[1]])
            .filter((t) => t.type === 'TsLiteralType')
            .map((t) => String((t.literal as { value: unknown }).value)),
        );
        const inner = shapeOf(params[0]);
        return { ...inner, fields: inner.fields.filter((f) => !omitted.has(f.name)) };
      }
      break;
    }
  }
  throw new Error(`${CATALOG}: cannot list the fields of ${oneLine(text(node.span))}`);
}

/** event type -> name of its data type, from `EventDataMap`. */
function dataTypes(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of anchor!.members as TypeNode[]) {
    const key = (m.key as { value: string }).value;
    const ref = (m.typeAnnotation as { typeAnnotation: TypeNode }).typeAnnotation;
    out.set(key, oneLine(text(ref.span)));
  }
  return out;
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

function render(): string {
  const types = dataTypes();
  const lines = [
    '# Platform events',
    '',
    '<!-- Generated by `npm run docs:events` from src/events/catalog.ts and src/events/descriptions.ts; do not edit. -->',
    '',
    'Everything a device or a client does becomes one of these events in the commit-ordered event log',
    '([architecture.md](architecture.md) §1). Every event has a `type`, the `productKey` and `deviceName` it concerns',
    '(null for platform-wide events), a log `position` and a `createdAt` time; `data` has the fields listed below.',
    'GraphQL subscriptions, rules, AMQP forwarding and history all read these events.',
    '',
    '| Type | Meaning |',
    '| --- | --- |',
    ...PLATFORM_EVENT_TYPES.map((t) => `| [\`${t}\`](#${t.replace(/\./g, '')}) | ${cell(EVENT_DESCRIPTIONS[t])} |`),
  ];
  const referenced = new Set<string>();
  for (const t of PLATFORM_EVENT_TYPES) {
    const typeName = types.get(t);
    if (!typeName) throw new Error(`${CATALOG}: EventDataMap has no entry for ${t}`);
    const alias = aliases.get(typeName);
    if (!alias) throw new Error(`${CATALOG}: no type ${typeName}`);
    const shape = shapeOf(alias);
    lines.push('', `## \`${t}\``, '', EVENT_DESCRIPTIONS[t], '', `Data (\`${typeName}\`):`, '');
    lines.push(...fieldTable(shape, referenced));
  }
  const eventDataTypes = new Set(types.values());
  const shared = [...referenced].filter((n) => !eventDataTypes.has(n)).sort();
  if (shared.length > 0) {
    lines.push('', '## Shapes used above', '');
    for (const name of shared) {
      lines.push(`### \`${name}\``, '', ...fieldTable(shapeOf(aliases.get(name)!), new Set()), '');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function fieldTable(shape: Shape, referenced: Set<string>): string[] {
  const rows = ['| Field | Type | Notes |', '| --- | --- | --- |'];
  for (const f of shape.fields) {
    for (const word of f.type.match(/\b[A-Z]\w*\b/g) ?? []) if (aliases.has(word)) referenced.add(word);
    rows.push(
      `| \`${f.name}\` | \`${cell(f.type)}\` | ${f.optional ? 'optional' : ''}${f.optional && f.doc ? '; ' : ''}${cell(f.doc ?? '')} |`,
    );
  }
  if (shape.open) rows.push('| (others) | | more fields, depending on the event |');
  return rows;
}

const file = path.join(root, OUT);
const want = render();
if (process.argv.includes('--check')) {
  let have = '';
  try {
    have = readFileSync(file, 'utf8');
  } catch {}
  if (have !== want) {
    process.stderr.write(`${OUT} is stale: run npm run docs:events and commit it\n`);
    process.exit(1);
  }
} else {
  writeFileSync(file, want);
}
