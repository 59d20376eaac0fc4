/**
 * /health is liveness: it fails while the process cannot serve tools (here: every libuv pool
 * thread held by a blocking FIFO open, what the log-file swap race did), so an orchestrator
 * restarts it; and it recovers when the threads are free again.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { threadPoolSize } from '../../src/host/blockingOps.js';
import type { RunningHttp } from '../../src/runtime.js';
import { startInProcess } from '../helpers/servers.js';

describe('/health when the thread pool is starved', () => {
  let server: RunningHttp;
  beforeAll(async () => {
    server = await startInProcess();
  });
  afterAll(async () => server?.shutdown('test done'));

  it('answers 503 with the reason while every pool thread is stuck, 200 after', async () => {
    const health = server.url.replace('/mcp', '/health');
    expect((await fetch(health)).status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'starve-'));
    const fifos = Array.from({ length: threadPoolSize() }, (_, i) => {
      const p = join(dir, `f${i}`);
      execFileSync('mkfifo', [p]);
      return p;
    });
    const opens = fifos.map((p) => open(p, 'r'));
    try {
      const res = await fetch(health, { signal: AbortSignal.timeout(60_000) });
      expect(res.status).toBe(503);
      const body = (await res.json()) as { status: string; reasons: string[] };
      expect(body.status).toBe('stuck');
      expect(body.reasons.join('\n')).toMatch(/thread pool/);
    } finally {
      for (const p of fifos) closeSync(openSync(p, constants.O_WRONLY | constants.O_NONBLOCK));
      await Promise.all((await Promise.all(opens)).map((h) => h.close()));
    }
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await fetch(health)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
  }, 120_000);
});
