/**
 * The wire side of tasks, on the authorization gate's message stream (every transport and era):
 * - 2026-07-28, the tasks extension (SEP-2663): a request whose `_meta` client capabilities
 *   declare `io.modelcontextprotocol/tasks` may get a flat CreateTaskResult (`resultType: "task"`)
 *   for a task-supporting tool, and may use tasks/get, tasks/update, tasks/cancel; a request
 *   without it gets -32021 for those (and for a tool that can only run as a task);
 * - 2025-11-25, task-augmented requests: a tools/call carrying `task` on a session gets
 *   `{ task }`, then tasks/get, tasks/result (blocks until the task settles) and tasks/cancel.
 * Records are looked up under the caller's principal, so another principal's task is "not found"
 * exactly like an unknown id; the tool's scope is checked again whenever a result is read.
 */
import { CLIENT_CAPABILITIES_META_KEY } from '@modelcontextprotocol/server';
import type { Principal } from '../auth/principal.js';
import type { Scope } from '../auth/scopes.js';
import type { AuditRecord } from '../observability/auditLog.js';
import type { ToolInvocation } from './executor.js';
import type { TaskService, TaskView } from './taskService.js';
import type { TaskRecord } from './taskStore.js';

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
const RELATED_TASK = 'io.modelcontextprotocol/related-task';
const SERVER_INFO = 'io.modelcontextprotocol/serverInfo';
const MISSING_CAPABILITY = -32021;
const TASK_ID_RE = /^[0-9a-f]{32}$/;

type Body =
  { result: Record<string, unknown> } | { error: { code: number; message: string; data?: unknown } };

export interface TaskCallContext {
  service: TaskService;
  principal: Principal;
  modern: boolean;
  sessionId?: string;
  /** What a 2025 session's client declared at initialize. */
  session?: { capabilities: Record<string, unknown>; clientName?: string; clientVersion?: string };
  /** The scopes this request's credentials grant, and the scope each tool needs. */
  granted: ReadonlySet<string>;
  toolScopes: ReadonlyMap<string, Scope>;
  /** Answers the request (once). */
  answer(body: Body): void;
  /** Whether the request's stream is still open (a blocked tasks/result stops waiting when not). */
  open(): boolean;
  /** One audit record for a tools/call answered here rather than by a task (refused, immediate). */
  audit(outcome: AuditRecord['outcome'], durationMs: number): void;
}

interface Message {
  id?: string | number;
  method?: string;
  params?: Record<string, unknown>;
}

/** Whether a 2026-07-28 request declares the tasks extension in its per-request capabilities. */
export function declaresTasks(params: Record<string, unknown> | undefined): boolean {
  const meta = params?._meta as Record<string, unknown> | undefined;
  const caps = meta?.[CLIENT_CAPABILITIES_META_KEY] as { extensions?: Record<string, unknown> } | undefined;
  const ext = caps?.extensions?.[TASKS_EXTENSION];
  return typeof ext === 'object' && ext !== null;
}

/** Handles a task-related request; false when it is not one (the SDK serves it). */
export function handleTaskMessage(m: Message, ctx: TaskCallContext): boolean {
  const { method, params } = m;
  if (method === 'tools/call') return toolsCall(m, ctx);
  if (ctx.modern) {
    if (method !== 'tasks/get' && method !== 'tasks/update' && method !== 'tasks/cancel') return false;
    if (!declaresTasks(params)) {
      ctx.answer(
        missingCapability(
          `${method} needs the ${TASKS_EXTENSION} extension in the request's client capabilities`,
        ),
      );
      return true;
    }
  } else if (method !== 'tasks/get' && method !== 'tasks/result' && method !== 'tasks/cancel') return false;
  const taskId = params?.taskId;
  if (typeof taskId !== 'string' || taskId.length === 0 || taskId.length > 256) {
    ctx.answer(invalid(`Invalid params for ${method}: taskId must be a non-empty string`));
    return true;
  }
  void serveTaskMethod(method, taskId, params ?? {}, ctx).catch(() =>
    ctx.answer({ error: { code: -32603, message: 'Task store unavailable; retry shortly' } }),
  );
  return true;
}

function toolsCall(m: Message, ctx: TaskCallContext): boolean {
  const tool = String(m.params?.name ?? '');
  const support = ctx.service.supportOf(tool);
  if (!support) {
    // 2025-11-25: a task-augmented call to a tool that cannot run as one (taskSupport forbidden).
    if (ctx.modern || !isObject(m.params?.task)) return false;
    ctx.audit('invalid', 0);
    ctx.answer({
      error: { code: -32601, message: `${tool} does not run as a task: call it without params.task` },
    });
    return true;
  }
  // 2026-07-28: the extension, per request. 2025-11-25: the request's `task` field, on a session.
  const wants = ctx.modern ? declaresTasks(m.params) : isObject(m.params?.task);
  if (!wants) {
    if (support.mode !== 'required') return false;
    ctx.audit('invalid', 0);
    ctx.answer(
      ctx.modern
        ? missingCapability(`${tool} runs only as a task: declare the ${TASKS_EXTENSION} extension`)
        : { error: { code: -32601, message: `${tool} runs only as a task: call it with params.task` } },
    );
    return true;
  }
  const args = m.params?.arguments ?? {};
  if (!isObject(args)) return false; // the SDK answers the malformed call
  const meta = (m.params?._meta ?? {}) as Record<string, unknown>;
  const caps = ctx.modern
    ? ((meta[CLIENT_CAPABILITIES_META_KEY] as Record<string, unknown> | undefined) ?? {})
    : (ctx.session?.capabilities ?? {});
  const clientInfo = ctx.modern
    ? (meta['io.modelcontextprotocol/clientInfo'] as ToolInvocation['clientInfo'])
    : { name: ctx.session?.clientName ?? 'unknown', version: ctx.session?.clientVersion ?? 'unknown' };
  const call: ToolInvocation = {
    tool,
    era: ctx.modern ? 'modern' : 'legacy',
    arguments: args,
    principal: ctx.principal,
    ...(ctx.sessionId ? { sessionId: ctx.sessionId } : {}),
    clientCapabilities: withoutTasks(caps),
    ...(clientInfo ? { clientInfo } : {}),
    ...(isObject(m.params?.inputResponses) ? { inputResponses: m.params.inputResponses } : {}),
    ...(typeof m.params?.requestState === 'string' ? { requestState: m.params.requestState } : {}),
  };
  const started = performance.now();
  void ctx.service.begin(call).then(
    (begun) => {
      const ms = Math.round(performance.now() - started);
      if (begun.kind === 'task') return ctx.answer({ result: created(begun.record, ctx.modern) });
      if (begun.kind === 'refused') {
        ctx.audit('denied', ms);
        return ctx.answer({ result: { isError: true, content: [{ type: 'text', text: begun.message }] } });
      }
      const outcome = begun.outcome;
      ctx.audit(outcome.kind === 'error' || outcome.result.isError === true ? 'error' : 'ok', ms);
      ctx.answer(outcome.kind === 'result' ? { result: outcome.result } : { error: outcome.error });
    },
    () => {
      ctx.audit('error', Math.round(performance.now() - started));
      ctx.answer({ error: { code: -32603, message: 'Task store unavailable; retry shortly' } });
    },
  );
  return true;
}

async function serveTaskMethod(
  method: string,
  taskId: string,
  params: Record<string, unknown>,
  ctx: TaskCallContext,
): Promise<void> {
  const owner = ctx.principal.id;
  // Ours are 128 random bits in hex: anything else is unknown without asking the store.
  if (!TASK_ID_RE.test(taskId))
    return ctx.answer(
      notFound(method === 'tasks/cancel' ? 'cancel' : method === 'tasks/update' ? 'update' : 'retrieve'),
    );
  if (method === 'tasks/cancel') {
    const outcome = await ctx.service.cancel(owner, taskId);
    if (outcome === 'not-found') return ctx.answer(notFound('cancel'));
    if (ctx.modern) return ctx.answer({ result: {} }); // an ack, also for a settled task
    if (outcome === 'terminal') return ctx.answer(invalid('Cannot cancel task: it has already finished'));
    const view = await ctx.service.get(owner, taskId);
    return ctx.answer(view ? { result: legacyTask(view.record) } : notFound('cancel'));
  }
  if (method === 'tasks/update') {
    const responses = params.inputResponses;
    if (!isObject(responses))
      return ctx.answer(invalid('Invalid params for tasks/update: inputResponses must be an object'));
    const outcome = await ctx.service.update(owner, taskId, responses);
    return ctx.answer(outcome === 'ok' ? { result: {} } : notFound('update'));
  }
  const view =
    method === 'tasks/result'
      ? await ctx.service.waitForEnd(owner, taskId, ctx.open)
      : await ctx.service.get(owner, taskId);
  if (!view) return ctx.answer(notFound('retrieve'));
  const needed = ctx.toolScopes.get(view.record.tool);
  if (needed && !ctx.granted.has(needed))
    return ctx.answer(
      invalid(
        `This task ran ${view.record.tool}, which needs the ${needed} scope; these credentials do not grant it`,
      ),
    );
  if (method === 'tasks/get')
    return ctx.answer({ result: ctx.modern ? detailed(view) : legacyTask(view.record) });
  ctx.answer(legacyResult(view));
}

/** The task fields both eras share, with the era's names for the time fields. */
function taskFields(r: TaskRecord, modern: boolean): Record<string, unknown> {
  const ttl = Math.max(1, Math.round(r.expiresAt - r.createdAt));
  return {
    taskId: r.id,
    status: r.status,
    ...(r.statusMessage !== undefined ? { statusMessage: r.statusMessage } : {}),
    createdAt: new Date(r.createdAt).toISOString(),
    lastUpdatedAt: new Date(r.lastUpdatedAt).toISOString(),
    ...(modern ? { ttlMs: ttl, pollIntervalMs: r.pollIntervalMs } : { ttl, pollInterval: r.pollIntervalMs }),
  };
}

function created(r: TaskRecord, modern: boolean): Record<string, unknown> {
  if (modern) return { resultType: 'task', ...taskFields(r, true) };
  return {
    task: taskFields(r, false),
    _meta: {
      'io.modelcontextprotocol/model-immediate-response': `${r.tool} is running as task ${r.id}; its result will be available when it completes.`,
    },
  };
}

/** tasks/get on 2026-07-28: the task with its result, error or input requests inlined. */
function detailed(view: TaskView): Record<string, unknown> {
  const r = view.record;
  const out = taskFields(r, true);
  if (r.status === 'completed') {
    const { resultType: _ignored, ...result } = view.result ?? { content: [] };
    out.result = result;
  } else if (r.status === 'failed')
    out.error = r.error ?? { code: -32603, message: r.statusMessage ?? 'failed' };
  else if (r.status === 'input_required') out.inputRequests = r.inputRequests ?? {};
  return out;
}

function legacyTask(r: TaskRecord): Record<string, unknown> {
  return taskFields(r, false);
}

/** tasks/result on 2025-11-25: exactly what the call would have returned, tagged with the task. */
function legacyResult(view: TaskView): Body {
  const r = view.record;
  if (r.status === 'completed') {
    const { resultType: _ignored, _meta, ...result } = view.result ?? { content: [] };
    const meta = { ...(isObject(_meta) ? _meta : {}) };
    delete meta[SERVER_INFO];
    return { result: { ...result, _meta: { ...meta, [RELATED_TASK]: { taskId: r.id } } } };
  }
  if (r.status === 'failed')
    return { error: r.error ?? { code: -32603, message: r.statusMessage ?? 'failed' } };
  if (r.status === 'cancelled') return { error: { code: -32800, message: 'Request cancelled' } };
  // Still active: the stream closed while waiting (no one reads this answer).
  return { error: { code: -32603, message: 'The task has not finished' } };
}

function missingCapability(message: string): Body {
  return {
    error: {
      code: MISSING_CAPABILITY,
      message: `Missing required client capability: ${message}`,
      data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
    },
  };
}

function notFound(what: string): Body {
  // The same answer for an unknown, expired or foreign id: nothing tells them apart.
  return invalid(`Failed to ${what} task: Task not found`);
}

function invalid(message: string): Body {
  return { error: { code: -32602, message } };
}

/** The client's capabilities as the task's own call sees them (it cannot start tasks itself). */
function withoutTasks(caps: Record<string, unknown>): Record<string, unknown> {
  const {
    extensions,
    tasks: _legacy,
    ...rest
  } = caps as { extensions?: Record<string, unknown>; tasks?: unknown };
  if (!isObject(extensions)) return rest;
  const { [TASKS_EXTENSION]: _tasks, ...others } = extensions;
  return Object.keys(others).length > 0 ? { ...rest, extensions: others } : rest;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
