/**
 * A client's notifications/cancelled arrives in its own POST, on another transport (and in fleet
 * mode maybe another instance) than the call it cancels. The call must stop all the same: its
 * handler aborted (here: check_http drops its connection to a server that never answers), its
 * stream ended, its audit record "cancelled".
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/observability/auditLog.js';
import type { RunningHttp } from '../../src/runtime.js';
import { type RedisPeer, requirePeer, startRedis } from '../helpers/peers.js';
import {
  connectClient,
  fixtureHostEnv,
  initializeBody,
  MCP_HEADERS,
  rawRequest,
  type SpawnedServer,
  spawnServer,
  startInProcess,
} from '../helpers/servers.js';

/** Accepts connections and never answers; tells when a connection is closed by the client. */
interface Tarpit {
  port: number;
  closed: Promise<void>;
  server: Server;
}

function startTarpit(): Promise<Tarpit> {
  let onClose!: () => void;
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      onClose();
    });
    socket.on('error', () => undefined);
    socket.resume(); // read (and drop) the request: a paused socket never reports the peer's close
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ port: (server.address() as AddressInfo).port, closed, server }),
    ),
  );
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  ]);
}

const slowCall = (port: number) => ({
  name: 'check_http',
  arguments: { urls: [`http://127.0.0.1:${port}/`], timeoutMs: 30_000 },
});

describe('cancelling a call from another POST', () => {
  let server: RunningHttp;
  const records: AuditRecord[] = [];

  beforeAll(async () => {
    server = await startInProcess(
      { ...fixtureHostEnv('debian'), RETRY_COUNT: '0', TOOL_DEADLINE_SECONDS: '60' },
      { audit: (r) => records.push(r) },
    );
  });
  afterAll(async () => {
    await server?.shutdown('test done');
  });

  it('aborts the running handler and records the call as cancelled', async () => {
    const tarpit = await startTarpit();
    const client = await connectClient(server.url);
    const abort = new AbortController();
    const started = Date.now();
    const call = client.callTool(slowCall(tarpit.port), { signal: abort.signal, timeout: 60_000 });
    await new Promise((r) => setTimeout(r, 400));
    abort.abort('user changed their mind');
    await expect(call).rejects.toThrow();
    // The server dropped its connection to the tarpit: the handler really stopped.
    await within(tarpit.closed, 5000, 'check_http connection closed');
    await within(
      (async () => {
        while (!records.some((r) => r.tool === 'check_http')) await new Promise((r) => setTimeout(r, 20));
      })(),
      5000,
      'audit record',
    );
    const rec = records.find((r) => r.tool === 'check_http');
    expect(rec?.outcome).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(10_000);
    await client.close();
    tarpit.server.close();
  });
});

describe('cancelling a 2026-07-28 call: the client closes the request stream', () => {
  let server: RunningHttp;
  const records: AuditRecord[] = [];

  beforeAll(async () => {
    server = await startInProcess(
      { ...fixtureHostEnv('debian'), RETRY_COUNT: '0', TOOL_DEADLINE_SECONDS: '60' },
      { audit: (r) => records.push(r) },
    );
  });
  afterAll(async () => {
    await server?.shutdown('test done');
  });

  it('aborts the running handler and records the call as cancelled', async () => {
    const tarpit = await startTarpit();
    const client = new Client(
      { name: 'modern-cancel', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    expect(client.getProtocolEra()).toBe('modern');
    const abort = new AbortController();
    const call = client.callTool(slowCall(tarpit.port), { signal: abort.signal, timeout: 60_000 });
    await new Promise((r) => setTimeout(r, 400));
    abort.abort('user changed their mind');
    await expect(call).rejects.toThrow();
    // The server dropped its connection to the tarpit: the handler really stopped.
    await within(tarpit.closed, 15_000, 'check_http connection closed');
    await within(
      (async () => {
        while (!records.some((r) => r.tool === 'check_http')) await new Promise((r) => setTimeout(r, 20));
      })(),
      15_000,
      'audit record',
    );
    expect(records.find((r) => r.tool === 'check_http')?.outcome).toBe('cancelled');
    await client.close();
    tarpit.server.close();
  });
});

const haveRedis = requirePeer('redis-server', 'redis-server');

describe.skipIf(!haveRedis)('cancelling a call running on another instance (fleet mode)', () => {
  let redis: RedisPeer;
  const spawned: SpawnedServer[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const env = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: `c${Date.now()}:`,
      RETRY_COUNT: '0',
      ...fixtureHostEnv('debian'),
    };
    spawned.push(...(await Promise.all([spawnServer(env), spawnServer(env)])));
  }, 30_000);
  afterAll(async () => {
    for (const s of spawned) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await redis?.stop();
  });

  it('forwards the cancellation through Redis: the call on A ends with -32800 when B hears the cancel', async () => {
    const [a, b] = spawned as [SpawnedServer, SpawnedServer];
    const tarpit = await startTarpit();
    const init = await rawRequest(a.url, { headers: MCP_HEADERS, body: initializeBody() });
    const session = init.headers['mcp-session-id'] as string;
    const headers = { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
    const call = rawRequest(a.url, {
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: slowCall(tarpit.port) }),
    });
    await new Promise((r) => setTimeout(r, 500));
    const cancel = await rawRequest(b.url, {
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7 } }),
    });
    expect(cancel.status).toBe(202);
    const res = await within(call, 5000, 'the call on A');
    expect(res.body).toMatch(/"id":7/);
    expect(res.body).toMatch(/-32800/);
    await within(tarpit.closed, 5000, 'check_http connection closed on A');
    tarpit.server.close();
  });
});
