import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { commandHelp, USAGE, wantsHelp } from './cli/help.ts';
import { createLogger, resolveLogFormat } from './logger.ts';
import { listenError, StartupError, errnoCode } from './startup/errors.ts';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && command !== 'simulate' && wantsHelp(rest)) {
    process.stdout.write(commandHelp(command));
    return command in { serve: 1, migrate: 1, 'admin-token': 1, 'print-schema': 1 } ? 0 : 2;
  }
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'migrate': {
      const config = loadConfig(process.env, rest);
      const logger = createLogger(config.LOG_LEVEL, resolveLogFormat(config.LOG_FORMAT));
      const { lockDataDir, usesDataDir } = await import('./startup/data-dir.ts');
      const { waitForDatabase } = await import('./startup/database.ts');
      const lock = usesDataDir(config) ? lockDataDir(config.DATA_DIR, 'migrate') : null;
      try {
        const { createDatabase } = await import('./db/client.ts');
        const db = await createDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
        try {
          await waitForDatabase(db, { url: config.DATABASE_URL, waitMs: config.DATABASE_WAIT_MS, logger });
          await db.migrate();
        } finally {
          await db.close();
        }
      } finally {
        lock?.release();
      }
      process.stdout.write('migrations applied\n');
      return 0;
    }
    case 'admin-token': {
      const flags = rest.filter((a) => a !== '--reset');
      if (!rest.includes('--reset')) {
        process.stderr.write(`thingql admin-token: --reset is required\n\n${commandHelp('admin-token')}`);
        return 2;
      }
      const config = loadConfig(process.env, flags);
      const logger = createLogger(config.LOG_LEVEL, resolveLogFormat(config.LOG_FORMAT));
      const { resetAdminToken, tokenBanner } = await import('./startup/admin-token.ts');
      const token = await resetAdminToken(config, logger);
      // The token alone on stdout (scripts: TOKEN=$(thingql admin-token --reset 2>/dev/null)), the explanation on stderr.
      process.stderr.write(tokenBanner(token, false));
      process.stdout.write(`${token}\n`);
      return 0;
    }
    case 'print-schema': {
      const { printedSchema } = await import('./schema/index.ts');
      const sdl = printedSchema();
      if (rest[0] === '--write') {
        const { writeFileSync } = await import('node:fs');
        writeFileSync(rest[1] ?? 'schema.graphql', sdl);
        return 0;
      }
      if (rest[0] === '--check') {
        const file = rest[1] ?? 'schema.graphql';
        const committed = readFileSync(file, 'utf8');
        if (committed !== sdl) {
          process.stderr.write(`${file} is out of date: run npm run schema:print and commit it\n`);
          return 1;
        }
        process.stdout.write(`${file} is up to date\n`);
        return 0;
      }
      process.stdout.write(sdl);
      return 0;
    }
    case 'simulate': {
      const { simulateCommand } = await import('./sim/simulate.ts');
      return simulateCommand(rest, process.env);
    }
    default:
      if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
        process.stdout.write(USAGE);
        return 0;
      }
      process.stderr.write(`thingql: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

let startedConfig: Config | undefined;

async function serve(args: string[]): Promise<number> {
  const config = loadConfig(process.env, args);
  startedConfig = config;
  const logger = createLogger(config.LOG_LEVEL, resolveLogFormat(config.LOG_FORMAT));
  (await import('./process-guards.ts')).installProcessGuards(logger);
  const { startPlatform } = await import('./server.ts');
  // A checkout without a console build (npm run build not run yet) gets one, in a child process while the platform
  // starts (docs/console.md).
  const { buildConsoleIfMissing } = await import('./http/console-build.ts');
  const { defaultConsoleDir } = await import('./http/console.ts');
  if (config.CONSOLE_BUILD_ON_START) void buildConsoleIfMissing(config.CONSOLE_DIR ?? defaultConsoleDir(), logger);
  const platform = await startPlatform(config, { logger });
  if (platform.generatedAdminToken && config.PRINT_ADMIN_TOKEN) {
    // Printed once, on the first successful start only (only its hash is stored), outside the log stream.
    const { tokenBanner } = await import('./startup/admin-token.ts');
    process.stderr.write(tokenBanner(platform.generatedAdminToken, true));
  }
  let stopping = false;
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn('second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      platform.close().then(resolve, (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  logger.info('stopped');
  return 0;
}

/** A listen that lost a race after the ports were reserved still names its setting. */
function asStartupError(err: unknown, config: Config | undefined): unknown {
  if (err instanceof StartupError || !config) return err;
  const e = err as { code?: string; port?: number; address?: string };
  if ((errnoCode(err) === 'EADDRINUSE' || errnoCode(err) === 'EACCES') && typeof e.port === 'number') {
    const setting = e.port === config.MQTT_PORT ? 'MQTT_PORT' : e.port === config.MQTTS_PORT ? 'MQTTS_PORT' : 'PORT';
    return listenError(err, setting, e.address ?? config.HOST, e.port);
  }
  return err;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (raw: unknown) => {
    if (raw instanceof ConfigError) {
      process.stderr.write(`${raw.message}\n\nSee thingql ${process.argv[2] ?? 'serve'} --help for every setting.\n`);
      process.exit(2);
    }
    const err = asStartupError(raw, startedConfig);
    if (err instanceof StartupError) {
      const what = process.argv[2] === 'serve' ? 'thingql did not start' : `thingql ${process.argv[2]} failed`;
      let text = `${what}: ${err.describe()}`;
      if (process.argv[2] === 'serve' && startedConfig && !startedConfig.ADMIN_TOKEN) {
        text +=
          '  note: the admin token is created (and printed) only once a start succeeds; lost it? thingql admin-token --reset\n';
      }
      process.stderr.write(text);
      process.exit(1);
    }
    createLogger('error').fatal({ err }, 'failed to start');
    process.exit(1);
  },
);
