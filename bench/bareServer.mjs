// The legacy-era peer: a bare SDK v2 streamable-HTTP server with one trivial tool, written the
// way the SDK's own examples do (createMcpExpressApp, one sessionful transport per session in a
// Map). Same SDK, same express, none of our layers: the ratio shows what our server adds.
import { randomUUID } from 'node:crypto';
import { createMcpExpressApp } from '@modelcontextprotocol/express';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { isInitializeRequest, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';

const transports = new Map();
const app = createMcpExpressApp();

app.all('/mcp', async (req, res) => {
  const id = req.header('mcp-session-id');
  let transport = id ? transports.get(id) : undefined;
  if (!transport) {
    if (id || !isInitializeRequest(req.body)) {
      res
        .status(id ? 404 : 400)
        .json({ jsonrpc: '2.0', error: { code: -32000, message: 'bad session' }, id: null });
      return;
    }
    transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => transports.set(sid, transport),
    });
    const server = new McpServer({ name: 'bare', version: '1.0.0' });
    server.registerTool(
      'echo',
      {
        description: 'Returns its input',
        inputSchema: z.object({ text: z.string().default('hi') }),
        outputSchema: z.object({ text: z.string() }),
      },
      async ({ text }) => ({ content: [{ type: 'text', text }], structuredContent: { text } }),
    );
    await server.connect(transport);
  }
  await transport.handleRequest(req, res, req.body);
});

app.listen(Number(process.env.PORT ?? 3001), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
