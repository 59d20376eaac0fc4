/**
 * The compatibility matrix: every kind of client a user may bring, against the real server over
 * real HTTP (and stdio, as a child process), then the same through two Redis-backed instances
 * behind HAProxy. Each row lists tools, calls detect_system, calls a tool that reports progress,
 * and gets a tool error for a bad argument.
 * - SDK v2 client pinned to 2026-07-28 (stateless, no handshake);
 * - SDK v2 client in its default 2025 mode (initialize, session);
 * - SDK v1 client (@modelcontextprotocol/sdk 1.x, kept as a dev dependency for exactly this);
 * - a raw fetch client sending hand-built 2026-07-28 requests.
 */
import { join } from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeysFile } from '../helpers/authTestBed.js';
import { type RedisPeer, requirePeer, startHaproxy, startRedis } from '../helpers/peers.js';
import { FIXTURES, ROOT, type SpawnedServer, spawnServer, tempDataDir } from '../helpers/servers.js';

const MODERN = '2026-07-28';
const HOST_ENV = {
  HOST_PROC: join(FIXTURES, 'health', 'healthy', 'proc'),
  HOST_SYS: join(FIXTURES, 'health', 'healthy', 'sys'),
  HOST_ROOT: join(FIXTURES, 'health', 'healthy', 'root'),
  RATE_LIMIT_PER_MINUTE: '0',
  RATE_LIMIT_BURST: '0',
};

interface Row {
  /** Protocol revision the row ended up speaking. */
  era(): string;
  toolNames(): Promise<string[]>;
  call(name: string, args: Record<string, unknown>, onProgress?: (p: number) => void): Promise<ToolAnswer>;
  close(): Promise<void>;
}
interface ToolAnswer {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
}

/** The SDK v2 client over HTTP, pinned to 2026-07-28 or in its default (2025) mode. */
async function v2Http(url: string, modern: boolean): Promise<Row> {
  const client = new ClientV2(
    { name: 'matrix-v2', version: '1.0.0' },
    modern ? { versionNegotiation: { mode: { pin: MODERN } } } : {},
  );
  await client.connect(new HttpV2(new URL(url)));
  return sdkRow(client, () => client.getProtocolEra() ?? '?');
}

async function v1Http(url: string): Promise<Row> {
  const client = new ClientV1({ name: 'matrix-v1', version: '1.0.0' });
  await client.connect(new HttpV1(new URL(url)));
  return v1Row(client);
}

/** v1's callTool takes a result schema before the options. */
function v1Row(client: ClientV1): Row {
  return {
    era: () => 'legacy',
    toolNames: async () => (await client.listTools()).tools.map((t) => t.name),
    call: async (name, args, onProgress) =>
      (await client.callTool(
        { name, arguments: args },
        undefined,
        onProgress ? { onprogress: (p) => onProgress(p.progress) } : undefined,
      )) as ToolAnswer,
    close: () => client.close(),
  };
}

const stdioParams = () => ({
  command: process.execPath,
  args: [join(ROOT, 'dist', 'server.js'), '--stdio'],
  env: {
    ...(process.env as Record<string, string>),
    ...HOST_ENV,
    DATA_DIR: tempDataDir(),
    LOG_LEVEL: 'warn',
  },
  cwd: '/',
  stderr: 'ignore' as const,
});

async function v2Stdio(modern: boolean): Promise<Row> {
  const client = new ClientV2(
    { name: 'matrix-v2-stdio', version: '1.0.0' },
    modern ? { versionNegotiation: { mode: { pin: MODERN } } } : {},
  );
  await client.connect(new StdioV2(stdioParams()));
  return sdkRow(client, () => client.getProtocolEra() ?? '?');
}

async function v1Stdio(): Promise<Row> {
  const client = new ClientV1({ name: 'matrix-v1-stdio', version: '1.0.0' });
  await client.connect(new StdioV1(stdioParams()));
  return v1Row(client);
}

function sdkRow(client: ClientV2, era: () => string): Row {
  return {
    era,
    toolNames: async () => (await client.listTools()).tools.map((t) => t.name),
    call: async (name, args, onProgress) =>
      (await client.callTool(
        { name, arguments: args },
        onProgress ? { onprogress: (p: { progress: number }) => onProgress(p.progress) } : undefined,
      )) as ToolAnswer,
    close: () => client.close(),
  };
}

/** Hand-built 2026-07-28 requests over fetch: no handshake, the envelope in every request. */
function rawModern(url: string): Row {
  let id = 0;
  const post = async (method: string, params: Record<string, unknown>, name?: string) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN,
        'mcp-method': method,
        ...(name ? { 'mcp-name': name } : {}),
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: ++id,
        method,
        params: {
          ...params,
          _meta: {
            ...(params._meta as object),
            'io.modelcontextprotocol/protocolVersion': MODERN,
            'io.modelcontextprotocol/clientInfo': { name: 'raw-fetch', version: '1' },
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      }),
    });
    const text = await res.text();
    // JSON, or SSE whose data lines are the messages (progress first, the response last).
    const messages = (res.headers.get('content-type') ?? '').includes('text/event-stream')
      ? text
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => JSON.parse(l.slice(5)) as Record<string, unknown>)
      : [JSON.parse(text) as Record<string, unknown>];
    return messages;
  };
  const resultOf = (messages: Array<Record<string, unknown>>) => {
    const last = messages.find((m) => 'result' in m || 'error' in m) as { result?: unknown; error?: unknown };
    if (last.error) throw Object.assign(new Error(JSON.stringify(last.error)), last.error);
    return last.result as Record<string, unknown>;
  };
  return {
    era: () => 'modern',
    toolNames: async () =>
      (resultOf(await post('tools/list', {})).tools as Array<{ name: string }>).map((t) => t.name),
    call: async (name, args, onProgress) => {
      const messages = await post(
        'tools/call',
        { name, arguments: args, ...(onProgress ? { _meta: { progressToken: 'p1' } } : {}) },
        name,
      );
      for (const m of messages)
        if (m.method === 'notifications/progress') onProgress?.((m.params as { progress: number }).progress);
      return resultOf(messages) as unknown as ToolAnswer;
    },
    close: async () => undefined,
  };
}

/** The four checks every row must pass. */
function matrix(name: string, open: () => Promise<Row>, expectedEra: string) {
  describe(name, () => {
    let row: Row;
    beforeAll(async () => {
      row = await open();
    }, 60_000);
    afterAll(async () => row?.close());

    it(`speaks the ${expectedEra} era`, () => {
      expect(row.era()).toBe(expectedEra);
    });

    it('lists the tools', async () => {
      const names = await row.toolNames();
      expect(names).toContain('detect_system');
      expect(names).toContain('run_health_check');
    });

    it('calls detect_system against the fixture host', async () => {
      const res = await row.call('detect_system', {});
      expect(res.isError).toBeFalsy();
      // The fixture host runs nginx (its /proc has the process): the answer describes that tree.
      expect(res.structuredContent?.webServers).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'nginx' })]),
      );
    });

    it('receives progress from run_health_check', async () => {
      const progress: number[] = [];
      const res = await row.call('run_health_check', { saveBaseline: false }, (p) => progress.push(p));
      expect(res.isError).toBeFalsy();
      expect(res.structuredContent).toHaveProperty('status');
      expect(progress.length).toBeGreaterThan(0);
    });

    it('gets a tool error naming a bad argument', async () => {
      const res = await row.call('check_tls', { targets: 'not-a-list' });
      expect(res.isError).toBe(true);
      expect(res.content[0]?.text).toMatch(/targets/);
    });
  });
}

describe('one instance over HTTP', () => {
  let server: SpawnedServer;
  beforeAll(async () => {
    server = await spawnServer(HOST_ENV);
  }, 60_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exit;
  });
  const url = () => server.url;
  matrix('SDK v2 client, 2026-07-28', () => v2Http(url(), true), 'modern');
  matrix('SDK v2 client, 2025 handshake', () => v2Http(url(), false), 'legacy');
  matrix('SDK v1 client', () => v1Http(url()), 'legacy');
  matrix('raw fetch, hand-built 2026-07-28 requests', async () => rawModern(url()), 'modern');
});

describe('stdio, started from / as a desktop client does', () => {
  matrix('SDK v2 client, 2026-07-28', () => v2Stdio(true), 'modern');
  matrix('SDK v2 client, 2025 handshake', () => v2Stdio(false), 'legacy');
  matrix('SDK v1 client', () => v1Stdio(), 'legacy');
});

const haveRedis = requirePeer('redis-server', 'redis-server');
const haveHaproxy = requirePeer('haproxy', 'haproxy');

describe.runIf(haveRedis && haveHaproxy)(
  'two Redis-backed instances behind HAProxy (round-robin, no stickiness)',
  () => {
    let redis: RedisPeer;
    const servers: SpawnedServer[] = [];
    let lb: { port: number; stop(): Promise<void> };
    beforeAll(async () => {
      redis = await startRedis();
      const env = { ...HOST_ENV, REDIS_URL: redis.url, REDIS_PREFIX: `compat${Date.now()}:` };
      servers.push(await spawnServer(env), await spawnServer(env));
      lb = await startHaproxy(servers.map((s) => Number(new URL(s.url).port)));
    }, 120_000);
    afterAll(async () => {
      await lb?.stop();
      for (const s of servers) s.child.kill('SIGTERM');
      await Promise.all(servers.map((s) => s.exit));
      await redis?.stop();
    });
    const url = () => `http://127.0.0.1:${lb.port}/mcp`;
    matrix('SDK v2 client, 2026-07-28', () => v2Http(url(), true), 'modern');
    matrix('SDK v2 client, 2025 handshake', () => v2Http(url(), false), 'legacy');
    matrix('SDK v1 client', () => v1Http(url()), 'legacy');
    matrix('raw fetch, hand-built 2026-07-28 requests', async () => rawModern(url()), 'modern');
  },
);

describe('authentication and scopes on both eras', () => {
  let server: SpawnedServer;
  let keys: Record<string, string>;
  beforeAll(async () => {
    const file = apiKeysFile({ reader: ['audit:read'], full: ['audit:read', 'audit:logs', 'audit:network'] });
    keys = file.keys;
    server = await spawnServer({ ...HOST_ENV, AUTH_API_KEYS_FILE: file.path });
  }, 60_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exit;
  });

  const modernPost = (body: Record<string, unknown>, headers: Record<string, string>) =>
    fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN,
        'mcp-method': String(body.method),
        ...headers,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        ...body,
        params: {
          ...(body.params as object),
          _meta: {
            'io.modelcontextprotocol/protocolVersion': MODERN,
            'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      }),
    });

  it('answers a modern request without a token with 401 and resource_metadata', async () => {
    const res = await modernPost({ id: 1, method: 'tools/list' }, {});
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/resource_metadata="[^"]+oauth-protected-resource/);
  });

  it('hides analyze_bots from a read-only key and refuses the call, in both eras', async () => {
    const auth = { Authorization: `Bearer ${keys.reader}` };
    // 2026-07-28, hand-built
    const list = (await (await modernPost({ id: 2, method: 'tools/list' }, auth)).json()) as {
      result: { tools: Array<{ name: string }> };
    };
    const names = list.result.tools.map((t) => t.name);
    expect(names).toContain('detect_system');
    expect(names).not.toContain('analyze_bots');
    const call = (await (
      await modernPost(
        {
          id: 3,
          method: 'tools/call',
          params: { name: 'analyze_bots', arguments: { paths: ['/var/log/x'] } },
        },
        { ...auth, 'mcp-name': 'analyze_bots' },
      )
    ).json()) as { result: { isError: boolean; content: Array<{ text: string }>; resultType: string } };
    expect(call.result).toMatchObject({ isError: true, resultType: 'complete' });
    expect(call.result.content[0]?.text).toContain('needs the audit:logs scope');
    // SDK v2 client, each era
    for (const modern of [true, false]) {
      const client = new ClientV2(
        { name: 'scoped', version: '1' },
        modern ? { versionNegotiation: { mode: { pin: MODERN } } } : {},
      );
      await client.connect(new HttpV2(new URL(server.url), { requestInit: { headers: auth } }));
      expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('analyze_bots');
      const res = await client.callTool({ name: 'analyze_bots', arguments: { paths: ['/var/log/x'] } });
      expect(res.isError).toBe(true);
      await client.close();
    }
  });

  it('lets no batch slip past the scope gate (2025 session)', async () => {
    const client = new ClientV2({ name: 'batch', version: '1' });
    const transport = new HttpV2(new URL(server.url), {
      requestInit: { headers: { Authorization: `Bearer ${keys.reader}` } },
    });
    await client.connect(transport);
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${keys.reader}`,
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify([
        { jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'detect_system', arguments: {} } },
        {
          jsonrpc: '2.0',
          id: 11,
          method: 'tools/call',
          params: { name: 'analyze_bots', arguments: { paths: ['/var/log/x'] } },
        },
      ]),
    });
    const text = await res.text();
    const answers = text
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map(
        (l) =>
          JSON.parse(l.slice(5)) as {
            id: number;
            result?: { isError?: boolean; content: Array<{ text: string }> };
          },
      );
    const denied = answers.find((a) => a.id === 11);
    expect(denied?.result?.isError).toBe(true);
    expect(denied?.result?.content[0]?.text).toContain('needs the audit:logs scope');
    expect(answers.find((a) => a.id === 10)?.result?.isError).toBeFalsy();
    await client.close();
  });

  it('refuses a modern batch outright (2026-07-28 has none)', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${keys.reader}`,
        'mcp-protocol-version': MODERN,
      },
      body: JSON.stringify([
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: {
            name: 'analyze_bots',
            arguments: { paths: ['/x'] },
            _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN },
          },
        },
      ]),
    });
    const body = await res.text();
    expect(body).not.toContain('"structuredContent"');
    expect(res.status).toBeGreaterThanOrEqual(400);
  });
});
