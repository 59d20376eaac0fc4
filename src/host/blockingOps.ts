/**
 * A cap on the blocking file operations tools have in flight. Node runs every fs call, DNS
 * lookup (getaddrinfo), zlib job and crypto job on one small libuv thread pool (4 threads unless
 * UV_THREADPOOL_SIZE says otherwise). An open or read that never returns (a FIFO opened
 * blocking, a hung NFS mount) holds its thread for good; once all are held, every tool touching
 * files, DNS or gzip hangs. Tools' file operations go through these slots, fewer than the pool
 * has threads, so some threads always stay free for the rest, and a stuck file system shows as
 * slots that never come back (src/observability/liveness.ts reports it).
 */

/** No slot came free in time. `code` EBUSY, so messages built from error codes read sensibly. */
export class SlotWaitError extends Error {
  override name = 'SlotWaitError';
  readonly code = 'EBUSY';
}

/** A counting semaphore whose waiters can give up (the call's cancellation or deadline). */
export class Semaphore {
  private active = 0;
  private readonly queue: Array<{ grant: () => void }> = [];
  /** When each slot now held was granted (performance.now()), to tell busy from stuck. */
  private readonly since = new Set<{ at: number }>();

  constructor(private max: number) {
    if (!(max >= 1)) throw new RangeError('a semaphore needs at least one slot');
  }

  get inFlight(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.length;
  }

  get limit(): number {
    return this.max;
  }

  /** How long (ms) the longest-held slot has been held; 0 when none is. */
  oldestHeldMs(now = performance.now()): number {
    let oldest = 0;
    for (const s of this.since) oldest = Math.max(oldest, now - s.at);
    return oldest;
  }

  /** Slots held longer than `ms`. */
  heldLongerThan(ms: number, now = performance.now()): number {
    let n = 0;
    for (const s of this.since) if (now - s.at > ms) n++;
    return n;
  }

  /** Changes the number of slots; waiters are let in as slots free up. */
  resize(max: number): void {
    if (!(max >= 1)) throw new RangeError('a semaphore needs at least one slot');
    this.max = max;
    this.drain();
  }

  /**
   * Resolves with a release function once a slot is free; rejects when `signal` aborts first,
   * or after `waitMs` with a SlotWaitError (the slots are held by operations that do not return).
   */
  acquire(signal?: AbortSignal, waitMs?: number): Promise<() => void> {
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          clearTimeout(timer);
          this.active++;
          const held = { at: performance.now() };
          this.since.add(held);
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.active--;
            this.since.delete(held);
            this.drain();
          });
        },
      };
      const giveUp = (err: unknown) => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        signal?.removeEventListener('abort', onAbort);
        clearTimeout(timer);
        reject(err);
      };
      const onAbort = () => giveUp(signal?.reason ?? new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.drain();
      if (this.queue.includes(waiter) && waitMs !== undefined)
        timer = setTimeout(
          () =>
            giveUp(
              new SlotWaitError(
                `no file-operation slot came free within ${waitMs} ms: ${this.active} operations are stuck (a FIFO, device or hung mount?)`,
              ),
            ),
          waitMs,
        );
    });
  }

  /** Runs `fn` in a slot. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal, waitMs?: number): Promise<T> {
    const release = await this.acquire(signal, waitMs);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private drain(): void {
    while (this.active < this.max && this.queue.length > 0) this.queue.shift()?.grant();
  }
}

/** libuv's pool size as this process started it (UV_THREADPOOL_SIZE is libuv's own variable). */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4;
}

/**
 * Slots for tools' file operations: half the pool (2 of the default 4 threads), at least one, so
 * DNS, gzip and the liveness probe keep threads even when every file slot is stuck.
 */
export const fileOps = new Semaphore(Math.max(1, Math.floor(threadPoolSize() / 2)));

/**
 * How long an operation waits for a slot before giving up with SlotWaitError (EBUSY). A healthy
 * file operation takes microseconds to milliseconds; waiting this long means the slots are held
 * by operations that will not return, and the call should fail rather than hang.
 */
export const FILE_OP_WAIT_MS = 30_000;

/** One blocking file operation in a slot of `fileOps`. */
export function fileOp<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return fileOps.run(fn, signal, FILE_OP_WAIT_MS);
}
