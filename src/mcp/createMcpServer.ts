import { readFileSync } from 'node:fs';
import {
  type CallToolResult,
  InMemoryServerEventBus,
  McpServer,
  type ServerContext,
  type ServerEvent,
  type ServerEventBus,
  type ServerNotification,
  type ServerOptions,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { BaselineStore } from '../baselines/types.js';
import type { Config } from '../config.js';
import type { Outbound } from '../net/outbound.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { selectTools, tools as allTools } from '../tools/index.js';
import { redactUrlsInText } from '../observability/argDigest.js';
import { principalOf } from '../auth/principal.js';
import { registerBaselineResources } from './baselineResources.js';
import { offeredPrompts, registerPrompts } from './prompts.js';
import { registerViews } from '../views/registerViews.js';
import type { SessionSlot } from './httpSessions.js';
import { type ToolContext, type ToolDefinition, ToolError } from '../tools/types.js';
import { hostRouterFor, HOST_TOOLS } from '../hosts/hostRouter.js';
import { forwardHostCall, withHostArg } from '../hosts/forwarding.js';
import { TASKS_EXTENSION } from '../tasks/taskProtocol.js';
import type { TaskSupport } from '../tasks/taskService.js';

/** package.json sits one level above both src/ (tests) and dist/ (built). */
export const VERSION: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;

export interface ServerDeps {
  config: Config;
  logger: Logger;
  baselines: BaselineStore;
  outbound: Outbound;
  /** Which HTTP session this (pooled) server serves at the moment; stdio has none. */
  session?: SessionSlot;
  /**
   * Change events for 2026-07-28 clients' subscriptions/listen streams (every instance). A
   * change such as a saved baseline concerns every client, not only the caller's session.
   */
  events?: ServerEventBus;
  metrics?: Metrics;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see tools/index.ts
  tools?: ToolDefinition<any, any>[];
  /** Test-only additions (the conformance suite's fixtures); production never sets it. */
  extension?: ServerExtension;
  /**
   * Advertise tasks for this era: the tasks extension in server/discover (2026-07-28), the
   * `tasks` capability at initialize (2025-11-25). Unset: none (the servers tasks run on).
   */
  tasksFor?: 'modern' | 'legacy';
}

/** More surface on every server built, with the constructor options it needs. */
export interface ServerExtension {
  options?: Partial<ServerOptions>;
  register(server: McpServer, events: ServerEventBus): void;
  /** Which of the added tools run as tasks, and how. */
  taskSupport?: Record<string, TaskSupport>;
}

/**
 * One McpServer per session (the SDK binds a server to one transport). Cheap: registering
 * a handful of tools is a few object allocations.
 */
export function createMcpServer(deps: ServerDeps): McpServer {
  const extra = deps.extension?.options;
  const selected = selectTools(deps.tools ?? allTools, deps.config.TOOLSETS);
  const offered = new Set(selected.map((t) => t.name));
  const server = new McpServer(
    { name: 'server-audit-mcp', title: 'Server audit', version: VERSION },
    {
      ...extra,
      // `logging` stays declared although no tool logs to the client yet: the SDK answers the 2025
      // revisions' logging/setLevel only when it is, and the conformance suite's required
      // 2025-11-25 scenario logging-set-level sends it (scripts/conformance.mjs). Server logs go
      // to stdout/stderr (pino). Dropping it would fail that scenario.
      capabilities: { logging: {}, ...extra?.capabilities },
      // 2026-07-28 caching hints. Every list depends on the caller's scopes (the gate filters
      // it), so only the caller may cache it; the tool and prompt lists change only on upgrade,
      // the baseline list on every save (listen streams announce that).
      cacheHints: {
        'tools/list': { ttlMs: 300_000, cacheScope: 'private' },
        'prompts/list': { ttlMs: 300_000, cacheScope: 'private' },
        'resources/templates/list': { ttlMs: 300_000, cacheScope: 'private' },
        'resources/list': { ttlMs: 30_000, cacheScope: 'private' },
        ...extra?.cacheHints,
      },
      instructions: instructionsFor(offered),
    },
  );
  for (const tool of selected) registerTool(server, tool, deps);
  memoiseToolList(server);
  registerBaselineResources(server, deps.baselines);
  registerPrompts(server, deps, offered);
  registerViews(server, deps.tools ?? allTools);
  if (deps.extension) deps.extension.register(server, deps.events ?? new InMemoryServerEventBus());
  // The gate serves the task methods (tasks/taskProtocol.ts); the server only advertises them.
  if (deps.tasksFor === 'modern')
    server.server.registerCapabilities({ extensions: { [TASKS_EXTENSION]: {} } });
  else if (deps.tasksFor === 'legacy')
    server.server.registerCapabilities({ tasks: { cancel: {}, requests: { tools: { call: {} } } } });
  return server;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see tools/index.ts
function registerTool(server: McpServer, tool: ToolDefinition<any, any>, deps: ServerDeps): void {
  const { config, logger, metrics, baselines, outbound, session, events } = deps;
  // Issue 19: host tools take `host`; a named host's call goes to its agent (src/hosts/).
  const router = hostRouterFor(config, outbound.resilience, logger, VERSION);
  const hostTool = HOST_TOOLS.has(tool.name);
  server.registerTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      ...schemasOf(tool, hostTool),
      annotations: tool.annotations,
    },
    async (args: Record<string, unknown>, extra: ServerContext): Promise<CallToolResult> => {
      const stopTimer = metrics?.toolDuration.startTimer({ tool: tool.name });
      // Read once, now: a pooled server may serve another session after this response ends.
      const current = session?.current;
      const sessionId = current?.sessionId ?? extra.sessionId;
      const log = logger.child({ sessionId, rpcId: extra.mcpReq.id, tool: tool.name });
      const progressToken = extra.mcpReq._meta?.progressToken;
      const ctx: ToolContext = {
        // Who asked: baseline retention lets a caller without audit:admin prune only its own.
        principal: principalOf(extra.http?.authInfo),
        ...(router ? { fleet: router } : {}),
        config,
        host: { proc: config.HOST_PROC, sys: config.HOST_SYS, root: config.HOST_ROOT },
        logger: log,
        baselines,
        outbound,
        signal: extra.mcpReq.signal,
        notify(notification) {
          const event = changeEvent(notification.method);
          if (events && event) events.publish(event);
          // 2025-era clients hear it on their session (HTTP) or connection (stdio); modern
          // requests have neither: their clients listen.
          if (current) current.notify({ jsonrpc: '2.0', ...notification });
          else if (!isModern(extra))
            void extra.mcpReq.notify(notification as ServerNotification).catch(() => undefined);
        },
        async progress(progress, total, message) {
          if (progressToken === undefined) return;
          await extra.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken, progress, total, message },
          });
        },
      };
      try {
        if (hostTool) {
          const forwarded = await forwardHostCall(router, tool.name, args, ctx);
          if (forwarded) {
            metrics?.toolCalls.inc({ tool: tool.name, outcome: forwarded.isError ? 'refused' : 'ok' });
            return forwarded;
          }
          delete args.host;
        }
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

const schemaCache = new WeakMap<object, { inputSchema: z.ZodObject; outputSchema: z.ZodObject }>();

/**
 * A tool's schemas, built once per process. The SDK converts them to JSON Schema on every
 * tools/list, and every request has a server of its own: zod's conversion of our larger schemas
 * cost more than the rest of a listing, so each conversion is done once and kept.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see tools/index.ts
function schemasOf(tool: ToolDefinition<any, any>, hostTool = false) {
  let s = schemaCache.get(tool);
  if (!s) {
    s = {
      inputSchema: withCachedJsonSchema(
        z.object(hostTool ? withHostArg(tool.inputSchema) : tool.inputSchema),
      ),
      outputSchema: withCachedJsonSchema(z.object(tool.outputSchema)),
    };
    schemaCache.set(tool, s);
  }
  return s;
}

/** The same schema, its Standard Schema JSON conversion memoised per (direction, target). */
function withCachedJsonSchema<T extends z.ZodObject>(schema: T): T {
  const std = schema['~standard'];
  const convert = std.jsonSchema;
  const memo = new Map<string, Record<string, unknown>>();
  const cached =
    (dir: 'input' | 'output') =>
    (options: Parameters<typeof convert.input>[0]): Record<string, unknown> => {
      const key = `${dir} ${String(options?.target)}`;
      let json = memo.get(key);
      if (!json) memo.set(key, (json = convert[dir](options)));
      // Shared, not copied: the SDK only reads it and spreads it into a new object.
      return json;
    };
  Object.defineProperty(schema, '~standard', {
    value: { ...std, jsonSchema: { input: cached('input'), output: cached('output') } },
    enumerable: false,
  });
  return schema;
}

/** The listen-stream event for a list-changed notification, if it is one. */
function changeEvent(method: string): ServerEvent | undefined {
  if (method === 'notifications/resources/list_changed') return { kind: 'resources_list_changed' };
  if (method === 'notifications/tools/list_changed') return { kind: 'tools_list_changed' };
  if (method === 'notifications/prompts/list_changed') return { kind: 'prompts_list_changed' };
  return undefined;
}

/** A 2026-07-28 request: it carries the per-request envelope (no session, no handshake). */
function isModern(ctx: ServerContext): boolean {
  return ctx.mcpReq.envelope !== undefined;
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

/** The server's instructions, naming only the tools and prompts this server offers (TOOLSETS). */
function instructionsFor(offered: ReadonlySet<string>): string {
  const parts = [
    'Audit tools for the host this server runs on (or the host whose /proc, /sys and / it mounts).',
  ];
  if (offered.has('run_health_check'))
    parts.push(
      'Start with detect_system to learn what the box is, run_health_check to judge it, and compare_baselines ' +
        'to see what changed. No tool changes the audited host; run_health_check ' +
        (offered.has('check_database') ? '(and check_database when asked) saves' : 'saves') +
        ' a baseline, delete_baselines deletes them.',
    );
  else parts.push('No tool changes the audited host.');
  const prompts = offeredPrompts(offered);
  if (prompts.length > 0)
    parts.push(
      `The prompt${prompts.length > 1 ? 's' : ''} ${prompts.join(', ')} walk${prompts.length > 1 ? '' : 's'} through common audits.`,
    );
  return parts.join(' ');
}

type ListHandler = (request: unknown, ctx: unknown) => Promise<Record<string, unknown>>;

/**
 * tools/list answered once per server, then from memory. The SDK rebuilds the list on every
 * request, walking each input schema for x-mcp-header declarations and converting the output
 * schemas: about a tenth of a listing's CPU with our 16 tools (BENCHMARKS.md, issue 15). Our
 * tools never change after registration. Callers get a shallow copy: the views and the gate
 * replace `tools` with new arrays, never edit the shared one.
 */
function memoiseToolList(server: McpServer): void {
  const proto = server.server as unknown as {
    _getRequestHandler(method: string): ListHandler | undefined;
    setRequestHandler(method: string, handler: ListHandler): void;
  };
  const inner = proto._getRequestHandler('tools/list');
  if (!inner) return; // a server built with no tools
  let listed: Promise<Record<string, unknown>> | undefined;
  proto.setRequestHandler('tools/list', async (request, ctx) => {
    if (!listed) {
      listed = inner(request, ctx);
      listed.catch(() => (listed = undefined)); // a failed listing is not remembered
    }
    return { ...(await listed) };
  });
}
