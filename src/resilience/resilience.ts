/**
 * The one way an outbound call leaves the process: `guarded(dependency, target, fn)` runs `fn`
 * behind a circuit breaker per (dependency, target) (opossum) around retries with exponential
 * backoff and jitter (p-retry), for transient errors only, within a total deadline. One instance
 * per process, shared by all sessions, so a dead target trips once for everyone.
 */
import CircuitBreaker from 'opossum';
import pRetry, { AbortError } from 'p-retry';
import { Counter, Gauge, type Registry } from 'prom-client';
import { timeoutSignal } from './timeoutSignal.js';

export interface ResilienceOptions {
  /** Per attempt: `fn` gets a signal that aborts after this. */
  timeoutMs: number;
  /** Retries after the first attempt, for transient errors only. */
  retries: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** Failures (%) in the rolling window that open a breaker... */
  errorThresholdPercentage: number;
  /** ...once at least this many calls were made in it. */
  volumeThreshold: number;
  /** How long an open breaker fails fast before letting one trial call through. */
  resetTimeoutMs: number;
  /** Breakers kept; the least recently used closed ones are dropped beyond this. */
  maxBreakers: number;
}

export interface GuardOptions {
  /** A definitive reply (NXDOMAIN, a 404): returned to the caller, not retried, not a failure. */
  isAnswer?: (err: unknown) => boolean;
  /** Extra retryable failures beyond the network ones (e.g. a 503 on an idempotent GET). */
  isRetryable?: (err: unknown) => boolean;
  /** Total time for all attempts and waits; defaults to timeoutMs x attempts. */
  deadlineMs?: number;
  /** Caller's cancellation. */
  signal?: AbortSignal;
  /** Per-attempt timeout for this call, instead of the configured one. */
  timeoutMs?: number;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

/** Errors worth another try: the network hiccuped, the answer may differ next time. */
const TRANSIENT = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'EAI_AGAIN',
  'ESERVFAIL',
  'ETIMEOUT',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'ABORT_ERR', // our per-attempt timeout
]);

export function isTransient(err: unknown): boolean {
  return TRANSIENT.has((err as NodeJS.ErrnoException)?.code ?? '');
}

export class BreakerOpenError extends Error {
  override name = 'BreakerOpenError';
  readonly code = 'EOPENBREAKER';
}

interface Instruments {
  requests: Counter<'dependency' | 'outcome'>;
  retries: Counter<'dependency'>;
  transitions: Counter<'dependency' | 'to'>;
}

type Breaker = CircuitBreaker<[(signal: AbortSignal) => Promise<unknown>, AbortSignal], unknown>;

export class Resilience {
  /** Insertion order is recency: a used breaker is moved to the end. */
  private readonly breakers = new Map<string, { breaker: Breaker; dependency: string; target: string }>();
  private metrics: Instruments | undefined;

  constructor(readonly opts: ResilienceOptions) {}

  /** Adds this layer's metrics to a registry (the HTTP server's /metrics). */
  registerMetrics(registry: Registry): void {
    this.metrics = {
      requests: new Counter({
        name: 'outbound_requests_total',
        help: 'Outbound calls by dependency and outcome: ok, answer (a definitive negative reply), error, rejected (breaker open)',
        labelNames: ['dependency', 'outcome'],
        registers: [registry],
      }),
      retries: new Counter({
        name: 'outbound_retries_total',
        help: 'Retries of transient outbound failures',
        labelNames: ['dependency'],
        registers: [registry],
      }),
      transitions: new Counter({
        name: 'circuit_breaker_transitions_total',
        help: 'Breaker state changes by dependency and new state',
        labelNames: ['dependency', 'to'],
        registers: [registry],
      }),
    };
    const breakers = this.breakers;
    new Gauge({
      name: 'circuit_breaker_state',
      help: 'Breakers not closed (1 half-open, 2 open); a closed breaker is not listed, which keeps the label set bounded',
      labelNames: ['dependency', 'target'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { breaker, dependency, target } of breakers.values()) {
          if (breaker.opened) this.set({ dependency, target }, 2);
          else if (breaker.halfOpen) this.set({ dependency, target }, 1);
        }
      },
    });
  }

  async guarded<T>(
    dependency: string,
    target: string,
    fn: (signal: AbortSignal) => Promise<T>,
    g: GuardOptions = {},
  ): Promise<T> {
    const isAnswer = g.isAnswer ?? (() => false);
    const entry = this.breaker(dependency, target, isAnswer);
    const deadlineMs =
      g.deadlineMs ?? (g.timeoutMs ?? this.opts.timeoutMs) * (this.opts.retries + 1) + this.opts.retryMaxMs;
    const deadline = Date.now() + deadlineMs;
    const outer = g.signal ? timeoutSignal(deadlineMs, g.signal) : timeoutSignal(deadlineMs);
    const attempt = async () => {
      try {
        return await fn(timeoutSignal(g.timeoutMs ?? this.opts.timeoutMs, outer));
      } catch (err) {
        const retryable =
          !isAnswer(err) && !outer.aborted && (isTransient(err) || (g.isRetryable?.(err) ?? false));
        if (!retryable) throw new AbortError(err as Error);
        throw err;
      }
    };
    try {
      const value = (await entry.breaker.fire(
        () =>
          pRetry(attempt, {
            retries: this.opts.retries,
            minTimeout: this.opts.retryMinMs,
            maxTimeout: this.opts.retryMaxMs,
            randomize: true,
            signal: outer,
            onFailedAttempt: (e) => {
              // No retry that could not finish before the deadline.
              if (e.retriesLeft > 0 && Date.now() + this.opts.retryMinMs >= deadline) throw e;
              if (e.retriesLeft > 0) this.metrics?.retries.inc({ dependency });
            },
          }),
        outer,
      )) as T;
      this.metrics?.requests.inc({ dependency, outcome: 'ok' });
      return value;
    } catch (err) {
      if ((err as { code?: string }).code === 'EOPENBREAKER') {
        this.metrics?.requests.inc({ dependency, outcome: 'rejected' });
        throw new BreakerOpenError(
          `${dependency} target ${target} is failing; calls are paused, retry after ${Math.ceil(this.opts.resetTimeoutMs / 1000)} s`,
        );
      }
      this.metrics?.requests.inc({ dependency, outcome: isAnswer(err) ? 'answer' : 'error' });
      // The total deadline ran out (p-retry rejects with a TimeoutError whose code is a number).
      if (outer.aborted && !g.signal?.aborted && !isAnswer(err))
        throw Object.assign(new Error(`${dependency} target ${target}: no answer within ${deadlineMs} ms`), {
          code: 'ABORT_ERR',
        });
      throw err;
    }
  }

  state(dependency: string, target: string): BreakerState {
    const e = this.breakers.get(`${dependency}|${target}`);
    if (!e) return 'closed';
    return e.breaker.opened ? 'open' : e.breaker.halfOpen ? 'half_open' : 'closed';
  }

  get breakerCount(): number {
    return this.breakers.size;
  }

  shutdown(): void {
    for (const e of this.breakers.values()) e.breaker.shutdown();
    this.breakers.clear();
  }

  private breaker(dependency: string, target: string, isAnswer: (err: unknown) => boolean) {
    const key = `${dependency}|${target}`;
    let e = this.breakers.get(key);
    if (e) {
      this.breakers.delete(key);
      this.breakers.set(key, e);
      return e;
    }
    const breaker: Breaker = new CircuitBreaker(
      (run: (signal: AbortSignal) => Promise<unknown>, signal: AbortSignal) => run(signal),
      {
        // Our own deadline bounds each call; opossum's timeout is off so it cannot race it.
        timeout: false,
        errorThresholdPercentage: this.opts.errorThresholdPercentage,
        volumeThreshold: this.opts.volumeThreshold,
        resetTimeout: this.opts.resetTimeoutMs,
        errorFilter: isAnswer,
      },
    );
    const moved = (to: BreakerState) => () => this.metrics?.transitions.inc({ dependency, to });
    breaker.on('open', moved('open'));
    breaker.on('halfOpen', moved('half_open'));
    breaker.on('close', moved('closed'));
    e = { breaker, dependency, target };
    this.breakers.set(key, e);
    if (this.breakers.size > this.opts.maxBreakers) this.evict();
    return e;
  }

  /**
   * Drops least recently used closed breakers; open ones stay (they protect a failing target)
   * until there are twice the limit, then the oldest go too, so many dead targets cannot grow the
   * map (and the breaker-state metric) without bound.
   */
  private evict(): void {
    for (const [key, e] of this.breakers) {
      if (this.breakers.size <= this.opts.maxBreakers) break;
      if (e.breaker.opened || e.breaker.halfOpen) continue;
      e.breaker.shutdown();
      this.breakers.delete(key);
    }
    for (const [key, e] of this.breakers) {
      if (this.breakers.size <= this.opts.maxBreakers * 2) break;
      e.breaker.shutdown();
      this.breakers.delete(key);
    }
  }
}
