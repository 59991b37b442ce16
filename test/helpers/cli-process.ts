/**
 * `thingql <command>` from the sources in a child process (`node --import tsx src/main.ts`: the pid is the CLI itself),
 * with stdout and stderr kept apart, for tests of what a person sees: messages, exit codes, the token banner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface CliRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Settles with the exit code (or the signal name). */
  exited: Promise<number | string>;
  /** Resolves once `predicate` holds for the output so far (checked on every chunk); rejects if the process ends first. */
  waitFor(stream: 'stdout' | 'stderr', predicate: (text: string) => boolean): Promise<string>;
}

/** Environment of a child: the caller's, minus the settings a developer's shell may carry. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of [
    'DATABASE_URL',
    'REDIS_URL',
    'ADMIN_TOKEN',
    'PORT',
    'MQTT_PORT',
    'DATA_DIR',
    'LOG_FORMAT',
    'PRINT_ADMIN_TOKEN',
  ])
    delete env[k];
  return { ...env, HOST: '127.0.0.1', ...extra };
}

export function runCli(args: string[], env: Record<string, string>): CliRun {
  return runProcess(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], env);
}

/** Any program (e.g. `npm start`) at the repository root, with the same bookkeeping. */
export function runProcess(file: string, args: string[], env: Record<string, string>): CliRun {
  const child = spawn(file, args, { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  const waiters: (() => void)[] = [];
  for (const s of ['stdout', 'stderr'] as const) {
    child[s]!.on('data', (c: Buffer) => {
      out[s] += c.toString();
      for (const w of [...waiters]) w();
    });
  }
  let ended = false;
  const exited = new Promise<number | string>((resolve) =>
    child.once('close', (code, signal) => {
      ended = true;
      resolve(signal ?? code ?? -1);
      for (const w of [...waiters]) w();
    }),
  );
  return {
    child,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    exited,
    waitFor(stream, predicate) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(out[stream])) {
            waiters.splice(waiters.indexOf(check), 1);
            resolve(out[stream]);
          } else if (ended) {
            waiters.splice(waiters.indexOf(check), 1);
            reject(
              new Error(
                `process ended before the expected ${stream} output:\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}`,
              ),
            );
          }
        };
        waiters.push(check);
        check();
      });
    },
  };
}

/** The ports of a started `thingql serve`, from its JSON log lines. */
export async function servePorts(run: CliRun): Promise<{ http: number; mqtt: number }> {
  const text = await run.waitFor(
    'stdout',
    (t) => /"msg":"GraphQL on [^"]*"/.test(t) && /"msg":"MQTT on [^"]*"/.test(t),
  );
  // Only the JSON lines: npm prints its own banner before the server's log.
  const lines = text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; port?: number });
  return {
    http: lines.find((l) => l.msg.startsWith('GraphQL on'))!.port!,
    mqtt: lines.find((l) => l.msg.startsWith('MQTT on'))!.port!,
  };
}
