#!/usr/bin/env node
// The production app (createApp through startHttp: same transports, gate, auth, limits) with the
// MCP conformance suite's fixture tools, resources and prompts added to every server it builds.
// For `npm run conformance` only; the production entry (dist/server.js) never loads the fixtures.
import { loadConfig } from '../dist/config.js';
import { createLogger } from '../dist/observability/logger.js';
import { startHttp } from '../dist/runtime.js';
import {
  fixtureServerOptions,
  fixtureTaskSupport,
  registerConformanceFixtures,
} from '../dist-conformance/fixtures.js';

const action = loadConfig([], process.env);
if (action.kind !== 'run') throw new Error('unexpected arguments');
const logger = createLogger(action.config.LOG_LEVEL, 'stdout');
const running = await startHttp(action.config, logger, {
  extension: {
    options: fixtureServerOptions,
    register: registerConformanceFixtures,
    taskSupport: fixtureTaskSupport,
  },
});
const stop = () => void running.shutdown('signal').then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
