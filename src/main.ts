import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';

const USAGE = `usage: thingql <command> [--flag value ...]

commands:
  serve          start the platform (settings from the environment or --port, --mqtt-port, --database-url, ...)
  migrate        apply database migrations and exit
  print-schema   print the GraphQL SDL (--write FILE: write it; --check FILE: fail when FILE differs)
  simulate       run simulated Alink devices against a platform (thingql simulate --help)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'migrate': {
      const config = loadConfig(process.env, rest);
      const { createDatabase } = await import('./db/client.ts');
      const db = await createDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
      await db.migrate();
      await db.close();
      process.stdout.write('migrations applied\n');
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
      process.stderr.write(USAGE);
      return command === undefined || command === '--help' || command === 'help' ? 0 : 2;
  }
}

async function serve(args: string[]): Promise<number> {
  const config = loadConfig(process.env, args);
  const logger = createLogger(config.LOG_LEVEL);
  (await import('./process-guards.ts')).installProcessGuards(logger);
  const { startPlatform } = await import('./server.ts');
  const platform = await startPlatform(config, { logger });
  if (platform.generatedAdminToken && config.PRINT_ADMIN_TOKEN) {
    // Printed once, on the first start only: only its hash is stored.
    process.stdout.write(
      `\n  Admin token (shown once, store it now):\n\n    ${platform.generatedAdminToken}\n\n  Use it as "Authorization: Bearer <token>".\n\n`,
    );
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    createLogger('error').fatal({ err }, 'failed to start');
    process.exit(1);
  },
);
