import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FileBaselineStore } from '../../src/baselines/fileBaselineStore.js';
import { createMcpServer } from '../../src/mcp/createMcpServer.js';
import { createOutbound } from '../../src/net/outbound.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { defineTool, ToolError } from '../../src/tools/types.js';
import { configFrom } from '../helpers/servers.js';

// Tools that fail on purpose, to exercise the registry's wrapper (the real tools rarely fail).
const failing = defineTool({
  name: 'fail_on_demand',
  title: 'Fail on demand',
  description: 'Test tool',
  inputSchema: { mode: z.enum(['refuse', 'crash', 'progress']) },
  outputSchema: { ok: z.boolean() },
  scope: 'audit:read',
  annotations: { readOnlyHint: true },
  async handler({ mode }, ctx) {
    if (mode === 'refuse')
      throw new ToolError('No such log file: /var/log/nope.log. Pass a path under /var/log.');
    if (mode === 'crash') {
      const err = new Error('EACCES: permission denied, open /secret/internal/path') as NodeJS.ErrnoException;
      err.code = 'EACCES';
      throw err;
    }
    await ctx.progress(1, 2, 'half');
    await ctx.progress(2, 2, 'done');
    return { structured: { ok: true }, summary: 'ok' };
  },
});

const metrics = createMetrics(() => 0);
let client: Client;
const dataDir = mkdtempSync(join(tmpdir(), 'wrapper-test-'));
const baselines = new FileBaselineStore({ dir: dataDir, maxCount: 10, maxBytes: 1024 * 1024 });

beforeAll(async () => {
  const server = createMcpServer({
    config: configFrom({}),
    logger: createLogger('silent'),
    metrics,
    baselines,
    outbound: createOutbound(configFrom({})),
    tools: [failing],
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  client = new Client({ name: 'wrapper-test', version: '1' });
  await client.connect(b);
});

afterAll(async () => {
  await client.close();
  await baselines.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('tool registry wrapper', () => {
  it('passes a ToolError message to the caller as a tool error', async () => {
    const res = await client.callTool({ name: 'fail_on_demand', arguments: { mode: 'refuse' } });
    expect(res).toMatchObject({
      isError: true,
      content: [{ type: 'text', text: 'No such log file: /var/log/nope.log. Pass a path under /var/log.' }],
    });
  });

  it('reports an unexpected error without internals, and counts it', async () => {
    const res = await client.callTool({ name: 'fail_on_demand', arguments: { mode: 'crash' } });
    expect(res.isError).toBe(true);
    const text = (res.content as Array<{ text: string }>)[0]?.text ?? '';
    expect(text).toBe(
      'fail_on_demand failed unexpectedly (EACCES). The server log has the details; retry, and report it if it persists.',
    );
    expect(text).not.toContain('/secret');
    const m = await metrics.registry.getSingleMetricAsString('mcp_tool_calls_total');
    expect(m).toContain('mcp_tool_calls_total{tool="fail_on_demand",outcome="error"} 1');
    expect(m).toContain('mcp_tool_calls_total{tool="fail_on_demand",outcome="refused"} 1');
  });

  it('sends progress notifications when the client asks for them', async () => {
    const seen: Array<{ progress: number; total?: number; message?: string }> = [];
    const res = await client.callTool(
      { name: 'fail_on_demand', arguments: { mode: 'progress' } },
      {
        onprogress: (p) => seen.push(p),
      },
    );
    expect(res.structuredContent).toEqual({ ok: true });
    expect(seen).toEqual([
      { progress: 1, total: 2, message: 'half' },
      { progress: 2, total: 2, message: 'done' },
    ]);
  });
});
