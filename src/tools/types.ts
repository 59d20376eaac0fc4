import type { ToolAnnotations } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import type { BaselineStore } from '../baselines/types.js';
import type { Config } from '../config.js';
import type { HostPaths } from '../host/hostPaths.js';
import type { Outbound } from '../net/outbound.js';
import type { Logger } from '../observability/logger.js';
import type { Scope } from '../auth/scopes.js';
import type { Principal } from '../auth/principal.js';
import type { FleetAccess } from '../hosts/forwarding.js';
import { listedOutput } from './schemas.js';
import { timeoutSignal } from '../resilience/timeoutSignal.js';

/** What a handler may use. Tools never see express, transports or Redis. */
export interface ToolContext {
  config: Config;
  host: HostPaths;
  logger: Logger;
  /** Stored health-check results (files under DATA_DIR). */
  baselines: BaselineStore;
  /** Network clients behind breakers and retries (DNS for bot verification). */
  outbound: Outbound;
  /**
   * Who is calling (the auth principal, src/auth/principal.ts). Baseline retention needs it: a
   * caller without audit:admin may only cause its own baselines to be pruned. Absent: treated
   * as an unknown caller without audit:admin (fail safe).
   */
  principal?: Principal;
  /** The host registry and its agents (HOSTS_FILE, src/hosts/); absent without one. */
  fleet?: FleetAccess;
  /** Aborted when the client cancels the call or the session ends. */
  signal: AbortSignal;
  /**
   * A server-initiated notification for the session (e.g. resources/list_changed), delivered to
   * its GET stream on whatever instance holds it.
   */
  notify(notification: { method: string; params?: Record<string, unknown> }): void;
  /** Reports progress when the client asked for it (a progress token); a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
}

export interface ToolResult<T> {
  /** Matches the tool's outputSchema; becomes `structuredContent`. */
  structured: T;
  /** A few lines for the model to read first: status and what matters most. */
  summary: string;
}

export interface ToolDefinition<
  I extends z.ZodRawShape = z.ZodRawShape,
  O extends z.ZodRawShape = z.ZodRawShape,
> {
  name: string;
  title: string;
  /** What the model reads in tools/list: when to use the tool, what it returns, its cost. Short. */
  description: string;
  /** The long explanation (every check, rule and limit), for docs/tools.md only. */
  details?: string;
  inputSchema: I;
  outputSchema: O;
  annotations: ToolAnnotations;
  /** The scope a principal needs to see and call the tool (src/auth/scopes.ts). */
  scope: Scope;
  handler(args: z.infer<z.ZodObject<I>>, ctx: ToolContext): Promise<ToolResult<z.infer<z.ZodObject<O>>>>;
}

/** Keeps the handler's argument and result types tied to the schemas. */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  def: ToolDefinition<I, O>,
): ToolDefinition<I, O> {
  // tools/list shows a compact output schema; validation and docs/tools.md keep the full one.
  return { ...def, outputSchema: listedOutput(def.outputSchema) };
}

/**
 * The caller's cancellation and TOOL_DEADLINE_SECONDS together: outbound tools stop at the
 * deadline and answer with what they have.
 */
export function deadlineSignal(ctx: ToolContext): AbortSignal {
  return timeoutSignal(ctx.config.TOOL_DEADLINE_SECONDS * 1000, ctx.signal);
}

/**
 * A failure the caller can act on (bad path, missing file, unreachable target). Its message
 * is shown to the client as is; any other error is reported without internals.
 */
export class ToolError extends Error {
  override name = 'ToolError';
}
