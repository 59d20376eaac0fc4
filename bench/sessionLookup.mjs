#!/usr/bin/env node
// Issue 6: what one session lookup costs, the store's touch() as every request calls it: in
// memory against a redis-server on loopback (GETEX ... PX: one round trip). Peer: the memory
// store, in the same run. Needs redis-server (apt-get install redis-server).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { loadConfig } from '../dist/config.js';
import { createRedis, whenReady } from '../dist/fleet/redisClient.js';
import { RedisSessionStore } from '../dist/fleet/redisSessionStore.js';
import { MemorySessionStore } from '../dist/session/memorySessionStore.js';

if (spawnSync('which', ['redis-server']).status !== 0) {
  console.error('redis-server not found: apt-get install redis-server');
  process.exit(1);
}
const srv = createServer().listen(0, '127.0.0.1');
await once(srv, 'listening');
const port = srv.address().port;
srv.close();
const child = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  { stdio: 'ignore' },
);
await new Promise((r) => setTimeout(r, 300));
const config = loadConfig([], { REDIS_URL: `redis://127.0.0.1:${port}`, LOG_LEVEL: 'silent' }).config;
const redis = createRedis(config);
await whenReady(redis, 5000);
const stores = {
  memory: new MemorySessionStore(1_800_000),
  redis: new RedisSessionStore(redis, 'bench:', 1_800_000),
};
const record = (id) => ({
  id,
  createdAt: Date.now(),
  lastSeenAt: Date.now(),
  protocolVersion: '2025-11-25',
  principal: 'anonymous',
  clientName: 'bench',
  clientCapabilities: {},
});
const N = 20_000;
const out = {};
for (const [name, store] of Object.entries(stores)) {
  for (let i = 0; i < 100; i++) await store.create(record(`s${i}`));
  for (let i = 0; i < 2000; i++) await store.touch(`s${i % 100}`); // warm-up
  const us = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await store.touch(`s${i % 100}`);
    us.push((performance.now() - t) * 1000);
  }
  us.sort((a, b) => a - b);
  out[name] = { p50: us[N / 2], p99: us[Math.floor(N * 0.99)] };
}
redis.disconnect();
child.kill('SIGKILL');
const cpu = cpus();
console.log(
  `\nmachine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, Node ${process.version}; ${N} sequential touch() calls each`,
);
console.log('| store | touch p50 us | touch p99 us |');
console.log('| --- | --- | --- |');
for (const [n, v] of Object.entries(out)) console.log(`| ${n} | ${v.p50.toFixed(1)} | ${v.p99.toFixed(1)} |`);
const added = (out.redis.p50 - out.memory.p50) / 1000;
console.log(
  `target: the Redis lookup adds < 1 ms p50: ${added.toFixed(3)} ms, ${added < 1 ? 'met' : 'NOT met'}`,
);
