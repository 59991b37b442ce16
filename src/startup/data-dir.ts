/**
 * DATA_DIR of the embedded database: one process at a time (a lock file with the owner's pid), private to this user
 * (0700 directories, 0600 files). PGlite creates its files world-readable and writable whatever the umask, so the
 * modes are tightened when the directory is opened and again when it is released; in between the 0700 directory
 * keeps other users out of whatever PGlite creates.
 */
import {
  chmodSync,
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { errnoCode, StartupError } from './errors.ts';

export const LOCK_FILE = 'thingql.lock';

interface LockInfo {
  pid: number;
  host: string;
  /** /proc start time of the owner (Linux): a reused pid is not mistaken for the owner. */
  procStart?: string | undefined;
  startedAt: string;
  command?: string;
}

export interface DataDirLock {
  dir: string;
  release(): void;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or undefined off Linux. */
function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true; // another machine (shared volume): cannot tell, assume it runs
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if (errnoCode(err) !== 'EPERM') return false;
  }
  const now = procStart(info.pid);
  return !(info.procStart && now && now !== info.procStart);
}

/** chmod every directory 0700 and file 0600 below (and including) `dir`. Symlinks are left alone. */
export function makePrivateTree(dir: string): void {
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    if (st.isDirectory()) {
      if ((st.mode & 0o777) !== 0o700) chmodSync(p, 0o700);
      for (const name of readdirSync(p)) walk(path.join(p, name));
    } else if ((st.mode & 0o077) !== 0) {
      chmodSync(p, st.mode & 0o700);
    }
  };
  walk(dir);
}

/** DATA_DIR itself 0700, and what ThingQL keeps there (the embedded database, the lock) private; nothing else is touched. */
export function makePrivate(dir: string): void {
  chmodSync(dir, 0o700);
  for (const name of ['pglite', LOCK_FILE]) {
    try {
      makePrivateTree(path.join(dir, name));
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
}

const unwritable = (dir: string, err: unknown) =>
  new StartupError(
    'DATA_DIR_UNWRITABLE',
    'DATA_DIR',
    `DATA_DIR ${dir} cannot be used: ${(err as Error).message}.`,
    'choose a directory this user can create and write (DATA_DIR=/var/lib/thingql or --data-dir), or fix its owner and permissions.',
  );

/**
 * Create DATA_DIR (0700) and take its lock, or throw DATA_DIR_LOCKED naming the process that holds it. A lock left by
 * a process that no longer runs (a crash, SIGKILL) is removed.
 */
export function lockDataDir(dataDir: string, command = 'serve'): DataDirLock {
  const dir = path.resolve(dataDir);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw unwritable(dir, err);
  }
  const file = path.join(dir, LOCK_FILE);
  const me: LockInfo = {
    pid: process.pid,
    host: hostname(),
    procStart: procStart(process.pid),
    startedAt: new Date().toISOString(),
    command,
  };
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw unwritable(dir, err);
      let info: LockInfo | null = null;
      try {
        info = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
      } catch {
        info = null; // unreadable or half-written: treat as stale
      }
      if (info && alive(info)) {
        throw new StartupError(
          'DATA_DIR_LOCKED',
          'DATA_DIR',
          `DATA_DIR ${dir} is in use by another ThingQL process (pid ${info.pid}${info.host !== me.host ? ` on ${info.host}` : ''}, ${info.command ?? 'serve'} since ${info.startedAt}).`,
          `stop that process first, or give this one its own DATA_DIR. Two processes on one embedded database would lose writes. (If that process is gone, delete ${file}.)`,
        );
      }
      if (attempt >= 2) throw unwritable(dir, err);
      rmSync(file, { force: true }); // stale: its owner is gone
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify(me)}\n`);
    } finally {
      closeSync(fd);
    }
    break;
  }
  try {
    makePrivate(dir);
  } catch (err) {
    rmSync(file, { force: true });
    throw unwritable(dir, err);
  }
  let released = false;
  return {
    dir,
    release() {
      if (released) return;
      released = true;
      try {
        makePrivate(dir);
      } catch {
        // best effort: the directory itself is 0700
      }
      try {
        const info = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
        if (info.pid === me.pid && info.host === me.host) rmSync(file, { force: true });
      } catch {
        // already gone
      }
    },
  };
}

/** Whether this configuration keeps the embedded database in DATA_DIR (and so needs its lock). */
export function usesDataDir(config: { DATABASE_URL?: string | undefined }): boolean {
  return !config.DATABASE_URL;
}
