#!/usr/bin/env node
import { keygen } from './auth/keygen.js';
import { ConfigError, HELP, loadConfig } from './config.js';
import { VERSION } from './mcp/createMcpServer.js';
import { createLogger } from './observability/logger.js';
import { runStdio, startHttp } from './runtime.js';

async function main(): Promise<void> {
  if (process.argv[2] === 'keygen') {
    try {
      process.stdout.write(keygen(process.argv.slice(3)));
      return;
    } catch (err) {
      process.stderr.write(`server-audit-mcp keygen: ${(err as Error).message}\n`);
      process.exit(2);
    }
  }
  let action: ReturnType<typeof loadConfig>;
  try {
    action = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`server-audit-mcp: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (action.kind === 'help') return void process.stdout.write(HELP);
  if (action.kind === 'version') return void process.stdout.write(`${VERSION}\n`);
  const { config } = action;

  const logger = createLogger(config.LOG_LEVEL, config.transport === 'stdio' ? 'stderr' : 'stdout');
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));

  const stop =
    config.transport === 'stdio'
      ? await runStdio(config, logger)
      : await startHttp(config, logger).then((r) => r.shutdown);

  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    // A second signal means "now": skip the drain.
    if (++signals > 1) process.exit(130);
    void stop(sig).then(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (config.transport === 'stdio')
    process.stdin.once('end', () => void stop('stdin closed').then(() => process.exit(0)));
}

void main();
