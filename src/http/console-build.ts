import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Logger } from '../logger.ts';
import { packageRoot } from './console.ts';

/**
 * Build the web console when it is missing (a checkout where `npm run build` has not run yet), so that
 * `npm install && npm start` shows it. The build runs in a child process while the server starts; the console's
 * route answers "being built" until index.html appears. Returns the child's completion (true: built).
 */
export function buildConsoleIfMissing(dir: string, logger: Logger): Promise<boolean> | null {
  if (existsSync(join(dir, 'index.html'))) return null;
  const root = packageRoot();
  const config = join(root, 'console', 'vite.config.ts');
  if (!existsSync(config)) return null;
  let viteBin: string;
  try {
    viteBin = join(createRequire(join(root, 'package.json')).resolve('vite/package.json'), '..', 'bin', 'vite.js');
  } catch {
    logger.warn('the web console is not built and vite is not installed: run npm install, then npm run build:console');
    return null;
  }
  const log = logger.child({ module: 'console' });
  log.info('building the web console (first start)');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [viteBin, 'build', '--config', config, '--logLevel', 'warn'], {
      cwd: root,
      env: { ...process.env, CONSOLE_OUT_DIR: dir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    child.on('error', (err) => {
      log.warn({ err }, 'could not build the web console: run npm run build:console');
      resolve(false);
    });
    child.on('exit', (code) => {
      if (code === 0) log.info('web console built');
      else log.warn({ code, stderr }, 'building the web console failed: run npm run build:console');
      resolve(code === 0);
    });
    // The server must not wait for the build to exit.
    child.unref();
  });
}
