/**
 * Tasks from a client's side: the SDK v2 client (pinned to 2026-07-28, declaring the tasks
 * extension) polls and cancels with tasks/get and tasks/cancel as explicit-schema requests. The
 * call that creates a task is a plain POST with the same envelope: the v2 client's result decoder
 * accepts only `complete` and `input_required`, so it cannot read a CreateTaskResult (SDK 2.4).
 */
import { closeSync, openSync, readdirSync, readlinkSync, readFileSync, writeSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { z } from 'zod';

export const TASKS = 'io.modelcontextprotocol/tasks';
const MODERN = '2026-07-28';

export const TaskSchema = z.looseObject({
  taskId: z.string(),
  status: z.enum(['working', 'input_required', 'completed', 'failed', 'cancelled']),
  statusMessage: z.string().optional(),
  createdAt: z.string(),
  lastUpdatedAt: z.string(),
  ttlMs: z.number().nullable(),
  pollIntervalMs: z.number().optional(),
  result: z.looseObject({}).optional(),
  error: z.looseObject({ code: z.number(), message: z.string() }).optional(),
});
export type Task = z.infer<typeof TaskSchema>;
const Ack = z.looseObject({});

function authHeaders(credential?: string): Record<string, string> {
  return credential ? { authorization: `Bearer ${credential}` } : {};
}

/** The SDK v2 client over HTTP, 2026-07-28, with the tasks extension in every request's capabilities. */
export async function tasksClient(url: string, credential?: string): Promise<Client> {
  const client = new Client(
    { name: 'tasks-test', version: '1.0.0' },
    { capabilities: { extensions: { [TASKS]: {} } }, versionNegotiation: { mode: { pin: MODERN } } },
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: authHeaders(credential) } }),
  );
  return client;
}

export function getTask(client: Client, taskId: string): Promise<Task> {
  return client.request({ method: 'tasks/get', params: { taskId } }, TaskSchema);
}

export async function cancelTask(client: Client, taskId: string): Promise<void> {
  await client.request({ method: 'tasks/cancel', params: { taskId } }, Ack);
}

/** Polls until `done(task)` or `ms` pass (then the last task seen is returned). */
export async function pollTask(
  client: Client,
  taskId: string,
  done: (t: Task) => boolean,
  ms: number,
  everyMs = 250,
): Promise<Task> {
  const until = Date.now() + ms;
  for (;;) {
    const t = await getTask(client, taskId);
    if (done(t) || Date.now() > until) return t;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const settled = (t: Task) => ['completed', 'failed', 'cancelled'].includes(t.status);

/** A tools/call with the 2026-07-28 envelope (tasks declared unless `tasks: false`); the JSON-RPC answer. */
export async function rawCall(
  url: string,
  name: string,
  args: Record<string, unknown>,
  opts: { credential?: string; tasks?: boolean; method?: string; params?: Record<string, unknown> } = {},
): Promise<{ status: number; result?: Record<string, unknown>; error?: { code: number; message: string } }> {
  const method = opts.method ?? 'tools/call';
  const params = opts.params ?? { name, arguments: args };
  const body = {
    jsonrpc: '2.0',
    id: 1,
    method,
    params: {
      ...params,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': MODERN,
        'io.modelcontextprotocol/clientCapabilities':
          opts.tasks === false ? {} : { extensions: { [TASKS]: {} } },
        'io.modelcontextprotocol/clientInfo': { name: 'raw-tasks-test', version: '1' },
      },
    },
  };
  const nameHeader = method === 'tools/call' ? name : String(params.taskId ?? '');
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      'mcp-name': nameHeader,
      ...authHeaders(opts.credential),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  const json = text.trim().startsWith('{')
    ? JSON.parse(text)
    : JSON.parse(
        text
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .pop() ?? '{}',
      );
  return { status: res.status, ...json };
}

/** Starts a task; fails the test when the call did not become one. */
export async function startTask(
  url: string,
  name: string,
  args: Record<string, unknown>,
  credential?: string,
): Promise<Record<string, unknown> & { taskId: string }> {
  const res = await rawCall(url, name, args, credential ? { credential } : {});
  if (res.result?.resultType !== 'task')
    throw new Error(`expected a CreateTaskResult, got ${JSON.stringify(res).slice(0, 500)}`);
  return res.result as Record<string, unknown> & { taskId: string };
}

/** Whether process `pid` holds an open descriptor on `path` (Linux /proc). */
export function holdsOpen(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** CPU seconds (user + system) process `pid` has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the command name.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * A combined-format access log of `lines` lines (deterministic): browsers from many addresses,
 * a scanner probing sensitive paths, a crawler. Written in chunks: a few seconds for millions.
 */
export function writeBigLog(path: string, lines: number): void {
  const fd = openSync(path, 'w');
  const uas = [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
    'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'sqlmap/1.7.2#stable (https://sqlmap.org)',
  ];
  const paths = [
    '/',
    '/index.html',
    '/static/app.js',
    '/blog/post-1',
    '/wp-login.php',
    '/.env',
    '/api/items?page=2',
  ];
  const start = Date.UTC(2026, 10, 20, 0, 0, 0);
  let chunk: string[] = [];
  for (let i = 0; i < lines; i++) {
    const ua = uas[i % 97 === 0 ? 3 : i % 13 === 0 ? 2 : i % 2] as string;
    const ip = ua === uas[3] ? '203.0.113.66' : `198.51.100.${(i * 7) % 250}`;
    const path = ua === uas[3] ? (paths[4 + (i % 3)] as string) : (paths[i % 4] as string);
    const status = path === '/.env' || path === '/wp-login.php' ? 404 : 200;
    const t = new Date(start + i * 20);
    const stamp = `${String(t.getUTCDate()).padStart(2, '0')}/Nov/2026:${String(t.getUTCHours()).padStart(2, '0')}:${String(t.getUTCMinutes()).padStart(2, '0')}:${String(t.getUTCSeconds()).padStart(2, '0')} +0000`;
    chunk.push(`${ip} - - [${stamp}] "GET ${path} HTTP/1.1" ${status} ${1000 + (i % 5000)} "-" "${ua}"`);
    if (chunk.length === 20_000) {
      writeSync(fd, `${chunk.join('\n')}\n`);
      chunk = [];
    }
  }
  if (chunk.length > 0) writeSync(fd, `${chunk.join('\n')}\n`);
  closeSync(fd);
}

/** A TCP server that accepts connections and never answers: a check_http against it runs until its timeout. */
export async function startTarpit(): Promise<{ port: number; open: () => number; close: () => void }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    open: () => sockets.size,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
