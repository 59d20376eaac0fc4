#!/usr/bin/env node
// Runs analyze_bots' real handler once on FILE in this process and prints lines/s and peak RSS.
// A child of bench/bots.mjs, so its memory is measured alone.
import { dirname } from 'node:path';
import { loadConfig } from '../dist/config.js';
import { createOutbound } from '../dist/net/outbound.js';
import { createLogger } from '../dist/observability/logger.js';
import { analyzeBotsTool } from '../dist/tools/analyzeBots.js';

const file = process.argv[2];
const action = loadConfig([], {
  AUDIT_ALLOWED_PATHS: dirname(file),
  LOG_LEVEL: 'silent',
  TOOL_DEADLINE_SECONDS: '3600',
});
const config = action.config;
const outbound = createOutbound(config);
const ctx = {
  config,
  host: { proc: '/proc', sys: '/sys', root: '/' },
  logger: createLogger('silent'),
  baselines: undefined,
  outbound,
  signal: new AbortController().signal,
  progress: async () => {},
};
const t = performance.now();
const { structured } = await analyzeBotsTool.handler(
  {
    paths: [file],
    format: 'combined',
    top: 25,
    verifyBots: false,
    maxLines: 2_000_000_000,
    maxBytes: 1024 ** 4,
  },
  ctx,
);
const ms = performance.now() - t;
outbound.close();
process.stdout.write(
  JSON.stringify({
    lines: structured.summary.lines,
    parsed: structured.summary.parsed,
    uniqueIps: structured.summary.uniqueIps,
    ms,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    high: structured.summary.clientsByThreat.high + structured.summary.clientsByThreat.critical,
  }),
);
