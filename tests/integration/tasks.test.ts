/**
 * Long calls as tasks over real HTTP, one instance in this process: the SDK v2 client (2026-07-28,
 * tasks extension declared) polls and cancels; a generated multi-million-line access log makes
 * analyze_bots run long enough to drop the connection, cancel, and watch the work stop.
 * Principals are JWTs (HS256): alice, bob, and alice again with fewer scopes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/observability/auditLog.js';
import type { RunningHttp } from '../../src/runtime.js';
import { AUDIENCE, hsToken, ISSUER, SECRET } from '../helpers/authTestBed.js';
import { MCP_HEADERS, rawRequest, ROOT, rpcMessages, startInProcess } from '../helpers/servers.js';
import {
  cancelTask,
  getTask,
  holdsOpen,
  pollTask,
  rawCall,
  settled,
  startTarpit,
  startTask,
  tasksClient,
  writeBigLog,
} from '../helpers/tasks.js';

const LINES = 2_000_000;
let dir: string;
let bigLog: string;
let smallLog: string;
let server: RunningHttp;
const records: AuditRecord[] = [];
let alice: string;
let bob: string;
let aliceReadOnly: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tasks-test-'));
  bigLog = join(dir, 'big-access.log');
  smallLog = join(dir, 'small-access.log');
  writeBigLog(bigLog, LINES);
  writeBigLog(smallLog, 2000);
  server = await startInProcess(
    {
      // Log paths are read under HOST_ROOT.
      HOST_ROOT: '/',
      AUDIT_ALLOWED_PATHS: dir,
      AUTH_JWT_SECRET: SECRET,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_BURST: '0',
      RETRY_COUNT: '0',
      // The plain call compared with the task must not stop at the deadline on a busy machine.
      TOOL_DEADLINE_SECONDS: '900',
      TASK_HEARTBEAT_SECONDS: '1',
    },
    { audit: (r) => records.push(r) },
  );
  alice = await hsToken({ sub: 'alice' });
  bob = await hsToken({ sub: 'bob' });
  aliceReadOnly = await hsToken({ sub: 'alice', scope: 'audit:read' });
}, 120_000);

afterAll(async () => {
  await server?.shutdown('test done');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const bots = (path: string) => ({ paths: [path], verifyBots: false });

describe('analyze_bots on a multi-million-line log as a task', () => {
  it('survives a dropped connection: reconnect, poll to completion, fetch the same result as a plain call', async () => {
    // A client that will give up: it starts the task and goes away.
    const first = await tasksClient(server.url, alice);
    const created = await startTask(server.url, 'analyze_bots', bots(bigLog), alice);
    expect(created).toMatchObject({ resultType: 'task', status: 'working' });
    expect(created.taskId).toMatch(/^[0-9a-f]{32}$/);
    expect(Number.isInteger(created.ttlMs) && (created.ttlMs as number) > 0).toBe(true);
    expect(await getTask(first, created.taskId)).toMatchObject({ taskId: created.taskId });
    await first.close();

    const again = await tasksClient(server.url, alice);
    const messages = new Set<string>();
    const done = await pollTask(
      again,
      created.taskId,
      (t) => {
        if (t.status === 'working' && t.statusMessage) messages.add(t.statusMessage);
        return settled(t);
      },
      600_000,
      500,
    );
    expect(done.status).toBe('completed');
    // Progress reached the status message while it ran (bytes read, as a share of the file).
    expect([...messages].some((m) => /\(\d+%\)/.test(m))).toBe(true);
    const fromTask = (done.result as { structuredContent: Record<string, unknown> }).structuredContent;
    await again.close();

    // The same call without the extension runs synchronously and answers the same.
    const plain = new Client(
      { name: 'plain', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await plain.connect(
      new StreamableHTTPClientTransport(new URL(server.url), {
        requestInit: { headers: { authorization: `Bearer ${alice}` } },
      }),
    );
    const sync = await plain.callTool(
      { name: 'analyze_bots', arguments: bots(bigLog) },
      { timeout: 900_000 },
    );
    await plain.close();
    const fromCall = sync.structuredContent as Record<string, unknown>;
    const { durationMs: _a, ...taskRest } = fromTask;
    const { durationMs: _b, ...callRest } = fromCall;
    expect(_a).toBeGreaterThan(0);
    expect(_b).toBeGreaterThan(0);
    expect(taskRest).toEqual(callRest);
    expect(fromTask.partial).toBe(false);
    expect((fromTask.summary as { lines: number }).lines).toBe(LINES);
    // One audit record for the task, written when it settled.
    expect(records.filter((r) => r.task === created.taskId)).toMatchObject([
      { outcome: 'ok', principal: 'jwt:alice' },
    ]);
  }, 1_200_000);

  it('cancels a running task: it reads cancelled and the work stops (file closed, CPU back to idle)', async () => {
    const client = await tasksClient(server.url, alice);
    const { taskId } = await startTask(server.url, 'analyze_bots', bots(bigLog), alice);
    // Under way: the log is open and progress is reported.
    const running = await pollTask(
      client,
      taskId,
      (t) => holdsOpen(process.pid, bigLog) || settled(t),
      60_000,
      100,
    );
    expect(running.status).toBe('working');
    await cancelTask(client, taskId);
    expect((await getTask(client, taskId)).status).toBe('cancelled');
    const until = Date.now() + 30_000;
    while (holdsOpen(process.pid, bigLog) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(holdsOpen(process.pid, bigLog)).toBe(false);
    // Nothing keeps reading: this process's CPU time stays near zero for the next two seconds.
    const before = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 2000));
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1e6).toBeLessThan(1);
    // It stays cancelled, and its one audit record says so.
    expect((await getTask(client, taskId)).status).toBe('cancelled');
    const until2 = Date.now() + 10_000;
    while (!records.some((r) => r.task === taskId) && Date.now() < until2)
      await new Promise((r) => setTimeout(r, 50));
    expect(records.filter((r) => r.task === taskId)).toMatchObject([{ outcome: 'cancelled' }]);
    await client.close();
  }, 120_000);
});

describe('ownership and scopes', () => {
  it('another principal can neither see nor cancel a task; the owner without the tool scope cannot read it', async () => {
    const tarpit = await startTarpit();
    const call = { urls: [`http://127.0.0.1:${tarpit.port}/`], timeoutMs: 60_000 };
    const { taskId } = await startTask(server.url, 'check_http', call, alice);
    const asBob = await tasksClient(server.url, bob);
    const unknown = await rawCall(
      server.url,
      '',
      {},
      {
        credential: bob,
        method: 'tasks/get',
        params: { taskId: 'f'.repeat(32) },
      },
    );
    const foreign = await rawCall(
      server.url,
      '',
      {},
      { credential: bob, method: 'tasks/get', params: { taskId } },
    );
    // Exactly the answer for an id that does not exist.
    expect(foreign.error).toEqual(unknown.error);
    expect(foreign.error?.code).toBe(-32602);
    await expect(getTask(asBob, taskId)).rejects.toThrow(/not found/i);
    await expect(cancelTask(asBob, taskId)).rejects.toThrow(/not found/i);
    const asAlice = await tasksClient(server.url, alice);
    expect((await getTask(asAlice, taskId)).status).toBe('working');
    // Still alice, but her new token lacks audit:network: the task's result is not hers to read now.
    const reduced = await rawCall(
      server.url,
      '',
      {},
      { credential: aliceReadOnly, method: 'tasks/get', params: { taskId } },
    );
    expect(reduced.error?.message).toMatch(/audit:network/);
    await cancelTask(asAlice, taskId);
    expect((await getTask(asAlice, taskId)).status).toBe('cancelled');
    await Promise.all([asBob.close(), asAlice.close()]);
    tarpit.close();
  }, 60_000);

  it('checks scopes when a task starts: a call outside them is refused before any task exists', async () => {
    const res = await rawCall(server.url, 'analyze_bots', bots(smallLog), { credential: aliceReadOnly });
    expect(res.result).toMatchObject({ isError: true, resultType: 'complete' });
    expect(JSON.stringify(res.result)).toMatch(/audit:logs/);
  });
});

describe('negotiation', () => {
  it('runs the call synchronously when the request does not declare the extension', async () => {
    const res = await rawCall(server.url, 'analyze_bots', bots(smallLog), {
      credential: alice,
      tasks: false,
    });
    expect(res.result?.resultType).toBe('complete');
    expect((res.result?.structuredContent as { partial?: boolean }).partial).toBe(false);
  });

  it('answers task methods without the extension with -32021 naming it', async () => {
    const res = await rawCall(
      server.url,
      '',
      {},
      {
        credential: alice,
        tasks: false,
        method: 'tasks/get',
        params: { taskId: 'f'.repeat(32) },
      },
    );
    expect(res.status).toBe(400);
    expect(res.error).toMatchObject({
      code: -32021,
      data: { requiredCapabilities: { extensions: { 'io.modelcontextprotocol/tasks': {} } } },
    });
  });

  it('keeps short tools synchronous even with the extension', async () => {
    const res = await rawCall(server.url, 'detect_system', {}, { credential: alice });
    expect(res.result?.resultType).toBe('complete');
    expect(res.result?.taskId).toBeUndefined();
  });

  it('serves 2025-11-25 task-augmented calls: { task }, tasks/get, tasks/result with the related-task tag', async () => {
    const headers = { ...MCP_HEADERS, authorization: `Bearer ${alice}` };
    const init = await rawRequest(server.url, {
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'legacy', version: '1' },
        },
      }),
    });
    const [initMsg] = rpcMessages(init.body) as Array<{ result: { capabilities: Record<string, unknown> } }>;
    expect(initMsg?.result.capabilities.tasks).toEqual({ cancel: {}, requests: { tools: { call: {} } } });
    expect(initMsg?.result.capabilities.extensions).toBeUndefined();
    const session = {
      ...headers,
      'mcp-session-id': String(init.headers['mcp-session-id']),
      'mcp-protocol-version': '2025-11-25',
    };
    const rpc = async (method: string, params: Record<string, unknown>, id = 2) =>
      rpcMessages(
        (
          await rawRequest(server.url, {
            headers: session,
            body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
          })
        ).body,
      )[0] as {
        result?: Record<string, unknown>;
        error?: { code: number; message: string };
      };
    const list = await rpc('tools/list', {});
    const tools = (list.result?.tools ?? []) as Array<{ name: string; execution?: { taskSupport?: string } }>;
    expect(tools.find((t) => t.name === 'analyze_bots')?.execution).toEqual({ taskSupport: 'optional' });
    expect(tools.find((t) => t.name === 'detect_system')?.execution).toBeUndefined();
    const created = await rpc('tools/call', {
      name: 'analyze_bots',
      arguments: bots(smallLog),
      task: { ttl: 60_000 },
    });
    const task = created.result?.task as {
      taskId: string;
      status: string;
      ttl: number;
      pollInterval: number;
    };
    expect(task).toMatchObject({ status: 'working' });
    expect(task.ttl).toBeGreaterThan(0);
    const got = await rpc('tasks/get', { taskId: task.taskId });
    expect(got.result).toMatchObject({ taskId: task.taskId });
    const result = await rpc('tasks/result', { taskId: task.taskId });
    expect(result.result?.structuredContent).toBeDefined();
    expect((result.result?._meta as Record<string, unknown>)['io.modelcontextprotocol/related-task']).toEqual(
      {
        taskId: task.taskId,
      },
    );
    // A settled task cannot be cancelled on this revision (-32602); on 2026-07-28 it is an ack.
    const cancel = await rpc('tasks/cancel', { taskId: task.taskId });
    expect(cancel.error?.code).toBe(-32602);
    // A short tool cannot run as a task: the 2025-11-25 answer is -32601.
    const forbidden = await rpc('tools/call', { name: 'detect_system', arguments: {}, task: {} });
    expect(forbidden.error?.code).toBe(-32601);
    // Without `task` the same call is synchronous.
    const plain = await rpc('tools/call', { name: 'analyze_bots', arguments: bots(smallLog) });
    expect(plain.result?.structuredContent).toBeDefined();
  }, 60_000);
});

describe('stdio', () => {
  it('runs a task on a 2026-07-28 stdio connection and answers tasks/get on it', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'server.js'), '--stdio'], {
      env: { ...process.env, HOST_ROOT: '/', AUDIT_ALLOWED_PATHS: dir, DATA_DIR: dir, LOG_LEVEL: 'warn' },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const answers = new Map<number, Record<string, unknown>>();
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = JSON.parse(line) as { id?: number };
      if (typeof m.id === 'number') answers.set(m.id, m as Record<string, unknown>);
    });
    const meta = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': { extensions: { 'io.modelcontextprotocol/tasks': {} } },
    };
    const ask = async (id: number, method: string, params: Record<string, unknown>) => {
      child.stdin.write(
        `${JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } })}\n`,
      );
      const until = Date.now() + 60_000;
      while (!answers.has(id) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      return answers.get(id) as { result?: Record<string, unknown>; error?: { code: number } };
    };
    try {
      const created = await ask(1, 'tools/call', { name: 'analyze_bots', arguments: bots(smallLog) });
      expect(created.result).toMatchObject({ resultType: 'task', status: 'working' });
      const taskId = created.result?.taskId as string;
      let status = '';
      for (let id = 2; id < 400 && status !== 'completed'; id++) {
        const got = await ask(id, 'tasks/get', { taskId });
        status = String(got.result?.status);
        if (status !== 'completed') await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe('completed');
    } finally {
      child.kill('SIGTERM');
    }
  }, 120_000);
});

describe('deadlines and the per-instance cap', () => {
  let small: RunningHttp;
  beforeAll(async () => {
    small = await startInProcess({
      HOST_ROOT: '/',
      AUDIT_ALLOWED_PATHS: dir,
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_BURST: '0',
      TOOL_DEADLINE_SECONDS: '1',
      TASK_DEADLINE_SECONDS: '3',
      MAX_TASKS_RUNNING: '1',
    });
  });
  afterAll(async () => {
    await small?.shutdown('test done');
  });

  it('gives a task TASK_DEADLINE_SECONDS where a plain call gets TOOL_DEADLINE_SECONDS', async () => {
    const plain = await rawCall(small.url, 'analyze_bots', bots(bigLog), { tasks: false });
    const sync = plain.result?.structuredContent as { partial: boolean; stoppedBecause?: string };
    expect(sync.partial).toBe(true);
    expect(JSON.stringify(plain.result)).toMatch(/deadline of 1 s reached/);
    const client = await tasksClient(small.url);
    const { taskId } = await startTask(small.url, 'analyze_bots', bots(bigLog));
    const done = await pollTask(client, taskId, settled, 120_000);
    expect(done.status).toBe('completed');
    expect(JSON.stringify(done.result)).toMatch(/deadline of 3 s reached/);
    await client.close();
  }, 180_000);

  it('refuses a task over MAX_TASKS_RUNNING on this instance, naming the setting', async () => {
    const tarpit = await startTarpit();
    const call = { urls: [`http://127.0.0.1:${tarpit.port}/`], timeoutMs: 60_000 };
    const first = await startTask(small.url, 'check_http', call);
    const second = await rawCall(small.url, 'check_http', call);
    expect(second.result).toMatchObject({ isError: true });
    expect(JSON.stringify(second.result)).toMatch(/MAX_TASKS_RUNNING=1/);
    const client = await tasksClient(small.url);
    await cancelTask(client, first.taskId);
    await client.close();
    tarpit.close();
  }, 60_000);
});
