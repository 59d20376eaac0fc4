/**
 * One contract, two stores: the in-process one and the Redis one (a real redis-server on a free
 * loopback port). Ownership, the per-owner cap, leases (a runner that stops renewing is lost),
 * terminal states that never change, input requests answered in parts, large results kept
 * compressed, expiry.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisTaskStore } from '../../src/fleet/redisTaskStore.js';
import {
  COMPRESS_OVER_BYTES,
  MemoryTaskStore,
  type TaskRecord,
  type TaskStore,
} from '../../src/tasks/taskStore.js';
import { type RedisPeer, requirePeer, startRedis } from '../helpers/peers.js';

const haveRedis = requirePeer('redis-server', 'redis-server');
let redis: RedisPeer | undefined;
let client: Redis | undefined;
const prefix = `ts${Date.now()}:`;

beforeAll(async () => {
  if (!haveRedis) return;
  redis = await startRedis();
  client = new Redis(redis.url);
});
afterAll(async () => {
  await client?.quit();
  await redis?.stop();
});

let n = 0;
function record(owner: string, over: Partial<TaskRecord> = {}): TaskRecord {
  const now = Date.now();
  return {
    id: `${(++n).toString(16).padStart(8, '0')}${'0'.repeat(24)}`,
    owner,
    tool: 'analyze_bots',
    status: 'working',
    statusMessage: 'Started',
    createdAt: now,
    lastUpdatedAt: now,
    expiresAt: now + 60_000,
    pollIntervalMs: 2000,
    runner: 'instance-1',
    leaseUntil: now + 10_000,
    ...over,
  };
}

const LOST = 'runner gone';
const later = () => Date.now() + 60_000;

const stores: Array<[string, () => TaskStore]> = [['memory', () => new MemoryTaskStore()]];
if (haveRedis) stores.push(['redis', () => new RedisTaskStore(client as Redis, prefix)]);

describe.each(stores)('%s task store', (kind, make) => {
  it('finds a task only under its owner', async () => {
    const s = make();
    const r = record('alice');
    expect(await s.create(r, 4)).toBe(true);
    expect((await s.get('alice', r.id, LOST))?.status).toBe('working');
    expect(await s.get('bob', r.id, LOST)).toBeUndefined();
    expect(await s.cancel('bob', r.id, 'no')).toBe('not-found');
    expect(await s.addInput('bob', r.id, {})).toBe('not-found');
    expect((await s.get('alice', r.id, LOST))?.status).toBe('working');
  });

  it('caps active tasks per owner; settled and lost tasks free their slot', async () => {
    const s = make();
    const owner = `cap-${kind}-${Date.now()}`;
    const rs = [1, 2, 3].map(() => record(owner));
    for (const r of rs) expect(await s.create(r, 3)).toBe(true);
    expect(await s.create(record(owner), 3)).toBe(false);
    expect(await s.create(record(`${owner}-other`), 3)).toBe(true);
    await s.finish(owner, rs[0]!.id, { status: 'completed', result: { content: [] }, keepUntil: later() });
    expect(await s.create(record(owner), 3)).toBe(true);
    // A task whose lease ran out no longer counts, even before anyone reads it.
    const short = record(`${owner}-lease`, { leaseUntil: Date.now() + 50 });
    expect(await s.create(short, 1)).toBe(true);
    expect(await s.create(record(`${owner}-lease`), 1)).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(await s.create(record(`${owner}-lease`), 1)).toBe(true);
  });

  it('fails an active task whose lease ran out, and keeps it failed', async () => {
    const s = make();
    const r = record('alice', { leaseUntil: Date.now() + 100 });
    await s.create(r, 4);
    expect(await s.renew('alice', r.id, Date.now() + 100)).toBe(true);
    await new Promise((res) => setTimeout(res, 200));
    const lost = await s.get('alice', r.id, LOST);
    expect(lost).toMatchObject({
      status: 'failed',
      statusMessage: LOST,
      error: { code: -32603, message: LOST },
    });
    // The runner coming back cannot revive or overwrite it.
    expect(await s.renew('alice', r.id, Date.now() + 10_000)).toBe(false);
    expect(await s.finish('alice', r.id, { status: 'completed', result: {}, keepUntil: later() })).toBe(
      false,
    );
    expect((await s.get('alice', r.id, LOST))?.status).toBe('failed');
  });

  it('cancels once: terminal states stand, a cancelled task cannot complete', async () => {
    const s = make();
    const r = record('alice');
    await s.create(r, 4);
    expect(await s.cancel('alice', r.id, 'by client')).toBe('cancelled');
    expect(await s.cancel('alice', r.id, 'again')).toBe('terminal');
    expect(await s.finish('alice', r.id, { status: 'completed', result: {}, keepUntil: later() })).toBe(
      false,
    );
    expect(await s.renew('alice', r.id, Date.now() + 10_000)).toBe(false);
    expect(await s.get('alice', r.id, LOST)).toMatchObject({
      status: 'cancelled',
      statusMessage: 'by client',
    });
  });

  it('collects input in parts: answered keys leave, the task works again when none is left', async () => {
    const s = make();
    const r = record('alice');
    await s.create(r, 4);
    const ask = {
      method: 'elicitation/create',
      params: { message: 'name?', requestedSchema: { required: [] } },
    };
    expect(
      await s.update('alice', r.id, { status: 'input_required', inputRequests: { a: ask, b: ask } }),
    ).toBe(true);
    expect((await s.get('alice', r.id, LOST))?.inputRequests).toEqual({ a: ask, b: ask });
    expect(
      await s.addInput('alice', r.id, { a: { action: 'accept', content: { x: 1 } }, zzz: { ignored: true } }),
    ).toBe('ok');
    const half = await s.get('alice', r.id, LOST);
    expect(half?.status).toBe('input_required');
    expect(Object.keys(half?.inputRequests ?? {})).toEqual(['b']);
    await s.addInput('alice', r.id, { b: { action: 'accept', content: { y: [] } } });
    const resumed = await s.get('alice', r.id, LOST);
    expect(resumed?.status).toBe('working');
    expect(resumed?.inputRequests).toBeUndefined();
    expect(await s.takeInput('alice', r.id)).toEqual({
      a: { action: 'accept', content: { x: 1 } },
      b: { action: 'accept', content: { y: [] } },
    });
    expect(await s.takeInput('alice', r.id)).toEqual({});
  });

  it('keeps results, large ones compressed, and returns them intact', async () => {
    const s = make();
    const r = record('alice');
    await s.create(r, 4);
    const big = {
      content: [{ type: 'text', text: 'x' }],
      structuredContent: {
        rows: Array.from({ length: 5000 }, (_, i) => ({ ip: `198.51.100.${i % 250}`, n: i })),
      },
    };
    expect(JSON.stringify(big).length).toBeGreaterThan(COMPRESS_OVER_BYTES);
    expect(await s.finish('alice', r.id, { status: 'completed', result: big, keepUntil: later() })).toBe(
      true,
    );
    expect(await s.result('alice', r.id)).toEqual(big);
    expect(await s.result('bob', r.id)).toBeUndefined();
    if (kind === 'redis') {
      const keys = await (client as Redis).keys(`${prefix}task:*:${r.id}:result`);
      expect(keys).toHaveLength(1);
      const stored = (await (client as Redis).getBuffer(keys[0] as string)) as Buffer;
      expect(stored[0]).toBe(0x1f); // gzip
      expect(stored.length).toBeLessThan(JSON.stringify(big).length / 5);
      // It expires with the record.
      expect(await (client as Redis).pttl(keys[0] as string)).toBeGreaterThan(0);
    }
  });

  it('forgets a task and its result when it expires', async () => {
    const s = make();
    const r = record('alice', { expiresAt: Date.now() + 300, leaseUntil: Date.now() + 100 });
    await s.create(r, 4);
    await s.finish('alice', r.id, {
      status: 'completed',
      result: { content: [] },
      keepUntil: Date.now() + 300,
    });
    expect((await s.get('alice', r.id, LOST))?.status).toBe('completed');
    await new Promise((res) => setTimeout(res, 500));
    expect(await s.get('alice', r.id, LOST)).toBeUndefined();
    expect(await s.result('alice', r.id)).toBeUndefined();
    expect(await s.cancel('alice', r.id, 'late')).toBe('not-found');
  });

  it('keeps a running task past its TTL while its runner renews the lease', async () => {
    const s = make();
    const r = record('alice', { expiresAt: Date.now() + 300 });
    await s.create(r, 4);
    for (let i = 0; i < 5; i++) {
      expect(await s.renew('alice', r.id, Date.now() + 400)).toBe(true);
      await new Promise((res) => setTimeout(res, 150));
    }
    expect((await s.get('alice', r.id, LOST))?.status).toBe('working');
  });
});
