/**
 * Readiness and in-flight request accounting for graceful shutdown: /ready reads `ready`,
 * the session layer refuses new sessions once `draining`, and shutdown waits on `idle()`.
 */
export class Lifecycle {
  private state: 'starting' | 'ready' | 'draining' = 'starting';
  private inFlight = 0;
  private waiters: (() => void)[] = [];

  get ready(): boolean {
    return this.state === 'ready';
  }

  get draining(): boolean {
    return this.state === 'draining';
  }

  markReady(): void {
    if (this.state === 'starting') this.state = 'ready';
  }

  drain(): void {
    this.state = 'draining';
  }

  /** Counts one request until the returned function is called (idempotent). */
  begin(): () => void {
    this.inFlight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.inFlight--;
      if (this.inFlight === 0) for (const w of this.waiters.splice(0)) w();
    };
  }

  get active(): number {
    return this.inFlight;
  }

  /** Resolves true once no request is in flight, or false when `timeoutMs` passes first. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(done);
    });
  }
}
