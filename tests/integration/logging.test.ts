import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { type RunningHttp, startHttp } from '../../src/runtime.js';
import { configFrom, connectClient, MCP_HEADERS, rawRequest } from '../helpers/servers.js';

let server: RunningHttp;
const lines: Array<Record<string, unknown>> = [];
let raw = '';

beforeAll(async () => {
  const sink = new PassThrough();
  sink.on('data', (d) => {
    raw += d;
    for (const l of String(d).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
  });
  const config = configFrom({ LOG_LEVEL: 'info' });
  server = await startHttp(config, createLogger('info', sink));
});

afterAll(async () => {
  await server?.shutdown('test done');
});

describe('request logs', () => {
  it('log one JSON line per request with request id and session id, and never a header value', async () => {
    const client = await connectClient(server.url);
    await client.callTool({ name: 'detect_system', arguments: {} });
    const secret = 'Bearer sk-live-ThisMustNeverBeLogged';
    const res = await rawRequest(server.url, {
      headers: {
        ...MCP_HEADERS,
        authorization: secret,
        cookie: 'sid=alsoSecret',
        'x-request-id': 'trace-42',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.headers['x-request-id']).toBe('trace-42');
    await client.close();
    await new Promise((r) => setTimeout(r, 50));

    const requests = lines.filter((l) => l.msg === 'request');
    expect(requests.length).toBeGreaterThanOrEqual(3);
    for (const l of requests) expect(l.requestId).toEqual(expect.any(String));
    const withSession = requests.filter((l) => typeof l.sessionId === 'string');
    expect(withSession.length).toBeGreaterThanOrEqual(2);
    expect(requests.find((l) => l.requestId === 'trace-42')).toMatchObject({
      method: 'POST',
      path: '/mcp',
      status: 400,
    });
    expect(raw).not.toContain('ThisMustNeverBeLogged');
    expect(raw).not.toContain('alsoSecret');
  });
});
