/**
 * Where sessions, server-to-client messages, baselines, tasks and rate limits live: in this process by
 * default, in Redis when REDIS_URL (or Sentinel/Cluster) is set, so instances behind a load
 * balancer share them and any instance can serve any request.
 */
import { resolve } from 'node:path';
import { Gauge, type Registry } from 'prom-client';
import { FileBaselineStore } from '../baselines/fileBaselineStore.js';
import type { BaselineStore } from '../baselines/types.js';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { MemorySessionStore } from '../session/memorySessionStore.js';
import { MemorySessionBus, type SessionBus } from '../session/sessionBus.js';
import { MemorySessionEvents, RedisSessionEvents, type SessionEvents } from '../session/sessionEvents.js';
import type { SessionStore } from '../session/sessionStore.js';
import { createRedis, fleetMode, type RedisClient, whenReady } from './redisClient.js';
import { RedisBaselineStore } from './redisBaselineStore.js';
import { RedisSessionBus } from './redisSessionBus.js';
import { RedisSessionStore } from './redisSessionStore.js';
import { RedisTaskStore } from './redisTaskStore.js';
import { MemoryTaskStore, type TaskStore } from '../tasks/taskStore.js';

export interface Fleet {
  mode: 'memory' | 'redis';
  store: SessionStore;
  bus: SessionBus;
  events: SessionEvents;
  baselines: BaselineStore;
  /** Task records: any instance answers for a task another one runs. */
  tasks: TaskStore;
  /** The command connection in fleet mode (rate limits use it too). */
  redis?: RedisClient;
  /**
   * False while Redis is unreachable. The instance stays ready (it serves 2026-07-28 requests and
   * the sessions it holds) and reports itself degraded: /ready names it in its body.
   */
  ready(): boolean;
  registerMetrics(registry: Registry): void;
  close(): Promise<void>;
}

export async function createFleet(config: Config, logger: Logger): Promise<Fleet> {
  if (!fleetMode(config)) {
    return {
      mode: 'memory',
      store: new MemorySessionStore(config.SESSION_TTL_SECONDS * 1000),
      bus: new MemorySessionBus(),
      events: new MemorySessionEvents(),
      baselines: new FileBaselineStore({
        dir: resolve(config.DATA_DIR),
        maxCount: config.BASELINE_MAX_COUNT,
        maxBytes: config.BASELINE_MAX_BYTES,
        maxPerPrincipal: config.BASELINE_MAX_PER_PRINCIPAL,
      }),
      tasks: new MemoryTaskStore(),
      ready: () => true,
      registerMetrics: () => undefined,
      close: async () => undefined,
    };
  }
  const redis = createRedis(config);
  const sub = createRedis(config, { subscriber: true });
  let wasUp = false;
  for (const [name, c] of [
    ['commands', redis],
    ['subscriber', sub],
  ] as const) {
    // ioredis reconnects by itself; log transitions, never let an error event crash the process.
    c.on('error', (err: Error) => logger.debug({ err: err.message, connection: name }, 'redis error'));
  }
  redis.on('ready', () => {
    if (!wasUp) logger.info('redis connected');
    wasUp = true;
  });
  redis.on('close', () => {
    if (wasUp)
      logger.warn(
        'redis connection lost; serving degraded (sessions held here, stateless requests) until it is back',
      );
    wasUp = false;
  });
  try {
    await Promise.all([
      whenReady(redis, Math.max(2000, config.REDIS_COMMAND_TIMEOUT_MS * 5)),
      // GET streams subscribe on it: ready before the first request, like the command connection.
      whenReady(sub, Math.max(2000, config.REDIS_COMMAND_TIMEOUT_MS * 5)),
    ]);
  } catch {
    logger.warn('redis not reachable at start-up; serving degraded until it is');
  }
  const prefix = config.REDIS_PREFIX;
  return {
    mode: 'redis',
    store: new RedisSessionStore(redis, prefix, config.SESSION_TTL_SECONDS * 1000),
    bus: new RedisSessionBus(redis, sub, prefix),
    events: new RedisSessionEvents(redis, prefix, config.SESSION_TTL_SECONDS * 1000),
    baselines: new RedisBaselineStore(
      redis,
      prefix,
      config.BASELINE_MAX_COUNT,
      config.BASELINE_MAX_BYTES,
      config.BASELINE_MAX_PER_PRINCIPAL,
    ),
    tasks: new RedisTaskStore(redis, prefix),
    redis,
    ready: () => redis.status === 'ready',
    registerMetrics(registry) {
      new Gauge({
        name: 'redis_up',
        help: '1 while the Redis command connection is ready, else 0',
        registers: [registry],
        collect() {
          this.set(redis.status === 'ready' ? 1 : 0);
        },
      });
    },
    async close() {
      await Promise.all([
        redis.quit().catch(() => redis.disconnect()),
        sub.quit().catch(() => sub.disconnect()),
      ]);
    },
  };
}
