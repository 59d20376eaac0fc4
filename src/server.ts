#!/usr/bin/env node
// Only node built-ins and the tiny cli module load before the arguments are read: --help and
// --version answer at once, and a bad setting fails before the SDK, express and pino load.
import { existsSync, readFileSync } from 'node:fs';
import { HELP, parseCli } from './cli.js';

/** package.json sits one level above dist/ (and src/). */
function version(): string {
  return (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
}

function fail(message: string): never {
  process.stderr.write(`server-audit-mcp: ${message}\n`);
  process.exit(2);
}

/**
 * `.env` in the working directory, as `npm start` runs it from the project folder; variables
 * already in the environment win (Node's own parser, Node >= 20.12).
 */
function loadDotEnv(): void {
  if (!existsSync('.env')) return;
  if (typeof process.loadEnvFile !== 'function')
    return fail(
      '.env found but this Node.js cannot read it (needs 20.12 or newer); export the variables instead',
    );
  try {
    process.loadEnvFile('.env');
  } catch (err) {
    fail(`cannot read .env (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'keygen') {
    const { keygen } = await import('./auth/keygen.js');
    try {
      process.stdout.write(keygen(argv.slice(1)));
      return;
    } catch (err) {
      process.stderr.write(`server-audit-mcp keygen: ${(err as Error).message}\n`);
      process.exit(2);
    }
  }
  let cli: ReturnType<typeof parseCli>;
  try {
    cli = parseCli(argv);
  } catch (err) {
    fail(`${(err as Error).message} (see --help)`);
  }
  if (cli.values.help) return void process.stdout.write(HELP);
  if (cli.values.version) return void process.stdout.write(`${version()}\n`);

  loadDotEnv();
  const { ConfigError, loadConfig, prepareDataDir } = await import('./config.js');
  let action: ReturnType<typeof loadConfig>;
  try {
    action = loadConfig(argv, process.env);
    if (action.kind === 'run') prepareDataDir(action.config);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  if (action.kind !== 'run') return; // help and version were answered above
  const { config } = action;

  const [{ createLogger }, { exitAfterLogs }, { runStdio, startHttp }] = await Promise.all([
    import('./observability/logger.js'),
    import('./observability/logSink.js'),
    import('./runtime.js'),
  ]);
  const logger = createLogger(
    config.LOG_LEVEL,
    config.transport === 'stdio' ? 'stderr' : 'stdout',
    config.LOG_FORMAT,
  );
  // Every exit waits (bounded) for the log records already written: see logSink.ts.
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    void exitAfterLogs(1);
  });
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));

  // Handlers before start-up: a SIGTERM while starting (after the port opened, before this
  // function resumed) would otherwise kill the process without a drain, and leave an agent's
  // registration in Redis until its TTL. Such a signal is answered once start-up is done.
  const started: { stop?: (reason: string) => Promise<void> } = {};
  let pending: NodeJS.Signals | undefined;
  let signals = 0;
  const stop = (run: (reason: string) => Promise<void>, reason: string) =>
    void run(reason).then(
      () => exitAfterLogs(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        return exitAfterLogs(1);
      },
    );
  const onSignal = (sig: NodeJS.Signals) => {
    // A second signal means "now": skip the drain and the log flush.
    if (++signals > 1) process.exit(130);
    if (!started.stop) pending = sig;
    else stop(started.stop, sig);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const running =
    config.transport === 'stdio'
      ? await runStdio(config, logger)
      : await startHttp(config, logger).then((r) => r.shutdown);
  started.stop = running;
  if (pending) return stop(running, pending);
  if (config.transport === 'stdio') {
    // The client is gone when it closes either end of the channel.
    process.stdin.once('end', () => stop(running, 'stdin closed'));
    process.stdout.once('error', () => stop(running, 'stdout closed'));
  }
}

void main();
