/**
 * Repeated authentication failures from one IP are limited far harder than normal traffic:
 * AUTH_FAILURE_LIMIT failures within AUTH_FAILURE_WINDOW_SECONDS block that IP for the window.
 * In Redis in fleet mode, so an attacker cannot spread guesses across instances.
 */
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { RedisClient } from '../fleet/redisClient.js';

export interface BruteForceGuard {
  /** Seconds until the IP may try again, or 0 when it may try now. */
  blockedFor(ip: string): Promise<number>;
  recordFailure(ip: string): Promise<void>;
}

export function createBruteForceGuard(o: {
  limit: number;
  windowSeconds: number;
  redis?: RedisClient;
  prefix: string;
}): BruteForceGuard {
  const opts = { points: o.limit, duration: o.windowSeconds, blockDuration: o.windowSeconds };
  const limiter: RateLimiterAbstract = o.redis
    ? new RateLimiterRedis({
        ...opts,
        storeClient: o.redis,
        keyPrefix: `${o.prefix}authfail`,
        insuranceLimiter: new RateLimiterMemory({ ...opts, keyPrefix: 'authfail-insurance' }),
      })
    : new RateLimiterMemory({ ...opts, keyPrefix: 'authfail' });
  return {
    async blockedFor(ip) {
      try {
        const res = await limiter.get(ip);
        return res && res.consumedPoints >= o.limit ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : 0;
      } catch {
        return 0; // a limiter failure must not lock everyone out
      }
    },
    async recordFailure(ip) {
      // Rejects once over the limit: that is the block starting, not an error.
      await limiter.consume(ip).catch(() => undefined);
    },
  };
}
