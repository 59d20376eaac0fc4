/**
 * Redis connections for fleet mode: standalone (REDIS_URL), Sentinel (REDIS_SENTINELS) or Cluster
 * (REDIS_CLUSTER_NODES), through ioredis. Commands fail fast instead of queueing while Redis is
 * away (so requests get a quick 503, never a hang), and the client keeps reconnecting by itself.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';
import { splitHostPort } from '../net/hostPort.js';

export type RedisClient = Redis | Cluster;

export function fleetMode(config: Config): boolean {
  return Boolean(config.REDIS_URL || config.REDIS_SENTINELS || config.REDIS_CLUSTER_NODES);
}

/** Config validated these as host:port already. */
const hostPort = (s: string) => splitHostPort(s, 6379) as { host: string; port: number };

/** A new connection; `role` names it in logs (a pub/sub subscriber needs a connection of its own). */
export function createRedis(config: Config, opts: { subscriber?: boolean } = {}): RedisClient {
  const common: RedisOptions = {
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: Math.max(1000, config.REDIS_COMMAND_TIMEOUT_MS * 2),
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // Reconnect forever, at most every 2 s: Redis coming back must need no restart of ours.
    retryStrategy: (times) => Math.min(100 * times, 2000),
    // The session bus resubscribes what it needs itself (see RedisSessionBus).
    autoResubscribe: !opts.subscriber,
    // A subscriber skips the INFO ready check: a SUBSCRIBE sent while INFO was in flight put the
    // connection in subscriber mode, INFO then failed ("only subscriber commands may be used"),
    // and the connection went down and up again, failing the GET streams subscribing meanwhile.
    enableReadyCheck: !opts.subscriber,
  };
  if (config.REDIS_CLUSTER_NODES) {
    return new Cluster(config.REDIS_CLUSTER_NODES.map(hostPort), {
      redisOptions: common,
      enableOfflineQueue: false,
      clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
    });
  }
  if (config.REDIS_SENTINELS) {
    return new Redis({
      ...common,
      sentinels: config.REDIS_SENTINELS.map(hostPort),
      name: config.REDIS_SENTINEL_NAME,
    });
  }
  return new Redis(config.REDIS_URL as string, common);
}

/** Resolves when the connection is ready, or rejects after `ms`. */
export function whenReady(client: RedisClient, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis not ready after ${ms} ms`));
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}
