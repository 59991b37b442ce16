/**
 * Servers under test run in child processes of their own, so that `process.cpuUsage()` and RSS measured there are
 * the server's alone: the load generators (mqtt.js devices, graphql-ws clients, HTTP callers) stay in the parent.
 * Parent and child talk over the IPC channel: the child says `ready` with its ports, then answers commands
 * (`{ id, cmd, args }` -> `{ id, ok, value | error }`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type Handlers = Record<string, (args: any) => unknown>;

interface Request {
  id: number;
  cmd: string;
  args?: unknown;
}
type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** Resource usage every server child reports: CPU in microseconds (user + system) and memory in bytes. */
export interface Usage {
  cpuMicros: number;
  rss: number;
  heapUsed: number;
}

export function usage(): Usage {
  const c = process.cpuUsage();
  const m = process.memoryUsage();
  return { cpuMicros: c.user + c.system, rss: m.rss, heapUsed: m.heapUsed };
}

/** Child side: answer commands, with `usage` and `stop` built in. */
export function serveCommands(ready: unknown, handlers: Handlers, stop: () => Promise<void>): void {
  const all: Handlers = {
    usage: () => usage(),
    gc: async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      for (let i = 0; i < 3; i++) {
        gc?.();
        await new Promise((r) => setTimeout(r, 30));
      }
      return usage();
    },
    ...handlers,
  };
  process.on('message', (m: Request) => {
    if (m.cmd === 'stop') {
      void stop()
        .catch(() => {})
        .finally(() => {
          process.send?.({ id: m.id, ok: true, value: null } satisfies Reply, () => process.exit(0));
        });
      return;
    }
    const h = all[m.cmd];
    Promise.resolve()
      .then(() => {
        if (!h) throw new Error(`unknown command ${m.cmd}`);
        return h(m.args);
      })
      .then(
        (value) => process.send?.({ id: m.id, ok: true, value: value ?? null } satisfies Reply),
        (e: unknown) =>
          process.send?.({
            id: m.id,
            ok: false,
            error: e instanceof Error ? (e.stack ?? e.message) : String(e),
          } satisfies Reply),
      );
  });
  // The parent going away (Ctrl-C, crash) takes the server with it.
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready });
}

export interface Child<R> {
  proc: ChildProcess;
  ready: R;
  call<T = unknown>(cmd: string, args?: unknown): Promise<T>;
  usage(): Promise<Usage>;
  stop(): Promise<void>;
}

/**
 * Parent side: fork `entry` (a .ts file run through tsx) and wait for its `ready`. `startTimeoutMs` covers an
 * embedded database's initdb (stack.md: 5-12 s on 2 cores, more on a busy machine).
 */
export function startChild<R>(
  entry: string | URL,
  args: string[],
  opts: { startTimeoutMs?: number; env?: NodeJS.ProcessEnv; name?: string } = {},
): Promise<Child<R>> {
  const file = typeof entry === 'string' ? entry : fileURLToPath(entry);
  const name = opts.name ?? file.split('/').pop();
  // BENCH_PROFILE=1: a V8 CPU profile of every server child in bench/results/profiles/ (open it in Chrome DevTools).
  const profile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${fileURLToPath(new URL('../results/profiles/', import.meta.url))}`]
    : [];
  const proc = fork(file, args, {
    execArgv: ['--import', 'tsx', '--expose-gc', ...profile],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...opts.env },
  });
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let exited = false;
  proc.on('exit', (code, signal) => {
    exited = true;
    for (const w of waiting.values()) w.reject(new Error(`${name} exited (${code ?? signal})`));
    waiting.clear();
  });
  proc.on('message', (m: Reply | { ready: unknown }) => {
    if ('ready' in m) return;
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve(m.value);
    else w.reject(new Error(`${name}: ${m.error}`));
  });
  const call = <T>(cmd: string, args?: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(new Error(`${name} is not running`));
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      proc.send({ id, cmd, args } satisfies Request);
    });
  return new Promise<Child<R>>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${opts.startTimeoutMs ?? 120_000} ms`));
    }, opts.startTimeoutMs ?? 120_000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited while starting (${code})`));
    };
    proc.once('exit', onExit);
    proc.on('message', function onReady(m: { ready?: R }) {
      if (!m || typeof m !== 'object' || !('ready' in m)) return;
      clearTimeout(timer);
      proc.off('exit', onExit);
      proc.off('message', onReady);
      resolve({
        proc,
        ready: m.ready as R,
        call,
        usage: () => call<Usage>('usage'),
        stop: async () => {
          if (exited) return;
          const gone = new Promise<void>((r) => proc.once('exit', () => r()));
          const kill = setTimeout(() => proc.kill('SIGKILL'), 15_000);
          await call('stop').catch(() => {});
          await gone;
          clearTimeout(kill);
        },
      });
    });
  });
}
