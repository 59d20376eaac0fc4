/**
 * Per-client rate limits on /mcp with rate-limiter-flexible: RATE_LIMIT_PER_MINUTE sustained and
 * RATE_LIMIT_BURST per second, keyed by principal (by session or IP for anonymous callers). In
 * memory on one instance; in Redis in fleet mode, so the limit holds across instances, with an
 * in-memory insurance limiter taking over while Redis is unreachable.
 */
import type { RequestHandler } from 'express';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import type { RedisClient } from '../fleet/redisClient.js';
import { requestPrincipal } from '../auth/principal.js';
import { SESSION_ID_RE } from '../mcp/httpSessions.js';
import { RpcCode, sendRpcError } from './jsonRpcError.js';

export interface RateLimitOptions {
  perMinute: number;
  burstPerSecond: number;
  redis?: RedisClient;
  prefix: string;
}

/**
 * Requests that carry no credentials where authentication is required, limited per IP before
 * they reach authentication (they are answered 401, but they cost work and log lines all the
 * same). Requests with credentials are limited per principal after it, or by the brute-force
 * guard when the credentials are wrong.
 */
export function unauthenticatedRateLimit(o: RateLimitOptions): RequestHandler | undefined {
  const per = (points: number, duration: number, name: string) =>
    points <= 0 ? undefined : new RateLimiterMemory({ points, duration, keyPrefix: `anon-${name}` });
  const limiters = [per(o.perMinute, 60, 'minute'), per(o.burstPerSecond, 1, 'second')].filter(
    (l): l is RateLimiterMemory => l !== undefined,
  );
  if (limiters.length === 0) return undefined;
  return (req, res, next) => {
    if (req.headers.authorization !== undefined) return next();
    Promise.all(limiters.map((l) => l.consume(`ip:${req.ip ?? 'unknown'}`)))
      .then(() => next())
      .catch((err: unknown) => {
        if (!(err instanceof RateLimiterRes)) return next();
        const seconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        res.setHeader('Retry-After', String(seconds));
        sendRpcError(res, 429, RpcCode.ServerError, `Too many requests: retry after ${seconds} s`);
      });
  };
}

export function rateLimit(o: RateLimitOptions): RequestHandler | undefined {
  const make = (points: number, duration: number, name: string): RateLimiterAbstract | undefined => {
    if (points <= 0) return undefined;
    const memory = new RateLimiterMemory({ points, duration, keyPrefix: name });
    if (!o.redis) return memory;
    return new RateLimiterRedis({
      storeClient: o.redis,
      points,
      duration,
      keyPrefix: `${o.prefix}rl:${name}`,
      insuranceLimiter: new RateLimiterMemory({ points, duration, keyPrefix: `${name}-insurance` }),
    });
  };
  const limiters = [make(o.perMinute, 60, 'minute'), make(o.burstPerSecond, 1, 'second')].filter(
    (l): l is RateLimiterAbstract => l !== undefined,
  );
  if (limiters.length === 0) return undefined;
  return (req, res, next) => {
    // A batch is as many calls as it carries requests (the body is parsed by now).
    const points = Array.isArray(req.body)
      ? Math.max(
          1,
          (req.body as Array<{ method?: unknown; id?: unknown }>).filter(
            (m) => m?.method !== undefined && m?.id !== undefined,
          ).length,
        )
      : 1;
    // An authenticated principal is the client. Anonymous callers all share one principal, and
    // behind a reverse proxy one IP, so for them the session is the client; sessions are
    // created by initialize, which is limited per IP.
    const principal = requestPrincipal(req);
    const session = req.header('mcp-session-id');
    const key =
      principal.kind === 'jwt' || principal.kind === 'apikey'
        ? `p:${principal.id}`
        : session && SESSION_ID_RE.test(session)
          ? `s:${session}`
          : `ip:${req.ip ?? 'unknown'}`;
    Promise.all(limiters.map((l) => l.consume(key, points)))
      .then(() => next())
      .catch((err: unknown) => {
        if (!(err instanceof RateLimiterRes)) return next(); // a limiter failure must not block service
        const seconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        res.setHeader('Retry-After', String(seconds));
        sendRpcError(res, 429, RpcCode.ServerError, `Too many requests: retry after ${seconds} s`);
      });
  };
}
