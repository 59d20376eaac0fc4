/**
 * Authorization and the audit trail, on the message stream between a transport and the SDK
 * server. Every JSON-RPC message of a request passes here (batches included, stdio too), so
 * this one place decides what a principal may call and see, and records each tool call once:
 * - tools/call for a tool outside the principal's scopes is answered with a tool error naming
 *   the missing scope, before the SDK sees it;
 * - tools/list answers are filtered to the tools the principal may call;
 * - the baseline resources need audit:read; prompts/list and prompts/get follow each prompt's scope;
 * - each tools/call gets exactly one audit record when its response leaves (or it is
 *   cancelled, or the connection drops first).
 */
import { ClientRequestSchema } from '@modelcontextprotocol/core';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/server';
import { randomBytes } from 'node:crypto';
import type { Counter } from 'prom-client';
import type { Principal } from '../auth/principal.js';
import type { Scope } from '../auth/scopes.js';
import { digestArgs } from '../observability/argDigest.js';
import type { AuditLog, AuditRecord } from '../observability/auditLog.js';
import { handleTaskMessage, type TaskCallContext } from '../tasks/taskProtocol.js';
import type { TaskService } from '../tasks/taskService.js';
import { HOST_TOOLS } from '../hosts/hostRouter.js';

export interface GateOptions {
  principal: Principal;
  /**
   * 2026-07-28 traffic: answers made here carry the fields that revision requires (resultType,
   * cache fields on lists), and params are left to the SDK, which answers the revision's own
   * codes (a removed method is -32601 with HTTP 404, a broken envelope -32602).
   */
  modern?: boolean;
  /** Per-principal cap on tool calls running at once (on this instance); none when absent. */
  callSlots?: CallSlots;
  /**
   * Who counts against callSlots: the principal when authenticated; for anonymous callers (no
   * auth configured) their session or address, like the rate limit. Default: the principal.
   */
  client?: string;
  sessionId?: string;
  /** The scope each tool needs. */
  toolScopes: ReadonlyMap<string, Scope>;
  /** The scope each prompt needs. */
  promptScopes?: ReadonlyMap<string, Scope>;
  audit: AuditLog;
  denied?: Counter<'tool' | 'reason'>;
  /**
   * Requests in flight on the session's other streams. Each POST has its own transport, so a
   * client's notifications/cancelled usually arrives on another stream (or instance) than the
   * request it cancels: the session layer routes it (HttpSessions).
   */
  cancels?: {
    opened(id: Id, cancel: (id: Id, reason?: string) => void): void;
    /** Forgets the entry if it is still this stream's (`cancel` identifies the stream). */
    closed(id: Id, cancel: (id: Id, reason?: string) => void): void;
    /** A cancellation for a request that is not on this stream. */
    forward(id: Id, reason?: string): void;
    /** Routes the client's response to a server-to-client request back to this stream. */
    awaitResponse?(id: string, deliver: (response: JSONRPCMessage) => void): () => void;
  };
  /**
   * Long calls as tasks (tasks/taskProtocol.ts): task-supporting tools/call and the tasks/*
   * methods are answered here. `session`: what a 2025 session's client declared.
   */
  tasks?: { service: TaskService; session?: TaskCallContext['session'] };
}

export type Id = string | number;
interface Pending {
  tool: string;
  args: unknown;
  started: number;
  host?: string;
}

/**
 * The registry host a call names (issue 19): a host tool's `host` argument sends the call to that
 * host's agent, so the audit record says caller, host and tool. Digested like any argument.
 */
function hostField(tool: string | undefined, args: unknown): { host?: string } {
  // Only tools that forward take `host`; another tool's stray argument names no host.
  if (!tool || !HOST_TOOLS.has(tool)) return {};
  const host = (args as { host?: unknown } | null | undefined)?.host;
  return typeof host === 'string' ? { host: String(digestArgs(host.slice(0, 63))) } : {};
}

const RESOURCE_SCOPE: Scope = 'audit:read';

/**
 * Tool calls running per principal on this instance. A batch of 100 analyze_bots calls is 100
 * calls: beyond the cap the rest are refused at once, so deadlines hold and one client cannot
 * take every core and file handle.
 */
export class CallSlots {
  private readonly running = new Map<string, number>();
  constructor(readonly limit: number) {}
  take(principal: string): boolean {
    const n = this.running.get(principal) ?? 0;
    if (n >= this.limit) return false;
    this.running.set(principal, n + 1);
    return true;
  }
  give(principal: string): void {
    const n = (this.running.get(principal) ?? 1) - 1;
    if (n <= 0) this.running.delete(principal);
    else this.running.set(principal, n);
  }
}
/** What every 2026-07-28 result carries. */
const MODERN_RESULT = { resultType: 'complete' } as const;

export function gateTransport(transport: Transport, o: GateOptions): void {
  const granted = new Set<string>(o.principal.scopes);
  const slotKey = o.client ?? o.principal.id;
  const calls = new Map<Id, Pending>();
  const toolLists = new Set<Id>();
  /** Requests of this stream not answered yet: a response is sent at most once. */
  const open = new Set<Id>();
  const promptLists = new Set<Id>();
  const promptScopes = o.promptScopes ?? new Map<string, Scope>();
  const send = transport.send.bind(transport);
  /** Names this stream's requests to the client; responses waited for (see send). */
  const streamNonce = randomBytes(6).toString('hex');
  const stops = new Set<() => void>();
  const inbound = transport.onmessage;
  const closed = transport.onclose;

  const record = (id: Id, outcome: AuditRecord['outcome']) => {
    const call = calls.get(id);
    if (!call) return;
    calls.delete(id);
    o.callSlots?.give(slotKey);
    o.audit({
      principal: o.principal.id,
      ...(o.sessionId ? { session: o.sessionId } : {}),
      tool: call.tool,
      ...(call.host !== undefined ? { host: call.host } : {}),
      args: call.args,
      outcome,
      durationMs: Math.round((performance.now() - call.started) * 10) / 10,
    });
  };

  transport.onmessage = (message, extra) => {
    const m = message as { id?: Id; method?: string; params?: Record<string, unknown> };
    if (m.method !== undefined && m.id !== undefined) {
      // Two requests with one id (a batch may carry both) would share a response and an audit
      // record: the second is refused before anything runs.
      if (open.has(m.id))
        return void send({
          jsonrpc: '2.0',
          id: m.id,
          error: { code: -32600, message: `Invalid Request: id ${JSON.stringify(m.id)} is already in use` },
        } as JSONRPCMessage);
      open.add(m.id);
      const id = m.id;
      // The SDK answers a request whose params fail its schema with -32603 and a zod dump; a
      // client mistake is -32602 with a readable message.
      const invalid = o.modern ? undefined : invalidParams(message);
      if (invalid !== undefined) {
        if (m.method === 'tools/call') auditInvalid(String(m.params?.name ?? '').slice(0, 128), m.params);
        return void answer(id, { error: { code: -32602, message: invalid } });
      }
      if (m.method === 'tools/call') {
        // Client-chosen: bounded before it reaches a log line.
        const tool = String(m.params?.name ?? '').slice(0, 128);
        const needed = o.toolScopes.get(tool);
        if (needed && !granted.has(needed)) return deny(m.id, tool, m.params?.arguments, needed);
        // Scopes were checked above, when the task starts; the task's own record is written
        // when it settles (taskService.ts).
        if (o.tasks && handleTaskMessage(m, taskContext(id, tool, m.params?.arguments))) return;
        if (o.callSlots && !o.callSlots.take(slotKey)) return busy(m.id, tool, m.params?.arguments);
        calls.set(m.id, {
          tool,
          args: digestArgs(m.params?.arguments),
          started: performance.now(),
          ...hostField(tool, m.params?.arguments),
        });
      } else if (o.tasks && m.method.startsWith('tasks/') && handleTaskMessage(m, taskContext(id))) {
        return;
      } else if (m.method === 'tools/list') {
        toolLists.add(m.id);
      } else if (m.method === 'prompts/list') {
        promptLists.add(m.id);
      } else if (m.method === 'prompts/get') {
        const needed = promptScopes.get(String(m.params?.name ?? ''));
        if (needed && !granted.has(needed))
          return void answer(m.id, {
            error: { code: -32602, message: `This prompt needs the ${needed} scope` },
          });
      } else if (m.method === 'completion/complete' && isPromptRef(m.params?.ref)) {
        // Completion is a typing aid: for a prompt that is not ours, or not this principal's,
        // no suggestions rather than an error (what the MCP conformance suite expects).
        const needed = promptScopes.get(m.params.ref.name);
        if (needed === undefined || !granted.has(needed))
          return void answer(m.id, { result: { completion: { values: [] } } });
      } else if (m.method.startsWith('resources/') && !granted.has(RESOURCE_SCOPE)) {
        return void answerWithoutResources(m.id, m.method);
      }
      // Only requests that reach the SDK can be cancelled from another stream.
      o.cancels?.opened(id, cancelThis);
    } else if (m.method === 'notifications/cancelled') {
      const id = m.params?.requestId;
      if (typeof id === 'string' || typeof id === 'number') {
        if (open.has(id))
          return cancel(id, typeof m.params?.reason === 'string' ? m.params.reason : undefined);
        o.cancels?.forward(id, typeof m.params?.reason === 'string' ? m.params.reason : undefined);
        return;
      }
    }
    inbound?.(message, extra);
  };

  transport.send = async (message, options) => {
    const r = message as { id?: Id; method?: string; result?: Record<string, unknown>; error?: unknown };
    if (r.method !== undefined && r.id !== undefined && o.cancels?.awaitResponse) {
      // A request to the client (elicitation, sampling). Every POST has its own server whose ids
      // start at 0, so the id is made unique in the session; the response, which arrives in a
      // POST of its own, comes back here with the id this server used.
      const ours = r.id;
      const wire = `${streamNonce}.${String(ours)}`;
      const stop = o.cancels.awaitResponse(wire, (response) => {
        stop();
        stops.delete(stop);
        inbound?.({ ...response, id: ours } as JSONRPCMessage);
      });
      stops.add(stop);
      message = { ...message, id: wire } as JSONRPCMessage;
    }
    if (r.id !== undefined && r.method === undefined) {
      if (!open.delete(r.id)) return; // already answered (cancelled, refused here)
      o.cancels?.closed(r.id, cancelThis);
      if (toolLists.delete(r.id) && Array.isArray(r.result?.tools)) {
        const tools = (r.result.tools as Array<{ name: string }>)
          .filter((t) => {
            const needed = o.toolScopes.get(t.name);
            return needed === undefined || granted.has(needed);
          })
          .map((t) => withTaskSupport(t));
        message = { ...message, result: { ...r.result, tools } } as JSONRPCMessage;
      }
      if (promptLists.delete(r.id) && Array.isArray(r.result?.prompts)) {
        const prompts = (r.result.prompts as Array<{ name: string }>).filter((p) => {
          const needed = promptScopes.get(p.name);
          return needed === undefined || granted.has(needed);
        });
        message = { ...message, result: { ...r.result, prompts } } as JSONRPCMessage;
      }
      if (calls.has(r.id)) record(r.id, outcomeOf(r));
    }
    return send(message, options);
  };

  transport.onclose = () => {
    for (const stop of stops) stop();
    // On 2026-07-28 a client cancels by closing the request's stream; on 2025 a closed stream
    // with a call still open means the client went away.
    for (const id of [...calls.keys()]) record(id, o.modern ? 'cancelled' : 'abandoned');
    for (const id of open) o.cancels?.closed(id, cancelThis);
    open.clear();
    closed?.();
  };

  /**
   * Cancels a request of this stream: the SDK aborts its handler (and then sends nothing), and
   * since this stream stays open until every request on it is answered, it is closed with an
   * error the client ignores.
   */
  function cancel(id: Id, reason?: string): void {
    if (!open.has(id)) return;
    record(id, 'cancelled');
    inbound?.({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: id, ...(reason !== undefined ? { reason } : {}) },
    });
    void answer(id, { error: { code: -32800, message: 'Request cancelled' } });
  }

  /** Answers a request of this stream here, instead of the SDK. */
  function answer(
    id: Id,
    body: { result: Record<string, unknown> } | { error: { code: number; message: string; data?: unknown } },
  ) {
    // A result that names its type (a CreateTaskResult's "task") keeps it.
    if (o.modern && 'result' in body) body = { result: { ...MODERN_RESULT, ...body.result } };
    open.delete(id);
    o.cancels?.closed(id, cancelThis);
    return send({ jsonrpc: '2.0', id, ...body } as JSONRPCMessage);
  }

  /** What the session layer calls to cancel one of this stream's requests (one identity per stream). */
  function cancelThis(id: Id, reason?: string): void {
    cancel(id, reason);
  }

  /** What the task layer needs to answer one request of this stream. */
  function taskContext(id: Id, tool?: string, args?: unknown): TaskCallContext {
    return {
      service: o.tasks!.service,
      principal: o.principal,
      modern: o.modern === true,
      ...(o.sessionId ? { sessionId: o.sessionId } : {}),
      ...(o.tasks?.session ? { session: o.tasks.session } : {}),
      granted,
      toolScopes: o.toolScopes,
      answer: (body) => void answer(id, body),
      open: () => open.has(id),
      audit: (outcome, durationMs) =>
        o.audit({
          principal: o.principal.id,
          ...(o.sessionId ? { session: o.sessionId } : {}),
          tool: tool ?? '',
          ...hostField(tool, args),
          args: digestArgs(args),
          outcome,
          durationMs,
        }),
    };
  }

  /** 2025-11-25 clients learn per tool whether it can run as a task (`execution.taskSupport`). */
  function withTaskSupport<T extends { name: string }>(t: T): T {
    const support = o.modern ? undefined : o.tasks?.service.supportOf(t.name);
    return support ? { ...t, execution: { taskSupport: support.mode } } : t;
  }

  /** A tools/call refused for malformed params still leaves its one audit record. */
  function auditInvalid(tool: string, params: unknown): void {
    o.audit({
      principal: o.principal.id,
      ...(o.sessionId ? { session: o.sessionId } : {}),
      tool,
      ...hostField(tool, (params as { arguments?: unknown } | undefined)?.arguments),
      args: digestArgs((params as { arguments?: unknown } | undefined)?.arguments),
      outcome: 'invalid',
      durationMs: 0,
    });
  }

  function deny(id: Id, tool: string, args: unknown, needed: Scope): void {
    o.denied?.inc({ tool, reason: 'insufficient_scope' });
    o.audit({
      principal: o.principal.id,
      ...(o.sessionId ? { session: o.sessionId } : {}),
      tool,
      ...hostField(tool, args),
      args: digestArgs(args),
      outcome: 'denied',
      durationMs: 0,
      missingScope: needed,
    });
    const have = o.principal.scopes.length > 0 ? o.principal.scopes.join(', ') : 'no scopes';
    void answer(id, {
      result: {
        isError: true,
        content: [
          {
            type: 'text',
            text: `${tool} needs the ${needed} scope; these credentials grant ${have}. Ask for a token or API key with ${needed}.`,
          },
        ],
      },
    });
  }

  function busy(id: Id, tool: string, args: unknown): void {
    o.denied?.inc({ tool, reason: 'too_many_calls' });
    o.audit({
      principal: o.principal.id,
      ...(o.sessionId ? { session: o.sessionId } : {}),
      tool,
      ...hostField(tool, args),
      args: digestArgs(args),
      outcome: 'denied',
      durationMs: 0,
    });
    const limit = o.callSlots?.limit ?? 0;
    void answer(id, {
      result: {
        isError: true,
        content: [
          {
            type: 'text',
            text: `${tool} refused: these credentials already have ${limit} tool calls running here (MAX_CONCURRENT_CALLS_PER_PRINCIPAL); wait for one to finish, then retry.`,
          },
        ],
      },
    });
  }

  function answerWithoutResources(id: Id, method: string): Promise<void> {
    const cache = o.modern ? { ttlMs: 0, cacheScope: 'private' } : {};
    if (method === 'resources/list') return answer(id, { result: { resources: [], ...cache } });
    if (method === 'resources/templates/list')
      return answer(id, { result: { resourceTemplates: [], ...cache } });
    return answer(id, {
      error: { code: -32602, message: `Reading baselines needs the ${RESOURCE_SCOPE} scope` },
    });
  }
}

/** Client request methods the SDK knows, with the schema it parses each with. */
const REQUEST_SCHEMAS = new Map(
  ClientRequestSchema.options.map((o) => [o.shape.method.value as string, o] as const),
);

/** A readable reason when a known request's params do not fit the protocol's schema. */
function invalidParams(message: unknown): string | undefined {
  const method = (message as { method?: unknown }).method;
  const schema = typeof method === 'string' ? REQUEST_SCHEMAS.get(method) : undefined;
  if (!schema) return undefined; // unknown methods: the SDK answers -32601
  const parsed = schema.safeParse(message);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0];
  const where = issue?.path.filter((p) => p !== 'params').join('.') || 'params';
  return `Invalid params for ${method}: ${where}: ${issue?.message ?? 'invalid'}`;
}

function isPromptRef(ref: unknown): ref is { type: 'ref/prompt'; name: string } {
  const r = ref as { type?: unknown; name?: unknown } | undefined;
  return r?.type === 'ref/prompt' && typeof r.name === 'string';
}

function outcomeOf(r: { result?: Record<string, unknown>; error?: unknown }): AuditRecord['outcome'] {
  if (r.error !== undefined) return (r.error as { code?: number }).code === -32602 ? 'invalid' : 'error';
  if (r.result?.isError !== true) return 'ok';
  const first = (r.result.content as Array<{ text?: string }> | undefined)?.[0]?.text ?? '';
  // The SDK's own wording (after "MCP error -32602: ") for arguments that fail the input schema.
  return /^(MCP error -32602: )?(Input validation error|Invalid arguments for tool)/.test(first)
    ? 'invalid'
    : 'error';
}
