/**
 * Tasks in fleet mode with real processes: two server processes (dist/server.js) share a real
 * redis-server, HAProxy balances round-robin without stickiness. A task runs where it was
 * started; any instance answers for it, cancels reach the instance running it, a killed instance's
 * tasks turn failed within the heartbeat bound, caps hold fleet-wide, expired tasks are gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisPeer, requirePeer, startHaproxy, startRedis } from '../helpers/peers.js';
import { type SpawnedServer, spawnServer } from '../helpers/servers.js';
import {
  cancelTask,
  cpuSeconds,
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

const haveRedis = requirePeer('redis-server', 'redis-server');
const haveHaproxy = requirePeer('haproxy', 'haproxy');
const HEARTBEAT_SECONDS = 1;
/** A lease is three heartbeats (taskService.ts). */
const LEASE_MS = HEARTBEAT_SECONDS * 3000;

let redis: RedisPeer;
let dir: string;
let bigLog: string;
let smallLog: string;
const prefix = `tf${Date.now()}:`;
const spawned: SpawnedServer[] = [];

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: redis.url,
    REDIS_PREFIX: prefix,
    REDIS_COMMAND_TIMEOUT_MS: '1000',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_BURST: '0',
    RETRY_COUNT: '0',
    HOST_ROOT: '/',
    AUDIT_ALLOWED_PATHS: dir,
    TASK_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
    ...extra,
  };
}

async function server(e: Record<string, string>): Promise<SpawnedServer> {
  const s = await spawnServer(e);
  spawned.push(s);
  return s;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tasks-fleet-'));
  bigLog = join(dir, 'big-access.log');
  smallLog = join(dir, 'small-access.log');
  writeBigLog(bigLog, 1_500_000);
  writeBigLog(smallLog, 2000);
  if (haveRedis) redis = await startRedis();
}, 120_000);

afterAll(async () => {
  for (const s of spawned) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const bots = (path: string) => ({ paths: [path], verifyBots: false });

describe.skipIf(!haveRedis || !haveHaproxy)('tasks across two instances, one Redis, HAProxy', () => {
  let a: SpawnedServer;
  let b: SpawnedServer;
  let lb: { port: number; stop(): Promise<void> };
  let lbUrl: string;

  beforeAll(async () => {
    const shared = env();
    [a, b] = await Promise.all([server(shared), server(shared)]);
    const ports = [a, b].map((s) => Number(new URL(s.url).port));
    lb = await startHaproxy(ports);
    lbUrl = `http://127.0.0.1:${lb.port}/mcp`;
  }, 60_000);
  afterAll(async () => {
    await lb?.stop();
  });

  it('runs on A, answers on B and through the balancer: polled to completion with its result', async () => {
    const { taskId } = await startTask(a.url, 'analyze_bots', bots(bigLog));
    const onB = await tasksClient(b.url);
    const viaLb = await tasksClient(lbUrl);
    // Running on A (it holds the log open), seen on B.
    const seen = await pollTask(
      onB,
      taskId,
      (t) => holdsOpen(a.child.pid as number, bigLog) || settled(t),
      60_000,
      100,
    );
    expect(['working', 'completed']).toContain(seen.status);
    expect(holdsOpen(b.child.pid as number, bigLog)).toBe(false);
    for (let i = 0; i < 4; i++) expect((await getTask(viaLb, taskId)).taskId).toBe(taskId);
    const done = await pollTask(onB, taskId, settled, 600_000, 500);
    expect(done.status).toBe('completed');
    const result = done.result as { structuredContent: { summary: { lines: number }; partial: boolean } };
    expect(result.structuredContent.summary.lines).toBe(1_500_000);
    expect(result.structuredContent.partial).toBe(false);
    await Promise.all([onB.close(), viaLb.close()]);
  }, 700_000);

  it('cancel through B stops the work on A', async () => {
    const { taskId } = await startTask(a.url, 'analyze_bots', bots(bigLog));
    const onB = await tasksClient(b.url);
    const pidA = a.child.pid as number;
    const running = await pollTask(onB, taskId, (t) => holdsOpen(pidA, bigLog) || settled(t), 60_000, 50);
    expect(running.status).toBe('working');
    await cancelTask(onB, taskId);
    expect((await getTask(onB, taskId)).status).toBe('cancelled');
    const until = Date.now() + 30_000;
    while (holdsOpen(pidA, bigLog) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(holdsOpen(pidA, bigLog)).toBe(false);
    // A is idle again: under a second of CPU in the next two (it read at full speed before).
    const cpu0 = cpuSeconds(pidA);
    await new Promise((r) => setTimeout(r, 2000));
    expect(cpuSeconds(pidA) - cpu0).toBeLessThan(1);
    expect((await getTask(onB, taskId)).status).toBe('cancelled');
    await onB.close();
  }, 120_000);

  it('caps running tasks per principal across the fleet: the fifth is refused', async () => {
    const tarpit = await startTarpit();
    const call = { urls: [`http://127.0.0.1:${tarpit.port}/`], timeoutMs: 60_000 };
    const ids: string[] = [];
    for (const s of [a, b, a, b]) ids.push((await startTask(s.url, 'check_http', call)).taskId);
    const fifth = await rawCall(lbUrl, 'check_http', call);
    expect(fifth.result).toMatchObject({ isError: true });
    expect(JSON.stringify(fifth.result)).toMatch(/MAX_TASKS_PER_PRINCIPAL=4/);
    const client = await tasksClient(lbUrl);
    for (const id of ids) await cancelTask(client, id);
    // A freed slot can be used again.
    const again = await startTask(lbUrl, 'check_http', call);
    await cancelTask(client, again.taskId);
    await client.close();
    tarpit.close();
  }, 60_000);

  it('forgets a task after its TTL: tasks/get says not found and Redis holds nothing of it', async () => {
    const c = await server(env({ TASK_TTL_SECONDS: '2' }));
    const { taskId } = await startTask(c.url, 'analyze_bots', bots(smallLog));
    const client = await tasksClient(b.url);
    expect((await pollTask(client, taskId, settled, 60_000)).status).toBe('completed');
    const until = Date.now() + 30_000;
    let error: unknown;
    while (Date.now() < until) {
      try {
        await getTask(client, taskId);
        await new Promise((r) => setTimeout(r, 250));
      } catch (err) {
        error = err;
        break;
      }
    }
    expect(String(error)).toMatch(/not found/i);
    const r = new Redis(redis.url);
    const keys = await r.keys(`${prefix}task:*${taskId}*`);
    await r.quit();
    expect(keys).toEqual([]);
    await client.close();
    c.child.kill('SIGTERM');
    await c.exit;
  }, 120_000);

  it('fails the tasks of an instance that shuts down gracefully at once, seen from B', async () => {
    const d = await server(env({ SHUTDOWN_GRACE_SECONDS: '1' }));
    const tarpit = await startTarpit();
    const { taskId } = await startTask(d.url, 'check_http', {
      urls: [`http://127.0.0.1:${tarpit.port}/`],
      timeoutMs: 60_000,
    });
    const onB = await tasksClient(b.url);
    expect((await getTask(onB, taskId)).status).toBe('working');
    d.child.kill('SIGTERM');
    expect(await d.exit).toBe(0);
    // No lease to wait for: the instance settled its tasks before it exited.
    const now = await getTask(onB, taskId);
    expect(now.status).toBe('failed');
    expect(now.statusMessage).toMatch(/shut down/);
    await onB.close();
    tarpit.close();
  }, 60_000);

  it('turns a killed instance’s task failed within the heartbeat bound, seen from B', async () => {
    const tarpit = await startTarpit();
    const { taskId } = await startTask(a.url, 'check_http', {
      urls: [`http://127.0.0.1:${tarpit.port}/`],
      timeoutMs: 60_000,
    });
    const onB = await tasksClient(b.url);
    // Wait for a heartbeat to have renewed the lease, so the bound measured is the full lease.
    await new Promise((r) => setTimeout(r, HEARTBEAT_SECONDS * 1500));
    expect((await getTask(onB, taskId)).status).toBe('working');
    a.child.kill('SIGKILL');
    const killed = Date.now();
    await a.exit;
    const failed = await pollTask(onB, taskId, settled, LEASE_MS + 30_000, 100);
    const detectedMs = Date.now() - killed;
    console.log(
      `dead instance detected after ${detectedMs} ms (lease ${LEASE_MS} ms, heartbeat ${HEARTBEAT_SECONDS} s)`,
    );
    expect(failed.status).toBe('failed');
    expect(failed.statusMessage).toMatch(/instance running this task stopped/);
    expect(failed.error).toMatchObject({ code: -32603 });
    // Within the lease, plus polling and a scheduling margin on a loaded machine.
    expect(detectedMs).toBeLessThan(LEASE_MS + 10_000);
    await onB.close();
    tarpit.close();
  }, 120_000);
});
