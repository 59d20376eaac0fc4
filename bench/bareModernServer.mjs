// The 2026-07-28 peer: a bare SDK v2 server built the way the SDK's examples build one
// (createMcpHandler with a per-request factory, one trivial tool, toNodeHandler on express).
// Same SDK, same express, none of our layers.
import { createMcpExpressApp } from '@modelcontextprotocol/express';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { readFileSync } from 'node:fs';
import { createMcpHandler, fromJsonSchema, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';

// BARE_TOOLS_FILE (bench/modern.mjs): list these tool definitions instead, as JSON Schema, so the
// listing is as large as ours; their handlers only echo.
const listed = process.env.BARE_TOOLS_FILE
  ? JSON.parse(readFileSync(process.env.BARE_TOOLS_FILE, 'utf8'))
  : undefined;

const handler = createMcpHandler(() => {
  const server = new McpServer({ name: 'bare', version: '1.0.0' });
  for (const t of listed ?? [])
    server.registerTool(
      t.name,
      {
        title: t.title,
        description: t.description,
        inputSchema: fromJsonSchema(t.inputSchema),
        ...(t.outputSchema ? { outputSchema: fromJsonSchema(t.outputSchema) } : {}),
        annotations: t.annotations,
      },
      async () => ({ content: [{ type: 'text', text: 'hi' }] }),
    );
  server.registerTool(
    'echo',
    {
      description: 'Returns its input',
      inputSchema: z.object({ text: z.string().default('hi') }),
      outputSchema: z.object({ text: z.string() }),
    },
    async ({ text }) => ({ content: [{ type: 'text', text }], structuredContent: { text } }),
  );
  return server;
});
const node = toNodeHandler(handler);
const app = createMcpExpressApp();
app.all('/mcp', (req, res) => node(req, res, req.body));
app.listen(Number(process.env.PORT ?? 3002), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
