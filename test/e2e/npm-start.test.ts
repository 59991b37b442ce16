/**
 * `npm start` runs the compiled server (dist/, `npm run build`) as npm's direct child, so that a SIGTERM to npm (what
 * a process manager or `docker stop` sends) reaches the process that listens and it shuts down cleanly.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { seedDataDir } from '../helpers/child-platform.ts';
import { runProcess, servePorts } from '../helpers/cli-process.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(tmpdir(), 'thingql-npm-start-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Parent pid from /proc/<pid>/stat (field 4). */
const ppidOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);

describe('npm start', () => {
  beforeAll(async () => {
    // The same build `npm install` runs (prepare -> build), from the current sources.
    await new Promise<void>((resolve, reject) =>
      execFile('npm', ['run', '-s', 'build:server'], { cwd: ROOT }, (err, stdout, stderr) =>
        err ? reject(new Error(`${stdout}${stderr}`)) : resolve(),
      ),
    );
  }, 180_000);

  it("runs node dist/main.js as npm's own child, and SIGTERM to npm stops the server cleanly", async () => {
    expect(existsSync(path.join(ROOT, 'dist/main.js'))).toBe(true);
    expect(existsSync(path.join(ROOT, 'dist/db/migrations'))).toBe(true);
    const dataDir = path.join(tmp, 'data');
    await seedDataDir(dataDir, inject('pgliteTemplate'));
    const npm = runProcess('npm', ['start'], {
      PORT: '0',
      MQTT_PORT: '0',
      DATA_DIR: dataDir,
      ADMIN_TOKEN: 'npm-start-test-admin-token',
      LOG_LEVEL: 'info',
    });
    let serverPid = 0;
    try {
      const ports = await servePorts(npm);
      serverPid = JSON.parse(readFileSync(path.join(dataDir, 'thingql.lock'), 'utf8')).pid as number;
      expect(readFileSync(`/proc/${serverPid}/cmdline`, 'utf8').split('\0').filter(Boolean)).toEqual([
        'node',
        'dist/main.js',
        'serve',
      ]);
      expect(ppidOf(serverPid)).toBe(npm.child.pid); // no shell or tsx wrapper in between
      expect((await fetch(`http://127.0.0.1:${ports.http}/healthz`)).status).toBe(200);

      npm.child.kill('SIGTERM');
      expect(await npm.exited).toBe(0);
      // npm ends after its child: the server has shut down (log), released DATA_DIR and no longer exists.
      expect(npm.stdout()).toContain('"msg":"shutting down"');
      expect(npm.stdout()).toContain('"msg":"stopped"');
      expect(existsSync(path.join(dataDir, 'thingql.lock'))).toBe(false);
      expect(existsSync(`/proc/${serverPid}`)).toBe(false);
      await expect(fetch(`http://127.0.0.1:${ports.http}/healthz`)).rejects.toThrow();
    } finally {
      // On failure: SIGKILL to npm would not reach its child, so end the server by its own pid.
      if (serverPid && existsSync(`/proc/${serverPid}`)) process.kill(serverPid, 'SIGKILL');
      npm.child.kill('SIGKILL');
    }
  }, 120_000);
});
