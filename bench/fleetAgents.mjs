#!/usr/bin/env node
// Child of bench/fleet.mjs: N agents (the real HTTP server, startHttp) in one process, each on its
// own loopback port with the healthy fixture tree and the same API keys file. Prints their URLs.
import { loadConfig } from '../dist/config.js';
import { createLogger } from '../dist/observability/logger.js';
import { startHttp } from '../dist/runtime.js';

const n = Number(process.argv[2]);
const [proc, sys, root, keys, dataDir] = process.argv.slice(3);
const urls = [];
for (let i = 0; i < n; i++) {
  const action = loadConfig([], {
    PORT: '0',
    LOG_LEVEL: 'silent',
    HOST_PROC: proc,
    HOST_SYS: sys,
    HOST_ROOT: root,
    AUTH_API_KEYS_FILE: keys,
    DATA_DIR: `${dataDir}/a${i}`,
    // Bench load, not abuse: the per-IP and per-principal caps would throttle the serving instance.
    RATE_LIMIT_PER_MINUTE: '100000',
    RATE_LIMIT_BURST: '100000',
  });
  const running = await startHttp(action.config, createLogger('silent'), { audit: () => undefined });
  urls.push(running.url);
}
process.stdout.write(`${JSON.stringify(urls)}\n`);
// Exit on SIGTERM (the bench's kill) so `node --cpu-prof` writes this process's profile.
process.on('SIGTERM', () => process.exit(0));
