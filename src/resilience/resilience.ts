/**
 * Every outbound dependency call goes through here: a circuit breaker per target (opossum) around
 * retries with backoff and jitter (p-retry) for transient errors only, and a timeout always.
 * One instance per process, shared by all sessions, so a dead target trips once for everyone.
 */
import CircuitBreaker from 'opossum';
import pRetry, { AbortError } from 'p-retry';

export interface ResilienceOptions {
  /** Per attempt. */
  timeoutMs: number;
  /** Retries after the first attempt, for transient errors only. */
  retries?: number;
  /** Failures (%) over the rolling window that open a breaker. */
  errorThresholdPercentage?: number;
  /** Calls in the window before the percentage counts. */
  volumeThreshold?: number;
  /** How long an open breaker waits before letting one trial call through. */
  resetTimeoutMs?: number;
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
]);

export class BreakerOpenError extends Error {
  override name = 'BreakerOpenError';
  readonly code = 'EOPENBREAKER';
}

export class Resilience {
  private readonly breakers = new Map<string, CircuitBreaker<[() => Promise<unknown>], unknown>>();

  constructor(private readonly opts: ResilienceOptions) {}

  /**
   * Runs `fn` for `target` (e.g. "dns:192.0.2.53"). `isAnswer(err)` marks errors that are a
   * definitive reply (NXDOMAIN, 404): returned to the caller, never retried, not a failure.
   */
  async call<T>(
    target: string,
    fn: () => Promise<T>,
    isAnswer: (err: unknown) => boolean = () => false,
  ): Promise<T> {
    const breaker = this.breaker(target, isAnswer);
    try {
      return (await breaker.fire(() =>
        pRetry(
          async () => {
            try {
              return await fn();
            } catch (err) {
              const code = (err as NodeJS.ErrnoException).code ?? '';
              if (isAnswer(err) || !TRANSIENT.has(code)) throw new AbortError(err as Error);
              throw err;
            }
          },
          { retries: this.opts.retries ?? 1, minTimeout: 50, maxTimeout: 500, randomize: true },
        ),
      )) as T;
    } catch (err) {
      if ((err as { code?: string }).code === 'EOPENBREAKER')
        throw new BreakerOpenError(
          `${target} is failing; calls paused for ${(this.opts.resetTimeoutMs ?? 30_000) / 1000} s`,
        );
      throw err;
    }
  }

  state(target: string): BreakerState {
    const b = this.breakers.get(target);
    if (!b) return 'closed';
    return b.opened ? 'open' : b.halfOpen ? 'half_open' : 'closed';
  }

  shutdown(): void {
    for (const b of this.breakers.values()) b.shutdown();
    this.breakers.clear();
  }

  private breaker(target: string, isAnswer: (err: unknown) => boolean) {
    let b = this.breakers.get(target);
    if (!b) {
      b = new CircuitBreaker((thunk: () => Promise<unknown>) => thunk(), {
        // opossum's own timeout bounds the whole attempt chain: attempts x per-attempt timeout.
        timeout: this.opts.timeoutMs * ((this.opts.retries ?? 1) + 1) + 1000,
        errorThresholdPercentage: this.opts.errorThresholdPercentage ?? 50,
        volumeThreshold: this.opts.volumeThreshold ?? 5,
        resetTimeout: this.opts.resetTimeoutMs ?? 30_000,
        errorFilter: isAnswer,
      });
      this.breakers.set(target, b);
    }
    return b;
  }
}
