/**
 * `thingql <command> --help`: the flags of each command and, for the commands that read them, every setting with its
 * flag, default and meaning, generated from the zod schema so that the help cannot drift from what is accepted.
 */
import { configSchema } from '../config.ts';
import { SETTING_TEXT } from './settings.ts';

export interface SettingHelp {
  name: string;
  flag: string;
  /** The default as text, or null when unset by default. */
  default: string | null;
  /** Allowed values of an enum setting. */
  values: string[] | null;
  text: string;
}

interface ZodLike {
  def: {
    type: string;
    defaultValue?: unknown;
    innerType?: ZodLike;
    in?: ZodLike;
    out?: ZodLike;
    entries?: Record<string, string>;
  };
  description?: string;
}

/** Unwrap default/optional/pipe wrappers to find an enum's values. */
function enumValues(s: ZodLike): string[] | null {
  for (let cur: ZodLike | undefined = s, i = 0; cur && i < 5; i++) {
    if (cur.def.type === 'enum' && cur.def.entries) return Object.values(cur.def.entries);
    cur = cur.def.innerType ?? cur.def.out;
  }
  return null;
}

export function settingsHelp(): SettingHelp[] {
  return Object.entries(configSchema.shape as unknown as Record<string, ZodLike>).map(([name, schema]) => {
    const d = schema.def.type === 'default' ? schema.def.defaultValue : undefined;
    return {
      name,
      flag: `--${name.toLowerCase().replace(/_/g, '-')}`,
      default: d === undefined ? null : String(d),
      values: enumValues(schema),
      text: schema.description ?? SETTING_TEXT[name] ?? '',
    };
  });
}

export function formatSettings(): string {
  const lines = settingsHelp().map((r) => {
    const extra = [
      r.values ? `one of ${r.values.join(', ')}` : null,
      r.default !== null ? `default ${r.default}` : 'default: unset',
    ]
      .filter(Boolean)
      .join('; ');
    return `  ${r.name}, ${r.flag}  (${extra})\n      ${r.text}`;
  });
  return `settings (environment variables or flags; a flag wins):\n${lines.join('\n')}\n`;
}

interface CommandHelp {
  usage: string;
  summary: string;
  about: string;
  flags?: string[];
  /** Reads the platform settings (listed below the flags). */
  settings: boolean;
}

export const COMMANDS: Record<string, CommandHelp> = {
  serve: {
    usage: 'thingql serve [--setting value ...]',
    summary: 'start the platform',
    about:
      'Start the platform: GraphQL on PORT, MQTT on MQTT_PORT, the embedded database in DATA_DIR (or DATABASE_URL).',
    settings: true,
  },
  migrate: {
    usage: 'thingql migrate [--setting value ...]',
    summary: 'apply database migrations and exit',
    about:
      'Apply the database migrations and exit (serve applies them too; this is for upgrades run ahead of a start).',
    settings: true,
  },
  'admin-token': {
    usage: 'thingql admin-token --reset [--setting value ...]',
    summary: 'print a new admin token; the previous one stops working',
    about:
      'Make a new admin token, print it, and invalidate the previous one. With the embedded database, stop the server first\n' +
      '(DATA_DIR is locked while it runs); with DATABASE_URL, running instances take the new token from the event log (at\n' +
      'once with REDIS_URL; restart them to be sure the old one is refused everywhere). Not used when\n' +
      'ADMIN_TOKEN is set (the token is that setting).',
    flags: ['--reset               required: replace the stored admin token'],
    settings: true,
  },
  'print-schema': {
    usage: 'thingql print-schema [--write FILE | --check FILE]',
    summary: 'print the GraphQL SDL (--write FILE, --check FILE)',
    about: 'Print the GraphQL SDL of the API.',
    flags: ['--write FILE          write it to FILE', '--check FILE          exit 1 when FILE differs from it'],
    settings: false,
  },
  simulate: {
    usage: 'thingql simulate --product <pk> [options]',
    summary: 'run simulated Alink devices against a platform',
    about: 'Simulated Alink devices (see thingql simulate --help).',
    settings: false,
  },
};

export const USAGE = `usage: thingql <command> [--flag value ...]

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(13)}  ${c.summary}`)
  .join('\n')}

Every command takes --help. Settings come from the environment or from flags (MQTT_PORT=1884 or --mqtt-port 1884).
`;

export function commandHelp(name: string): string {
  const c = COMMANDS[name];
  if (!c) return USAGE;
  const parts = [`usage: ${c.usage}\n`, `${c.about}\n`];
  if (c.flags)
    parts.push(`flags:\n${c.flags.map((f) => `  ${f}`).join('\n')}\n  -h, --help            show this text\n`);
  else parts.push('flags:\n  -h, --help            show this text\n');
  if (c.settings) parts.push(formatSettings());
  return parts.join('\n');
}

export const wantsHelp = (args: string[]): boolean => args.includes('--help') || args.includes('-h');

/** The settings table of docs/operations.md (between its settings markers; `npm run docs:settings` rewrites it). */
export function settingsMarkdown(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = settingsHelp().map(
    (r) =>
      `| \`${r.name}\` | \`${r.flag}\` | ${r.default !== null ? `\`${r.default}\`` : 'unset'} | ${cell(r.text)}${r.values ? ` (${r.values.map((v) => `\`${v}\``).join(', ')})` : ''} |`,
  );
  return ['| Setting | Flag | Default | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export const SETTINGS_BEGIN = '<!-- settings:begin (generated from src/config.ts by npm run docs:settings) -->';
export const SETTINGS_END = '<!-- settings:end -->';

/** `doc` with the generated settings table between the markers. */
export function withSettingsTable(doc: string): string {
  const a = doc.indexOf(SETTINGS_BEGIN);
  const b = doc.indexOf(SETTINGS_END);
  if (a < 0 || b < a) throw new Error('settings markers not found');
  return `${doc.slice(0, a + SETTINGS_BEGIN.length)}\n${settingsMarkdown()}\n${doc.slice(b)}`;
}
