import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHttp } from '../../src/runtime.js';
import { MemorySessionStore } from '../../src/session/memorySessionStore.js';
import {
  connectClient,
  fixtureHostEnv,
  initializeBody,
  MCP_HEADERS,
  rawRequest,
  rpcMessages,
  startInProcess,
} from '../helpers/servers.js';

let server: RunningHttp;
let client: Client;

beforeAll(async () => {
  server = await startInProcess({ ...fixtureHostEnv('debian'), MAX_BODY_BYTES: '4096' });
  client = await connectClient(server.url);
});

afterAll(async () => {
  await client?.close();
  await server?.shutdown('test done');
});

/** Opens a session with raw HTTP and returns its id. */
async function openSession(protocolVersion = '2025-11-25'): Promise<string> {
  const res = await rawRequest(server.url, { headers: MCP_HEADERS, body: initializeBody(protocolVersion) });
  expect(res.status).toBe(200);
  const id = res.headers['mcp-session-id'];
  expect(typeof id).toBe('string');
  return id as string;
}

describe('MCP over streamable HTTP', () => {
  it('initializes and reports the server identity and capabilities', () => {
    expect(client.getServerVersion()).toMatchObject({ name: 'server-audit-mcp', version: '0.1.0' });
    expect(client.getServerCapabilities()).toMatchObject({ tools: {}, logging: {} });
  });

  it('lists tools, each with an output schema; honest about the ones that write baselines', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('detect_system');
    // run_health_check saves a baseline by default, check_database when asked: they write but
    // destroy nothing; delete_baselines destroys; every other tool only reads.
    const writes = new Set(['run_health_check', 'check_database', 'delete_baselines', 'fleet_health']);
    for (const t of tools) {
      expect(t.outputSchema, t.name).toMatchObject({ type: 'object' });
      expect(t.title, t.name).toBeTruthy();
      expect(t.annotations?.readOnlyHint, t.name).toBe(!writes.has(t.name));
      expect(t.annotations?.destructiveHint, t.name).toBe(t.name === 'delete_baselines');
    }
  });

  it('calls detect_system against the configured host tree', async () => {
    const res = await client.callTool({ name: 'detect_system', arguments: { maxAgeSeconds: 0 } });
    expect(res.isError).toBeFalsy();
    expect(res.structuredContent).toMatchObject({
      hostname: 'web01',
      os: { id: 'debian', version: '12' },
      controlPanel: { name: 'none' },
      cacheAgeSeconds: 0,
    });
    const text = (res.content as Array<{ type: string; text: string }>)[0]?.text ?? '';
    expect(text).toMatch(/^web01: Debian GNU\/Linux 12 \(bookworm\)/);
    expect(text).toContain('nginx (running)');
  });

  it('serves a recent detect_system answer from its cache', async () => {
    await client.callTool({ name: 'detect_system', arguments: { maxAgeSeconds: 0 } });
    const res = await client.callTool({ name: 'detect_system', arguments: {} });
    expect(res.structuredContent).toMatchObject({ hostname: 'web01' });
    expect((res.structuredContent as { cacheAgeSeconds: number }).cacheAgeSeconds).toBeLessThanOrEqual(30);
  });

  it('answers a bad argument with a tool error naming the argument', async () => {
    const res = await client.callTool({ name: 'detect_system', arguments: { maxAgeSeconds: 'soon' } });
    expect(res.isError).toBe(true);
    const text = (res.content as Array<{ text: string }>)[0]?.text;
    expect(text).toMatch(/Invalid arguments for tool detect_system.*maxAgeSeconds/s);
  });

  it('answers an unknown tool with -32602 naming it (a protocol error since 2025-11-25)', async () => {
    await expect(client.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('Tool no_such_tool not found'),
    });
  });

  it('answers ping and logging/setLevel', async () => {
    await expect(client.ping()).resolves.toEqual({});
    await expect(client.setLoggingLevel('debug')).resolves.toEqual({});
    // The server only sends log messages it was asked for; setLevel must not break later calls.
    client.setNotificationHandler('notifications/message', () => {});
    expect((await client.callTool({ name: 'detect_system', arguments: {} })).isError).toBeFalsy();
  });

  it.each(['2025-03-26', '2025-06-18', '2025-11-25'])('negotiates protocol version %s', async (version) => {
    const res = await rawRequest(server.url, { headers: MCP_HEADERS, body: initializeBody(version) });
    expect(res.status).toBe(200);
    expect(rpcMessages(res.body)[0]).toMatchObject({ result: { protocolVersion: version } });
  });

  it('offers its latest version to a client asking for an unknown one', async () => {
    const res = await rawRequest(server.url, { headers: MCP_HEADERS, body: initializeBody('1999-01-01') });
    expect(rpcMessages(res.body)[0]).toMatchObject({ result: { protocolVersion: '2025-11-25' } });
  });

  it('ends a session on DELETE; the id is then unknown (404)', async () => {
    const id = await openSession();
    const headers = { ...MCP_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' };
    const del = await rawRequest(server.url, { method: 'DELETE', headers });
    expect(del.status).toBe(200);
    const after = await rawRequest(server.url, {
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(after.status).toBe(404);
    expect(JSON.parse(after.body)).toMatchObject({ error: { code: -32001 } });
  });

  it('answers an unknown session id with 404 and a JSON-RPC error', async () => {
    const res = await rawRequest(server.url, {
      headers: { ...MCP_HEADERS, 'mcp-session-id': 'f00dfeed-0000-4000-8000-000000000000' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32001, message: expect.stringMatching(/^Session not found/) },
    });
  });

  it('answers a request without a session that is not initialize with 400', async () => {
    const res = await rawRequest(server.url, {
      headers: MCP_HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error.message).toContain('initialize');
  });

  it('opens the server-to-client SSE stream on GET', async () => {
    const id = await openSession();
    const controller = new AbortController();
    const res = await fetch(server.url, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    controller.abort();
  });

  it('refuses a foreign Host header with 403 (DNS rebinding)', async () => {
    const res = await rawRequest(server.url, {
      headers: { ...MCP_HEADERS, host: 'evil.example.com' },
      body: initializeBody(),
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.message).toContain('evil.example.com');
  });

  it('refuses a foreign Origin with 403 and accepts a loopback one', async () => {
    const evil = await rawRequest(server.url, {
      headers: { ...MCP_HEADERS, origin: 'http://evil.example.com' },
      body: initializeBody(),
    });
    expect(evil.status).toBe(403);
    const local = await rawRequest(server.url, {
      headers: { ...MCP_HEADERS, origin: 'http://localhost:6274' },
      body: initializeBody(),
    });
    expect(local.status).toBe(200);
  });

  it('refuses a body over MAX_BODY_BYTES with 413 and a JSON-RPC error', async () => {
    const id = await openSession();
    const res = await rawRequest(server.url, {
      headers: { ...MCP_HEADERS, 'mcp-session-id': id },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping', params: { pad: 'x'.repeat(8000) } }),
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({
      error: { code: -32000, message: expect.stringContaining('4096') },
    });
  });

  it('answers malformed JSON with 400 and -32700, and keeps serving', async () => {
    const res = await rawRequest(server.url, { headers: MCP_HEADERS, body: '{"jsonrpc": "2.0", ' });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: -32700 } });
    await expect(client.ping()).resolves.toEqual({});
  });

  it('answers other methods on /mcp with 405', async () => {
    const res = await rawRequest(server.url, { method: 'PUT', headers: MCP_HEADERS, body: '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, POST, DELETE');
  });
});

describe('operational endpoints', () => {
  const base = () => server.url.replace(/\/mcp$/, '');

  it('reports liveness and readiness', async () => {
    expect(await (await fetch(`${base()}/health`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base()}/ready`);
    expect(ready.status).toBe(200);
  });

  it('exposes Prometheus metrics for requests, sessions and tool calls', async () => {
    await client.callTool({ name: 'detect_system', arguments: {} });
    await client.callTool({ name: 'detect_system', arguments: { maxAgeSeconds: -5 } });
    const res = await fetch(`${base()}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/mcp_http_requests_total\{method="POST",status="200"\} \d+/);
    expect(text).toMatch(/mcp_http_request_duration_seconds_bucket\{le="0.005",method="POST"\} \d+/);
    expect(text).toMatch(/mcp_sessions_active [1-9]\d*/);
    expect(text).toMatch(/mcp_tool_calls_total\{tool="detect_system",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/mcp_tool_call_duration_seconds_count\{tool="detect_system"\} [1-9]/);
    expect(text).toContain('process_cpu_user_seconds_total');
  });
});

describe('session expiry and draining', () => {
  it('expires an idle session after the TTL and answers it with 404', async () => {
    let now = Date.now();
    const store = new MemorySessionStore(60_000, () => now);
    const s = await startInProcess({ SESSION_TTL_SECONDS: '60' }, { store });
    try {
      const c = await connectClient(s.url);
      await c.ping();
      expect(s.app.sessions.size).toBe(1);
      now += 61_000;
      await s.app.sessions.sweep();
      expect(s.app.sessions.size).toBe(0);
      await expect(c.ping()).rejects.toThrow(/404|Session not found/);
      await c.close();
    } finally {
      await s.shutdown('test done');
    }
  });

  it('keeps a session alive while it is used', async () => {
    let now = Date.now();
    const store = new MemorySessionStore(60_000, () => now);
    const s = await startInProcess({ SESSION_TTL_SECONDS: '60' }, { store });
    try {
      const c = await connectClient(s.url);
      for (let i = 0; i < 3; i++) {
        now += 40_000;
        await c.ping();
      }
      await s.app.sessions.sweep();
      expect(s.app.sessions.size).toBe(1);
      await c.close();
    } finally {
      await s.shutdown('test done');
    }
  });

  it('turns /ready to 503 and refuses new sessions while draining', async () => {
    const s = await startInProcess();
    try {
      const c = await connectClient(s.url);
      s.lifecycle.drain();
      const ready = await fetch(s.url.replace(/\/mcp$/, '/ready'));
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'draining' });
      const init = await rawRequest(s.url, { headers: MCP_HEADERS, body: initializeBody() });
      expect(init.status).toBe(503);
      expect(JSON.parse(init.body).error.message).toContain('shutting down');
      // Existing sessions keep working until the drain ends.
      await expect(c.ping()).resolves.toEqual({});
      await c.close();
    } finally {
      await s.shutdown('test done');
    }
  });
});
