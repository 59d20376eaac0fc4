/**
 * Whether this process can still do work, for /health (liveness): an orchestrator restarts an
 * instance whose libuv thread pool or event loop is stuck, which no amount of waiting fixes.
 *
 * - Thread pool: every fs call, getaddrinfo, zlib and crypto job runs on a few libuv threads
 *   (UV_THREADPOOL_SIZE, default 4). Operations that never return (a FIFO opened blocking, a
 *   hung NFS mount) hold them for good, and then every tool touching files, DNS or gzip hangs
 *   while the HTTP server still answers. The probe queues one tiny fs.stat: when it does not
 *   complete within the bound, no thread came free in that time.
 * - Event loop: perf_hooks.monitorEventLoopDelay samples how late timers fire. A loop that is
 *   late on average by more than the bound since the previous check is saturated, not busy for
 *   a moment (one long turn barely moves the mean over a probe period).
 *
 * Cheap: one stat per check (at most one in flight), and a histogram sampled every 20 ms.
 */
import { stat } from 'node:fs/promises';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { fileOps } from '../host/blockingOps.js';

export interface LivenessOptions {
  /** The pool probe must complete within this (ms). Default 5000. */
  threadPoolBoundMs?: number;
  /** Mean event-loop delay since the previous check above this (ms) is "stuck". Default 1000. */
  eventLoopBoundMs?: number;
  /** What the probe stats (any path; its result does not matter). Default "/". */
  probePath?: string;
}

export interface LivenessReport {
  ok: boolean;
  /** Why not ok, one line each; empty when ok. */
  reasons: string[];
  threadPool: {
    stuck: boolean;
    /** How long the probe took; null when it did not finish within the bound. */
    probeMs: number | null;
    /** Tools' blocking file operations running and waiting (src/host/blockingOps.ts). */
    fileOpsInFlight: number;
    fileOpsWaiting: number;
    /** How long the oldest running one has run (ms). */
    oldestFileOpMs: number;
    /** Every file-operation slot held past the bound: tools reading files are starved. */
    fileOpsStuck: boolean;
  };
  eventLoop: { stuck: boolean; meanMs: number; p99Ms: number; maxMs: number };
}

let pending: { started: number; done: Promise<number> } | undefined;

/**
 * Time (ms) a tiny fs.stat takes on the libuv pool, or null when it did not finish within
 * `boundMs`. Only one probe is in flight at a time: while an earlier one is still queued behind
 * stuck threads, later calls wait on it rather than pile more work onto the pool.
 */
export async function threadPoolProbe(boundMs: number, probePath = '/'): Promise<number | null> {
  if (!pending) {
    const started = performance.now();
    const done = stat(probePath)
      .catch(() => undefined) // an error still means a thread ran it
      .then(() => performance.now() - started)
      .finally(() => {
        if (pending?.done === done) pending = undefined;
      });
    pending = { started, done };
  }
  const { started, done } = pending;
  const left = boundMs - (performance.now() - started);
  if (left <= 0) return null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), left);
    timer.unref();
  });
  return Promise.race([done, timeout]).finally(() => clearTimeout(timer));
}

/** True when a tiny operation on the libuv thread pool did not complete within `boundMs`. */
export async function threadPoolStuck(boundMs = 5000, probePath = '/'): Promise<boolean> {
  return (await threadPoolProbe(boundMs, probePath)) === null;
}

const NS_PER_MS = 1e6;

/** The two probes together; create one per process, call check() from /health. */
export class LivenessMonitor {
  private readonly histogram: IntervalHistogram;
  private readonly poolBound: number;
  private readonly loopBound: number;
  private readonly probePath: string;

  constructor(opts: LivenessOptions = {}) {
    this.poolBound = opts.threadPoolBoundMs ?? 5000;
    this.loopBound = opts.eventLoopBoundMs ?? 1000;
    this.probePath = opts.probePath ?? '/';
    this.histogram = monitorEventLoopDelay({ resolution: 20 });
    this.histogram.enable();
  }

  /** Event-loop delay since the previous call (the sampler's own resolution subtracted). */
  eventLoopDelay(): { meanMs: number; p99Ms: number; maxMs: number } {
    const h = this.histogram;
    // With no sample yet the histogram reports NaN and a huge min: nothing to judge.
    const over = (ns: number) => (Number.isFinite(ns) && h.count > 0 ? Math.max(0, ns / NS_PER_MS - 20) : 0);
    const out = { meanMs: over(h.mean), p99Ms: over(h.percentile(99)), maxMs: over(h.max) };
    h.reset();
    return out;
  }

  async check(): Promise<LivenessReport> {
    const probeMs = await threadPoolProbe(this.poolBound, this.probePath);
    const loop = this.eventLoopDelay();
    const poolStuck = probeMs === null;
    const loopStuck = loop.meanMs > this.loopBound;
    // The pool may still have threads (the slots keep some free) while every slot tools use for
    // files is held by an operation that does not return (a hung mount): tools are starved too.
    const fileOpsStuck = fileOps.heldLongerThan(this.poolBound) >= fileOps.limit;
    const reasons: string[] = [];
    if (poolStuck)
      reasons.push(
        `thread pool: a file stat did not complete within ${this.poolBound} ms (${fileOps.inFlight} tool file operations in flight)`,
      );
    if (fileOpsStuck)
      reasons.push(
        `file operations: all ${fileOps.limit} slots held for over ${this.poolBound} ms (a hung mount or device?)`,
      );
    if (loopStuck)
      reasons.push(
        `event loop: timers ran ${Math.round(loop.meanMs)} ms late on average, over the ${this.loopBound} ms bound`,
      );
    return {
      ok: reasons.length === 0,
      reasons,
      threadPool: {
        stuck: poolStuck,
        probeMs: probeMs === null ? null : Math.round(probeMs * 100) / 100,
        fileOpsInFlight: fileOps.inFlight,
        fileOpsWaiting: fileOps.waiting,
        oldestFileOpMs: Math.round(fileOps.oldestHeldMs()),
        fileOpsStuck,
      },
      eventLoop: { stuck: loopStuck, ...loop },
    };
  }

  close(): void {
    this.histogram.disable();
  }
}
