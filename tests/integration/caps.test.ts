/**
 * Resource caps (issue 17): a batch counts as its number of calls against the rate limit; each
 * principal has a bounded number of tool calls running and GET streams open; requests without
 * credentials are rate-limited per IP where authentication is required; a hostile session id
 * never reaches a log line verbatim.
 */
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningHttp } from '../../src/runtime.js';
import { apiKeysFile } from '../helpers/authTestBed.js';
import {
  fixtureHostEnv,
  initializeBody,
  MCP_HEADERS,
  rawRequest,
  rpcMessages,
  startInProcess,
} from '../helpers/servers.js';

let server: RunningHttp | undefined;
afterEach(async () => {
  await server?.shutdown('test done');
  server = undefined;
});

async function session(url: string): Promise<Record<string, string>> {
  const init = await rawRequest(url, { headers: MCP_HEADERS, body: initializeBody() });
  const headers = {
    ...MCP_HEADERS,
    'mcp-session-id': init.headers['mcp-session-id'] as string,
    'mcp-protocol-version': '2025-11-25',
  };
  await rawRequest(url, { headers, body: '{"jsonrpc":"2.0","method":"notifications/initialized"}' });
  return headers;
}

const batch = (n: number) =>
  JSON.stringify(
    Array.from({ length: n }, (_, i) => ({
      jsonrpc: '2.0',
      id: i + 1,
      method: 'tools/call',
      params: { name: 'detect_system', arguments: { maxAgeSeconds: 0 } },
    })),
  );

describe('caps', () => {
  it('counts a batch as its number of calls against the rate limit', async () => {
    server = await startInProcess({
      ...fixtureHostEnv('debian'),
      RATE_LIMIT_PER_MINUTE: '12',
      RATE_LIMIT_BURST: '0',
    });
    const headers = await session(server.url); // initialize + initialized: 2 points
    expect((await rawRequest(server.url, { headers, body: batch(8) })).status).toBe(200); // 10
    const over = await rawRequest(server.url, { headers, body: batch(8) }); // 18 > 12
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('refuses tool calls beyond MAX_CONCURRENT_CALLS_PER_PRINCIPAL with a tool error naming the setting', async () => {
    server = await startInProcess({ ...fixtureHostEnv('debian'), MAX_CONCURRENT_CALLS_PER_PRINCIPAL: '2' });
    const headers = await session(server.url);
    const res = await rawRequest(server.url, { headers, body: batch(5) });
    const answers = rpcMessages(res.body) as Array<{
      id: number;
      result: { isError?: boolean; content: Array<{ text: string }> };
    }>;
    expect(answers).toHaveLength(5);
    const refused = answers.filter((a) => a.result.isError);
    expect(refused).toHaveLength(3);
    for (const a of refused)
      expect(a.result.content[0]?.text).toContain('MAX_CONCURRENT_CALLS_PER_PRINCIPAL');
    // The slots come back: the next calls run.
    const again = rpcMessages(
      (await rawRequest(server.url, { headers, body: batch(2) })).body,
    ) as typeof answers;
    expect(again.filter((a) => a.result.isError)).toHaveLength(0);
  });

  it('caps GET streams per principal (429) and frees the slot when a stream closes', async () => {
    server = await startInProcess({ MAX_STREAMS_PER_PRINCIPAL: '1' });
    const a = await session(server.url);
    const b = await session(server.url);
    const open = (headers: Record<string, string>) =>
      new Promise<{ status: number; close: () => void }>((resolve, reject) => {
        const req = httpRequest(
          server!.url,
          { method: 'GET', headers: { ...headers, accept: 'text/event-stream' } },
          (res) => resolve({ status: res.statusCode ?? 0, close: () => req.destroy() }),
        );
        req.on('error', reject);
        req.end();
      });
    const first = await open(a);
    expect(first.status).toBe(200);
    const second = await open(b);
    expect(second.status).toBe(429);
    second.close();
    first.close();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const s = await open(b);
      status = s.status;
      s.close();
    }
    expect(status).toBe(200);
    const metrics = await (await fetch(server.url.replace('/mcp', '/metrics'))).text();
    expect(metrics).toMatch(/^mcp_get_streams \d+/m);
  });

  it('rate-limits requests without credentials per IP where authentication is required', async () => {
    const { path } = apiKeysFile({ reader: ['audit:read'] });
    server = await startInProcess({
      AUTH_API_KEYS_FILE: path,
      RATE_LIMIT_PER_MINUTE: '3',
      RATE_LIMIT_BURST: '0',
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await rawRequest(server.url, { headers: MCP_HEADERS, body: initializeBody() })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });
});
