/**
 * Runs one tools/call of a task in this process, through the SDK exactly as a plain 2026-07-28
 * call: createMcpHandler (strict) serves a server built by our factory, so argument validation,
 * our tool wrapper (metrics, errors), output validation and the result's shape are the same as a
 * synchronous call's, and the result is what the call would have returned. What a task adds:
 * - the request carries a progress token, and the progress notifications on its SSE response
 *   become the task's status message;
 * - cancelling is closing the request (aborting its signal): the SDK aborts the handler, whose
 *   AbortSignal the tools honour;
 * - a tool that needs input returns an input_required result (SEP-2322); the caller answers it
 *   with a retry carrying inputResponses (the task's tasks/update loop).
 * There is no HTTP here: the handler's fetch face is called with a Request built in memory.
 */
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  createMcpHandler,
  type McpServer,
  PROTOCOL_VERSION_META_KEY,
} from '@modelcontextprotocol/server';
import { type Principal, principalOf, toAuthInfo } from '../auth/principal.js';
import type { Logger } from '../observability/logger.js';
import type { RpcError } from './taskStore.js';

export interface ToolInvocation {
  tool: string;
  /** The era of the request that started it (2025-11-25 tasks cannot ask the client for input). */
  era: 'modern' | 'legacy';
  arguments: Record<string, unknown>;
  principal: Principal;
  /** The legacy session that started it (its notifications go there); none for 2026-07-28. */
  sessionId?: string;
  /** What the client declared it can do (elicitation, sampling, roots). */
  clientCapabilities: Record<string, unknown>;
  clientInfo?: { name: string; version: string };
  /** A retry after input_required (SEP-2322). */
  inputResponses?: Record<string, unknown>;
  requestState?: string;
}

export type InvocationOutcome =
  { kind: 'result'; result: Record<string, unknown> } | { kind: 'error'; error: RpcError };

export type Executor = (
  call: ToolInvocation,
  signal: AbortSignal,
  onProgress: (message: string) => void,
) => Promise<InvocationOutcome>;

const REVISION = '2026-07-28';
const PROGRESS_TOKEN = 'task';

/** Builds the server a task's call runs on; gets who called and from which legacy session. */
export type TaskServerFactory = (origin: { principal: Principal; sessionId?: string }) => McpServer;

export function createExecutor(factory: TaskServerFactory, logger: Logger): Executor {
  const handler = createMcpHandler(
    (ctx) => {
      const extra = ctx.authInfo?.extra as { taskSession?: string } | undefined;
      return factory({
        principal: principalOf(ctx.authInfo),
        ...(extra?.taskSession ? { sessionId: extra.taskSession } : {}),
      });
    },
    {
      legacy: 'reject',
      onerror: (err) => logger.debug({ err: err.message }, 'task call rejected or failed'),
    },
  );

  return async (call, signal, onProgress) => {
    const body = {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name: call.tool,
        arguments: call.arguments,
        ...(call.inputResponses ? { inputResponses: call.inputResponses } : {}),
        ...(call.requestState !== undefined ? { requestState: call.requestState } : {}),
        _meta: {
          [PROTOCOL_VERSION_META_KEY]: REVISION,
          [CLIENT_CAPABILITIES_META_KEY]: call.clientCapabilities,
          ...(call.clientInfo ? { [CLIENT_INFO_META_KEY]: call.clientInfo } : {}),
          progressToken: PROGRESS_TOKEN,
        },
      },
    };
    const request = new Request('http://task.invalid/mcp', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': REVISION,
        'mcp-method': 'tools/call',
        'mcp-name': call.tool,
      },
      body: JSON.stringify(body),
      signal,
    });
    const authInfo = toAuthInfo(call.principal);
    if (call.sessionId) authInfo.extra = { ...authInfo.extra, taskSession: call.sessionId };
    const response = await handler.fetch(request, { authInfo, parsedBody: body });
    for await (const message of messagesOf(response, signal)) {
      const m = message as {
        id?: unknown;
        method?: string;
        params?: { progress?: number; total?: number; message?: string };
        result?: Record<string, unknown>;
        error?: RpcError;
      };
      if (m.method === 'notifications/progress' && m.params) onProgress(progressText(m.params));
      else if (m.id === 1 && m.result) return { kind: 'result', result: m.result };
      else if (m.id === 1 && m.error) return { kind: 'error', error: m.error };
    }
    if (signal.aborted) throw signal.reason ?? new Error('aborted');
    return { kind: 'error', error: { code: -32603, message: 'The tool call ended without a response' } };
  };
}

/** "1.2 GB of 3 GB read (40%)" style: the tool's own words, with the share done when known. */
function progressText(p: { progress?: number; total?: number; message?: string }): string {
  const share =
    typeof p.progress === 'number' && typeof p.total === 'number' && p.total > 0
      ? ` (${Math.min(100, Math.floor((p.progress / p.total) * 100))}%)`
      : '';
  if (p.message) return `${p.message}${share}`;
  return `${p.progress ?? 0}${p.total !== undefined ? ` of ${p.total}` : ''}${share}`;
}

/** The JSON-RPC messages of a JSON or SSE response, as they arrive. */
async function* messagesOf(response: Response, signal: AbortSignal): AsyncGenerator<unknown> {
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('text/event-stream')) {
    const text = await response.text();
    if (text.trim()) yield JSON.parse(text);
    return;
  }
  if (!response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const stop = () => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', stop, { once: true });
  try {
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (data) yield JSON.parse(data);
      }
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
