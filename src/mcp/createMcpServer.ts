import { readFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { BaselineStore } from '../baselines/types.js';
import type { Config } from '../config.js';
import type { Outbound } from '../net/outbound.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { tools as allTools } from '../tools/index.js';
import { redactUrlsInText } from '../observability/argDigest.js';
import { registerBaselineResources } from './baselineResources.js';
import { registerPrompts } from './prompts.js';
import type { SessionSlot } from './httpSessions.js';
import { type ToolContext, type ToolDefinition, ToolError } from '../tools/types.js';

/** package.json sits one level above both src/ (tests) and dist/ (built). */
export const VERSION: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;

type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ServerDeps {
  config: Config;
  logger: Logger;
  baselines: BaselineStore;
  outbound: Outbound;
  /** Which HTTP session this (pooled) server serves at the moment; stdio has none. */
  session?: SessionSlot;
  metrics?: Metrics;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see tools/index.ts
  tools?: ToolDefinition<any, any>[];
}

/**
 * One McpServer per session (the SDK binds a server to one transport). Cheap: registering
 * a handful of tools is a few object allocations.
 */
export function createMcpServer(deps: ServerDeps): McpServer {
  const server = new McpServer(
    { name: 'server-audit-mcp', title: 'Server audit', version: VERSION },
    {
      capabilities: { logging: {} },
      instructions:
        'Audit tools for the host this server runs on (or the host whose /proc, /sys and / it mounts). ' +
        'Start with detect_system to learn what the box is, run_health_check to judge it, and compare_baselines ' +
        'to see what changed. Every tool but delete_baselines is read-only. The prompts full_server_audit, ' +
        'bot_incident_triage and tls_renewal_check walk through common audits.',
    },
  );
  for (const tool of deps.tools ?? allTools) registerTool(server, tool, deps);
  registerBaselineResources(server, deps.baselines);
  registerPrompts(server, deps);
  return server;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see tools/index.ts
function registerTool(server: McpServer, tool: ToolDefinition<any, any>, deps: ServerDeps): void {
  const { config, logger, metrics, baselines, outbound, session } = deps;
  server.registerTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputSchema,
      outputSchema: tool.outputSchema,
      annotations: tool.annotations,
    },
    async (args: Record<string, unknown>, extra: ToolExtra): Promise<CallToolResult> => {
      const stopTimer = metrics?.toolDuration.startTimer({ tool: tool.name });
      // Read once, now: a pooled server may serve another session after this response ends.
      const current = session?.current;
      const sessionId = current?.sessionId ?? extra.sessionId;
      const log = logger.child({ sessionId, rpcId: extra.requestId, tool: tool.name });
      const progressToken = extra._meta?.progressToken;
      const ctx: ToolContext = {
        config,
        host: { proc: config.HOST_PROC, sys: config.HOST_SYS, root: config.HOST_ROOT },
        logger: log,
        baselines,
        outbound,
        signal: extra.signal,
        notify(notification) {
          if (current) current.notify({ jsonrpc: '2.0', ...notification });
          else void extra.sendNotification(notification as ServerNotification).catch(() => undefined);
        },
        async progress(progress, total, message) {
          if (progressToken === undefined) return;
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken, progress, total, message },
          });
        },
      };
      try {
        const result = await tool.handler(args, ctx);
        metrics?.toolCalls.inc({ tool: tool.name, outcome: 'ok' });
        return {
          content: [{ type: 'text', text: result.summary }],
          structuredContent: result.structured as Record<string, unknown>,
        };
      } catch (err) {
        // "refused": the caller can fix it (ToolError); "error": the server failed. Alerts want the latter.
        metrics?.toolCalls.inc({ tool: tool.name, outcome: err instanceof ToolError ? 'refused' : 'error' });
        return toolError(tool.name, err, log);
      } finally {
        stopTimer?.();
      }
    },
  );
}

/** An actionable message for the caller; internals (stack, raw errno text) stay in the log. */
function toolError(toolName: string, err: unknown, log: Logger): CallToolResult {
  if (err instanceof ToolError) {
    log.info({ err: redactUrlsInText(err.message) }, 'tool call refused');
    return { isError: true, content: [{ type: 'text', text: err.message }] };
  }
  log.error({ err }, 'tool call failed');
  const code = (err as NodeJS.ErrnoException)?.code;
  const hint = code ? ` (${code})` : '';
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text: `${toolName} failed unexpectedly${hint}. The server log has the details; retry, and report it if it persists.`,
      },
    ],
  };
}
