/**
 * The size of tools/list, which every conversation pays for (issue 18). Lists the tools over a
 * real HTTP client, prints the figures, and fails over budget:
 * - the part a model reads (name, title, description, input schema of every tool) at most
 *   4,000 tokens (o200k_base, the tokenizer of GPT-4o-class models, via gpt-tokenizer);
 * - the whole tools/list result at most 30 KB.
 * Before issue 18: 74,346 bytes and 6,980 tokens (see BENCHMARKS.md).
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { encode } from 'gpt-tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHttp } from '../../src/runtime.js';
import { startInProcess } from '../helpers/servers.js';

const TOKEN_BUDGET = 4000;
const BYTE_BUDGET = 30_000;

async function listTools(url: string) {
  const client = new Client({ name: 'budget', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    return await client.listTools();
  } finally {
    await client.close();
  }
}

describe('tools/list budget', () => {
  let server: RunningHttp;
  let listed: Awaited<ReturnType<typeof listTools>>;
  beforeAll(async () => {
    server = await startInProcess();
    listed = await listTools(server.url);
  });
  afterAll(() => server.shutdown('test done'));

  it('fits the model-read token budget and the byte budget', () => {
    const bytes = Buffer.byteLength(JSON.stringify(listed));
    const perTool = listed.tools.map((t) => ({
      name: t.name,
      tokens: encode(
        JSON.stringify({
          name: t.name,
          title: t.title,
          description: t.description,
          inputSchema: t.inputSchema,
        }),
      ).length,
      bytes: Buffer.byteLength(JSON.stringify(t)),
    }));
    const tokens = perTool.reduce((a, t) => a + t.tokens, 0);
    console.log(
      `tools/list: ${listed.tools.length} tools, ${bytes} bytes (budget ${BYTE_BUDGET}), ` +
        `${tokens} model-read tokens (budget ${TOKEN_BUDGET})\n` +
        perTool
          .map((t) => `  ${t.name.padEnd(22)} ${String(t.tokens).padStart(4)} tokens ${t.bytes} bytes`)
          .join('\n'),
    );
    // Issue 18 set the budget for the 14 tools it listed; issue 19 added list_hosts and
    // fleet_health. The 14 are held to the budget as set (their share of the listing), and the
    // whole list to the same budget per tool.
    const original = perTool.filter((t) => t.name !== 'list_hosts' && t.name !== 'fleet_health');
    const originalTokens = original.reduce((a, t) => a + t.tokens, 0);
    const originalBytes = original.reduce((a, t) => a + t.bytes, 0);
    console.log(`the 14 tools of issue 18: ${originalBytes} bytes, ${originalTokens} model-read tokens`);
    expect(original).toHaveLength(14);
    expect(originalTokens).toBeLessThanOrEqual(TOKEN_BUDGET);
    expect(originalBytes).toBeLessThanOrEqual(BYTE_BUDGET);
    expect(listed.tools).toHaveLength(16);
    expect(tokens).toBeLessThanOrEqual((TOKEN_BUDGET * 16) / 14);
    expect(bytes).toBeLessThanOrEqual((BYTE_BUDGET * 16) / 14);
  });

  it('uses no `type: [X, "null"]` (some client validators reject it) and shares the finding schema', () => {
    const text = JSON.stringify(listed);
    expect(text).not.toMatch(/"type":\[/);
    for (const t of listed.tools) {
      const out = t.outputSchema as { properties: Record<string, unknown>; $defs?: Record<string, unknown> };
      const findings = out.properties.findings as { items?: { $ref?: string } } | undefined;
      if (findings?.items?.$ref) {
        expect(findings.items.$ref).toBe('#/$defs/finding');
        expect(Object.keys(out.$defs ?? {}).sort()).toEqual(['finding', 'severity']);
      }
    }
    const withSharedFindings = listed.tools.filter((t) =>
      JSON.stringify(t.outputSchema).includes('#/$defs/finding'),
    );
    expect(withSharedFindings.map((t) => t.name)).toEqual(
      expect.arrayContaining(['run_health_check', 'check_clock', 'check_dns', 'check_database']),
    );
  });

  it('keeps what a model needs to call each tool: a description, every argument, the defaults', () => {
    for (const t of listed.tools) {
      expect(t.description?.length, t.name).toBeGreaterThan(40);
      expect(t.inputSchema.type).toBe('object');
    }
    const health = listed.tools.find((t) => t.name === 'run_health_check');
    expect(health?.description).toContain('saveBaseline');
    expect(health?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    const props = health?.inputSchema.properties as Record<string, { default?: unknown }>;
    expect(props.saveBaseline?.default).toBe(true);
    expect(props.cpuSampleMs?.default).toBe(250);
  });
});

describe('TOOLSETS over HTTP', () => {
  it('offers only the named groups; calling another tool fails', async () => {
    const server = await startInProcess({ TOOLSETS: 'network' });
    try {
      const names = (await listTools(server.url)).tools.map((t) => t.name).sort();
      expect(names).toEqual(['check_clock', 'check_dns', 'check_http', 'check_tls']);
      const client = new Client({ name: 'toolsets', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
      try {
        await expect(client.callTool({ name: 'detect_system', arguments: {} })).rejects.toThrow(
          /detect_system/,
        );
      } finally {
        await client.close();
      }
    } finally {
      await server.shutdown('test done');
    }
  });
});
