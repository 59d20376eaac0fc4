import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../src/observability/logger.js';
import { createOutbound } from '../../src/net/outbound.js';
import { analyzeBotsTool } from '../../src/tools/analyzeBots.js';
import { checkTlsTool } from '../../src/tools/checkTls.js';
import { ToolError, type ToolContext } from '../../src/tools/types.js';
import { configFrom } from '../helpers/servers.js';
import { TlsTestBed } from '../helpers/tlsTestBed.js';

// A local user who can write inside an allowed directory swaps, in a tight loop in another
// thread, a log file (and a CA bundle) for a symlink to a file outside the allowed paths and for
// a FIFO, and swaps the log's directory for a symlink to a directory outside. Tool handlers run
// concurrently through the real host code meanwhile. No call may return the outside content
// (its marker IP and text), and every call must settle: a FIFO opened blocking would hold a
// libuv thread for good and the calls behind it would never end.

const OUTSIDE_IP = '203.0.113.66';
const OUTSIDE_TEXT = 'OUTSIDE-MARKER';
const INSIDE_IP = '192.0.2.10';
/** Per call: far above the milliseconds a call takes, and independent of machine load only in that it is never approached. */
const SETTLE_MS = 60_000;

const base = realpathSync(mkdtempSync(join(tmpdir(), 'file-swap-')));
const allowed = join(base, 'allowed');
const outside = join(base, 'outside');
const fifos: string[] = [];
let worker: Worker | undefined;

function logLines(ip: string, ua: string): string {
  return Array.from(
    { length: 20 },
    (_, i) =>
      `${ip} - - [05/Dec/2026:10:00:${String(i).padStart(2, '0')} +0000] "GET /p${i} HTTP/1.1" 200 123 "-" "${ua}"`,
  ).join('\n');
}

/** The swapping loop, in a worker thread so it runs truly alongside the calls. */
const SWAPPER = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { join } = require('node:path');
const { allowed, outside, stopAt } = workerData;
const sources = {
  reg: join(allowed, 'store', 'access.reg'),
  fifo: join(allowed, 'store', 'access.fifo'),
  caReg: join(allowed, 'store', 'ca.reg'),
  caFifo: join(allowed, 'store', 'ca.fifo'),
};
const place = (kind, target, tmp) => {
  try { fs.rmSync(tmp, { force: true }); } catch {}
  if (kind === 'link') fs.symlinkSync(target, tmp);
  else fs.linkSync(target, tmp);
  fs.renameSync(tmp, tmp.replace(/\\.tmp$/, ''));
};
let i = 0;
const dirLink = join(allowed, 'swapdir');
while (Date.now() < stopAt) {
  const k = i % 3;
  place(k === 0 ? 'hard' : k === 1 ? 'link' : 'hard', k === 0 ? sources.reg : k === 1 ? join(outside, 'access.log') : sources.fifo, join(allowed, 'logs', 'access.log.tmp'));
  place(k === 0 ? 'hard' : k === 1 ? 'link' : 'hard', k === 0 ? sources.caReg : k === 1 ? join(outside, 'ca.pem') : sources.caFifo, join(allowed, 'logs', 'ca.pem.tmp'));
  // The directory: a real one, or a link to the outside one (rename over a link is atomic).
  if (i % 2 === 0) place('link', join(allowed, 'realdir'), dirLink + '.tmp');
  else place('link', outside, dirLink + '.tmp');
  i++;
}
parentPort.postMessage(i);
`;

beforeAll(() => {
  mkdirSync(join(allowed, 'logs'), { recursive: true });
  mkdirSync(join(allowed, 'store'), { recursive: true });
  mkdirSync(join(allowed, 'realdir'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  const inside = `${logLines(INSIDE_IP, 'inside-agent')}\n`;
  writeFileSync(join(allowed, 'store', 'access.reg'), inside);
  writeFileSync(join(allowed, 'logs', 'access.log'), inside);
  writeFileSync(join(allowed, 'realdir', 'access.log'), inside);
  writeFileSync(join(outside, 'access.log'), `${logLines(OUTSIDE_IP, OUTSIDE_TEXT)}\n`);
  // Not a PEM: had it been read, check_tls would say "holds no PEM certificate".
  writeFileSync(join(outside, 'ca.pem'), `${OUTSIDE_TEXT} not a certificate\n`);
  const bed = new TlsTestBed(join(base, 'pki'));
  writeFileSync(join(allowed, 'store', 'ca.reg'), bed.rootPem);
  writeFileSync(join(allowed, 'logs', 'ca.pem'), bed.rootPem);
  for (const f of ['access.fifo', 'ca.fifo']) {
    const p = join(allowed, 'store', f);
    execFileSync('mkfifo', [p]);
    fifos.push(p);
  }
}, 60_000);

afterAll(async () => {
  await worker?.terminate();
  // Release any reader stuck on a FIFO (only the old, blocking open could be), so the process can end.
  for (const p of fifos) {
    try {
      closeSync(openSync(p, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // ENXIO: no reader waiting, as it should be.
    }
  }
  rmSync(base, { recursive: true, force: true });
});

function settle<T>(p: Promise<T>): Promise<{ ok: T } | { err: unknown } | { hung: true }> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<{ hung: true }>((r) => {
    timer = setTimeout(() => r({ hung: true }), SETTLE_MS);
  });
  return Promise.race([
    p.then(
      (ok) => ({ ok }),
      (err: unknown) => ({ err }),
    ),
    hung,
  ]).finally(() => clearTimeout(timer));
}

describe('files swapped for links and FIFOs while tools read them', () => {
  it('never returns outside content and never hangs', async () => {
    const config = configFrom({ AUDIT_ALLOWED_PATHS: allowed, HOST_ROOT: '/' });
    const ctx = {
      config,
      host: { proc: '/proc', sys: '/sys', root: '/' },
      logger: createLogger('silent'),
      outbound: createOutbound(config),
      signal: new AbortController().signal,
      progress: async () => undefined,
      notify: () => undefined,
    } as unknown as ToolContext;
    const botArgs = (path: string) =>
      z.object(analyzeBotsTool.inputSchema).parse({ paths: [path], verifyBots: false });
    const tlsArgs = z
      .object(checkTlsTool.inputSchema)
      .parse({ targets: ['127.0.0.1:9'], caFile: join(allowed, 'logs', 'ca.pem'), checkProtocols: false });

    const done = new Promise<number>((resolve, reject) => {
      worker = new Worker(SWAPPER, {
        eval: true,
        workerData: { allowed, outside, stopAt: Date.now() + 120_000 },
      });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    void done.catch(() => undefined);

    const calls: Array<() => Promise<unknown>> = [];
    for (let i = 0; i < 150; i++) {
      calls.push(() => analyzeBotsTool.handler(botArgs(join(allowed, 'logs', 'access.log')), ctx));
      calls.push(() => analyzeBotsTool.handler(botArgs(join(allowed, 'swapdir', 'access.log')), ctx));
      calls.push(() => checkTlsTool.handler(tlsArgs, ctx));
    }
    const outcomes: Array<Awaited<ReturnType<typeof settle>>> = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < calls.length) {
          const call = calls[next++] as () => Promise<unknown>;
          outcomes.push(await settle(call()));
        }
      }),
    );
    await worker?.terminate();

    const hung = outcomes.filter((o) => 'hung' in o).length;
    const texts = outcomes.map((o) =>
      'ok' in o ? JSON.stringify(o.ok) : 'err' in o ? String((o.err as Error).message) : '',
    );
    const leaked = texts.filter(
      (t) => t.includes(OUTSIDE_IP) || t.includes(OUTSIDE_TEXT) || /holds no PEM/.test(t),
    );
    const insideReads = texts.filter((t) => t.includes(INSIDE_IP)).length;
    const unexpected = outcomes.filter((o) => 'err' in o && !(o.err instanceof ToolError));
    console.log(
      `file swap race: ${outcomes.length} calls, ${insideReads} read the inside log, ${leaked.length} leaked outside content, ${hung} hung`,
    );
    expect(hung).toBe(0);
    expect(leaked).toEqual([]);
    expect(unexpected.map((o) => String((o as { err: Error }).err?.stack))).toEqual([]);
    // The race was real: some calls read the log, others met a link or a FIFO.
    expect(insideReads).toBeGreaterThan(0);
    expect(
      texts.filter((t) => /outside the allowed paths|replaced|not a regular file|changed/.test(t)).length,
    ).toBeGreaterThan(0);
  }, 300_000);
});
