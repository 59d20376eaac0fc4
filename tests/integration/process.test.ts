import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import {
  connectClient,
  fixtureHostEnv,
  MCP_HEADERS,
  ROOT,
  rpcMessages,
  spawnServer,
  tempDataDir,
} from '../helpers/servers.js';

const run = promisify(execFile);
const SERVER = join(ROOT, 'dist', 'server.js');

describe('the built server process', () => {
  it('prints its version and help', async () => {
    const { stdout } = await run(process.execPath, [SERVER, '--version']);
    expect(stdout.trim()).toBe('0.1.0');
    const help = await run(process.execPath, [SERVER, '--help']);
    expect(help.stdout).toContain('--stdio');
  });

  it('stops with exit code 2 and one clear line on a bad setting', async () => {
    const err = await run(process.execPath, [SERVER], { env: { ...process.env, PORT: 'eighty' } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 2 });
    const stderr = (err as { stderr: string }).stderr;
    expect(stderr).toBe(
      'server-audit-mcp: Invalid PORT (got "eighty"): must be a whole number from 0 to 65535\n',
    );
  });

  it('drains on SIGTERM: the call in flight finishes, then it exits 0', async () => {
    const s = await spawnServer({ ...fixtureHostEnv('debian'), SHUTDOWN_GRACE_SECONDS: '10' });
    const client = await connectClient(s.url);
    const transport = (client as unknown as { _transport: { sessionId?: string } })._transport;
    const sessionId = transport.sessionId as string;
    await client.close().catch(() => {});

    // A tools/call whose body is only half sent: in flight from the server's point of view.
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'detect_system', arguments: { maxAgeSeconds: 0 } },
    });
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        s.url,
        {
          method: 'POST',
          headers: {
            ...MCP_HEADERS,
            'mcp-session-id': sessionId,
            'mcp-protocol-version': '2025-11-25',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 20));
      setTimeout(() => {
        s.child.kill('SIGTERM');
        // Still running while the request is unfinished.
        setTimeout(() => {
          expect(s.child.exitCode).toBeNull();
          req.end(body.slice(20));
        }, 500);
      }, 100);
    });
    const res = await response;
    expect(res.status).toBe(200);
    expect(rpcMessages(res.body)[0]).toMatchObject({
      id: 7,
      result: { structuredContent: { hostname: 'web01' } },
    });
    expect(await s.exit).toBe(0);
    // New connections are refused once draining started.
    await expect(fetch(s.url.replace(/\/mcp$/, '/health'))).rejects.toThrow();
    expect(s.stderr()).toBe('');
  });

  it('serves the same tools over stdio, logging only to stderr', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [SERVER, '--stdio'],
      env: {
        ...(process.env as Record<string, string>),
        ...fixtureHostEnv('alma-cpanel'),
        LOG_LEVEL: 'debug',
        DATA_DIR: tempDataDir(),
      },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d) => {
      stderr += d;
    });
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    await client.connect(transport);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('detect_system');
    const res = await client.callTool({ name: 'detect_system', arguments: {} });
    expect(res.structuredContent).toMatchObject({
      hostname: 'server1.example.net',
      controlPanel: { name: 'cpanel' },
    });
    await client.close();
    // Protocol on stdout (the client parsed it), logs as JSON lines on stderr.
    expect(stderr).toContain('"msg":"serving on stdio"');
  });
});

/** The exit code, or `'running'` if the process is still up after `ms` (a generous bound: a hang, not a slow exit). */
function exitWithin(child: ChildProcess, ms: number): Promise<number | null | 'running'> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('running'), ms);
    // 'close': exited, and what it wrote to stderr has been read.
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

// The reader of the server's stdout (a log collector, a parent) dies and the pipe closes.
// Logging just before exiting used to hang the exit for ever (pino's exit hook looping on
// EPIPE inside process.exit()): SIGTERM left the process running, orphans stayed up.
describe('a server whose stdout reader is gone', () => {
  it('HTTP, SIGTERM right after the log pipe closed: exits 0 promptly', async () => {
    const s = await spawnServer();
    try {
      s.child.stdout?.destroy();
      s.child.kill('SIGTERM');
      expect(await exitWithin(s.child, 15_000)).toBe(0);
      expect(s.stderr()).toContain('cannot write logs to stdout (EPIPE)');
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  it('HTTP, log pipe closed while serving: keeps serving, says so once on stderr, then SIGTERM exits 0', async () => {
    const s = await spawnServer({ LOG_LEVEL: 'debug' });
    try {
      s.child.stdout?.destroy();
      // Each session logs, and each call writes an audit record: EPIPE on the log stream.
      for (let i = 0; i < 3; i++) {
        const client = await connectClient(s.url);
        const res = await client.callTool({ name: 'detect_system', arguments: {} });
        expect(res.isError).toBeFalsy();
        await client.close();
      }
      const health = await fetch(s.url.replace(/\/mcp$/, '/health'));
      expect(health.status).toBe(200);
      expect(s.child.exitCode).toBeNull();
      expect(s.stderr().match(/cannot write logs to stdout/g)).toHaveLength(1);
      s.child.kill('SIGTERM');
      expect(await exitWithin(s.child, 15_000)).toBe(0);
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  it('HTTP, log reader alive but stalled (the pipe fills up): keeps serving, SIGTERM exits 0', async () => {
    const s = await spawnServer({ LOG_LEVEL: 'debug' });
    try {
      s.child.stdout?.pause();
      // 2,000 rejected requests, one access-log line each: far more than a pipe buffer holds.
      for (let b = 0; b < 100; b++)
        await Promise.all(
          Array.from({ length: 20 }, async () => {
            const res = await fetch(s.url, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: '{not json',
            });
            expect(res.status).toBe(400);
            await res.body?.cancel();
          }),
        );
      const health = await fetch(s.url.replace(/\/mcp$/, '/health'));
      expect(health.status).toBe(200);
      s.child.kill('SIGTERM');
      // The queued records get at most LOG_SETTLE_MS (2 s), then the exit goes ahead.
      expect(await exitWithin(s.child, 15_000)).toBe(0);
    } finally {
      s.child.kill('SIGKILL');
    }
  }, 60_000);

  it('stdio, stdout closed by the client: the next answer fails and the server exits 0', async () => {
    const child = spawn(process.execPath, [SERVER, '--stdio'], {
      env: { ...process.env, LOG_LEVEL: 'info', DATA_DIR: tempDataDir() },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    try {
      let stderr = '';
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stderr }).on('line', (l) => {
          stderr += `${l}\n`;
          if (l.includes('serving on stdio')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
      });
      child.stdout.destroy();
      // stdin stays open: only the failed write tells the server its client is gone.
      child.stdin.write(
        `${JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-11-25',
            capabilities: {},
            clientInfo: { name: 'gone', version: '1' },
          },
        })}\n`,
      );
      expect(await exitWithin(child, 15_000)).toBe(0);
      expect(stderr).toContain('"reason":"stdout closed"');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('stdio, SIGTERM after the client closed stdout: exits 0', async () => {
    const child = spawn(process.execPath, [SERVER, '--stdio'], {
      env: { ...process.env, LOG_LEVEL: 'info', DATA_DIR: tempDataDir() },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stderr }).on(
          'line',
          (l) => l.includes('serving on stdio') && resolve(),
        );
        child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      });
      child.stdout.destroy();
      child.kill('SIGTERM');
      expect(await exitWithin(child, 15_000)).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
