import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileOps, threadPoolSize } from '../../src/host/blockingOps.js';
import { LivenessMonitor, threadPoolStuck } from '../../src/observability/liveness.js';

const dir = mkdtempSync(join(tmpdir(), 'liveness-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('liveness probes', () => {
  it('sees the libuv thread pool stuck while every thread waits in a blocking FIFO open, and free again after', async () => {
    const monitor = new LivenessMonitor({ threadPoolBoundMs: 300 });
    try {
      expect(await threadPoolStuck(5000)).toBe(false);
      // What the log-file swap race did: each blocking open of a FIFO holds a pool thread until
      // a writer comes. Hold every thread.
      const fifos = Array.from({ length: threadPoolSize() }, (_, i) => {
        const p = join(dir, `f${i}`);
        execFileSync('mkfifo', [p]);
        return p;
      });
      const opens = fifos.map((p) => open(p, 'r'));
      const report = await monitor.check();
      expect(report.ok).toBe(false);
      expect(report.threadPool).toMatchObject({ stuck: true, probeMs: null });
      expect(report.reasons.join('\n')).toMatch(/thread pool: a file stat did not complete within 300 ms/);
      // A writer for each FIFO releases the threads.
      for (const p of fifos) closeSync(openSync(p, constants.O_WRONLY | constants.O_NONBLOCK));
      const handles: FileHandle[] = await Promise.all(opens);
      await Promise.all(handles.map((h) => h.close()));
      expect(await threadPoolStuck(30_000)).toBe(false);
      const after = await new LivenessMonitor({ threadPoolBoundMs: 30_000 }).check();
      expect(after.threadPool.stuck).toBe(false);
      expect(after.threadPool.probeMs).toBeTypeOf('number');
    } finally {
      monitor.close();
    }
  }, 60_000);

  it('reports an event loop that is late on average beyond the bound, and not after it recovers', async () => {
    const monitor = new LivenessMonitor({ eventLoopBoundMs: 250, threadPoolBoundMs: 30_000 });
    try {
      await new Promise((r) => setTimeout(r, 100));
      monitor.eventLoopDelay(); // start a fresh window
      // Saturate: the loop blocked 800 ms per turn, a few turns in a row.
      for (let turn = 0; turn < 3; turn++) {
        const until = Date.now() + 800;
        while (Date.now() < until) {
          /* busy */
        }
        await new Promise((r) => setTimeout(r, 0));
      }
      const busy = await monitor.check();
      expect(busy.eventLoop.stuck).toBe(true);
      expect(busy.eventLoop.meanMs).toBeGreaterThan(250);
      expect(busy.reasons.join('\n')).toMatch(/event loop: timers ran \d+ ms late on average/);
      // Idle for a while: the next window is healthy.
      await new Promise((r) => setTimeout(r, 500));
      const idle = await monitor.check();
      expect(idle.eventLoop.stuck).toBe(false);
      expect(idle.ok).toBe(true);
    } finally {
      monitor.close();
    }
  }, 60_000);

  it('reports tools starved when every file-operation slot is held past the bound, though the pool has threads', async () => {
    const monitor = new LivenessMonitor({ threadPoolBoundMs: 200 });
    const releases: Array<() => void> = [];
    try {
      // Hold every slot, as file operations on a hung mount would.
      for (let i = 0; i < fileOps.limit; i++) releases.push(await fileOps.acquire());
      await new Promise((r) => setTimeout(r, 400));
      const r = await monitor.check();
      expect(r.threadPool).toMatchObject({
        stuck: false,
        fileOpsStuck: true,
        fileOpsInFlight: fileOps.limit,
      });
      expect(r.threadPool.oldestFileOpMs).toBeGreaterThanOrEqual(200);
      expect(r.reasons.join('\n')).toMatch(/file operations: all \d+ slots held for over 200 ms/);
      for (const release of releases.splice(0)) release();
      const after = await monitor.check();
      expect(after.threadPool.fileOpsStuck).toBe(false);
      expect(after.threadPool.oldestFileOpMs).toBe(0);
    } finally {
      for (const release of releases) release();
      monitor.close();
    }
  });
});
