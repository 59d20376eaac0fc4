/**
 * The `host` argument, added to every host tool in one place (the tool wrapper calls these),
 * so the tools themselves stay unaware of the fleet.
 */
import { z } from 'zod';
import { type ToolContext, ToolError } from '../tools/types.js';
import { AgentUnreachableError } from './agentPool.js';
import { compareAcrossHosts, type CrossHostArgs } from './crossHostCompare.js';
import { type HostRouter, UnknownHostError } from './hostRouter.js';

/** What tools (list_hosts, fleet_health) may use of the fleet. */
export type FleetAccess = Pick<HostRouter, 'registry' | 'pool' | 'resolve'> &
  Partial<Pick<HostRouter, 'refresh'>>;

export const hostArgSchema = z
  .string()
  .max(63)
  .optional()
  .describe('Registry host (list_hosts); default: this server');

export function withHostArg<S extends z.ZodRawShape>(shape: S): S & { host: typeof hostArgSchema } {
  return { ...shape, host: hostArgSchema };
}

/** Time left for the agent: the caller's deadline, less a margin to answer within it. */
export function agentDeadlineMs(ctx: ToolContext): number {
  return Math.max(1000, ctx.config.TOOL_DEADLINE_SECONDS * 1000 - 500);
}

export interface ForwardedResult {
  [key: string]: unknown;
  isError?: boolean;
  content: Array<{ type: 'text'; text: string }>;
  structuredContent?: Record<string, unknown>;
}

/**
 * Runs the call on the named host's agent; undefined when it is for this machine. Throws
 * ToolError for a host outside the registry or an agent that does not answer.
 */
export async function forwardHostCall(
  router: HostRouter | undefined,
  tool: string,
  args: Record<string, unknown>,
  ctx: ToolContext,
): Promise<ForwardedResult | undefined> {
  const host = args.host as string | undefined;
  if (tool === 'compare_baselines' && args.fromHost !== undefined) {
    if (!router)
      throw new ToolError(
        `"fromHost" needs a host registry: set HOSTS_FILE, or FLEET_AGENT_KEY_FILE (with REDIS_URL) for agents that register themselves (see README "Auditing many hosts"); without either this server has one host's baselines.`,
      );
    try {
      const across = await compareAcrossHosts(
        router,
        args as unknown as CrossHostArgs,
        ctx,
        agentDeadlineMs(ctx),
      );
      if (across) return across;
    } catch (err) {
      if (err instanceof UnknownHostError) throw new ToolError(err.message);
      throw err;
    }
    // Both sides on one host: an ordinary comparison there.
    delete args.fromHost;
  }
  if (!router) {
    if (host === undefined) return undefined;
    throw new ToolError(
      `"host" needs a host registry: set HOSTS_FILE, or FLEET_AGENT_KEY_FILE for agents registered in Redis (see README "Auditing many hosts"); without either this server audits only itself.`,
    );
  }
  let route;
  try {
    route = await router.resolveFresh(host);
  } catch (err) {
    if (err instanceof UnknownHostError) throw new ToolError(err.message);
    throw err;
  }
  if (route.kind === 'local') return undefined;
  const { host: _omit, ...rest } = args;
  void _omit;
  // Who asked, which host, which tool: the audit trail's record has the args digest (with host);
  // this line ties the forwarded call to the agent's own log.
  ctx.logger.info(
    { caller: ctx.principal?.id ?? 'unknown', host: route.host.name, tool },
    'forwarding to agent',
  );
  try {
    const answer = await router.pool.call(route.host, tool, rest, {
      signal: ctx.signal,
      deadlineMs: agentDeadlineMs(ctx),
    });
    const text = `[host ${route.host.name}] ${answer.text}`;
    return answer.isError
      ? { isError: true, content: [{ type: 'text', text }] }
      : {
          content: [{ type: 'text', text }],
          ...(answer.structured ? { structuredContent: answer.structured } : {}),
        };
  } catch (err) {
    if (err instanceof AgentUnreachableError) throw new ToolError(err.message);
    throw err;
  }
}
