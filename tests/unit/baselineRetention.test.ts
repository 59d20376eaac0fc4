import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Principal } from '../../src/auth/principal.js';
import { FileBaselineStore } from '../../src/baselines/fileBaselineStore.js';
import { BaselineQuotaError, chooseEvictions, type Saver } from '../../src/baselines/retention.js';
import type { Baseline, BaselineStore } from '../../src/baselines/types.js';
import { createRedis, type RedisClient } from '../../src/fleet/redisClient.js';
import { RedisBaselineStore } from '../../src/fleet/redisBaselineStore.js';
import { runHealthCheckTool } from '../../src/tools/runHealthCheck.js';
import type { ToolContext } from '../../src/tools/types.js';
import { type RedisPeer, requirePeer, startRedis } from '../helpers/peers.js';
import { configFrom, fixtureHostEnv } from '../helpers/servers.js';

// History is protected: a principal without audit:admin can never cause the loss of a baseline
// it did not create. The attack that found it: an audit:read token ran run_health_check 1,000
// times and count-based retention pruned every older baseline, an admin's included.

const HOST = 'retention-host';
const ADMIN: Saver = { createdBy: 'jwt:admin', admin: true };
const READER: Saver = { createdBy: 'jwt:reader', admin: false };
const READER2: Saver = { createdBy: 'key:ci', admin: false };

let n = 0;
function input(hostId = HOST): Omit<Baseline, 'id' | 'createdBy'> {
  n++;
  return {
    hostId,
    // Strictly increasing: oldest first is unambiguous in both stores.
    createdAt: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    status: 'ok',
    score: 100,
    metrics: { 'memory.used_percent': 40 },
    findings: [],
  };
}

async function owners(store: BaselineStore, hostId = HOST): Promise<Array<string | undefined>> {
  const recent = await store.recent(hostId, 100_000);
  return recent.reverse().map((b) => b.createdBy); // oldest first
}

interface Kind {
  name: string;
  open(limits: { maxCount?: number; maxBytes?: number; maxPerPrincipal?: number }): Promise<BaselineStore>;
}

const dirs: string[] = [];
const fileKind: Kind = {
  name: 'file store',
  async open(l) {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'retention-'));
    dirs.push(dir);
    return new FileBaselineStore({ dir, ...l });
  },
};

const haveRedis = requirePeer('redis-server', 'redis-server');
let redis: RedisPeer | undefined;
let client: RedisClient | undefined;
let prefixes = 0;
const redisKind: Kind = {
  name: 'Redis store',
  async open(l) {
    return new RedisBaselineStore(
      client as RedisClient,
      `ret${Date.now()}-${prefixes++}:`,
      l.maxCount ?? 1000,
      l.maxBytes ?? 50 * 1024 * 1024,
      l.maxPerPrincipal ?? 100,
    );
  },
};

beforeAll(async () => {
  if (!haveRedis) return;
  redis = await startRedis();
  client = createRedis(configFrom({ REDIS_URL: redis.url }));
  await new Promise<void>((resolve, reject) => {
    (client as RedisClient).once('ready', () => resolve());
    (client as RedisClient).once('error', reject);
  });
}, 30_000);
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => fsp.rm(d, { recursive: true, force: true })));
});

for (const kind of [fileKind, ...(haveRedis ? [redisKind] : [])]) {
  describe(`baseline retention (${kind.name})`, () => {
    it("1,000 saves by an audit:read principal keep the admin's baseline and rotate only the reader's own", async () => {
      const store = await kind.open({}); // the defaults: 1000 per host, 100 per principal
      const admin = await store.save(input(), ADMIN);
      for (let i = 0; i < 1000; i++) await store.save(input(), READER);
      expect(await store.get(admin.id)).toMatchObject({ id: admin.id, createdBy: 'jwt:admin' });
      const who = await owners(store);
      expect(who.filter((o) => o === 'jwt:reader')).toHaveLength(100);
      expect(who).toHaveLength(101);
      await store.close();
    }, 120_000);

    it("never prunes another principal's, nor an ownerless (older) baseline, for a non-admin save", async () => {
      const store = await kind.open({ maxCount: 10, maxPerPrincipal: 3 });
      const legacy = await store.save(input()); // no saver: no owner recorded
      const r2 = await store.save(input(), READER2);
      for (let i = 0; i < 20; i++) await store.save(input(), READER);
      expect(await store.get(legacy.id)).toBeDefined();
      expect(await store.get(r2.id)).toBeDefined();
      expect(await owners(store)).toEqual([undefined, 'key:ci', 'jwt:reader', 'jwt:reader', 'jwt:reader']);
      await store.close();
    });

    it("refuses a non-admin save, keeping nothing, when only others' baselines could make room", async () => {
      const store = await kind.open({ maxCount: 4, maxPerPrincipal: 3 });
      for (let i = 0; i < 4; i++) await store.save(input(), ADMIN);
      const before = await store.recent(HOST, 100);
      await expect(store.save(input(), READER)).rejects.toBeInstanceOf(BaselineQuotaError);
      await expect(store.save(input(), READER)).rejects.toThrow(/BASELINE_MAX_COUNT.*audit:admin/);
      expect((await store.recent(HOST, 100)).map((b) => b.id)).toEqual(before.map((b) => b.id));
      // Another host is unaffected.
      expect((await store.save(input('other-host'), READER)).createdBy).toBe('jwt:reader');
      await store.close();
    });

    it('lets an admin save prune the oldest whoever saved it, as delete_baselines could', async () => {
      const store = await kind.open({ maxCount: 3, maxPerPrincipal: 3 });
      const r = await store.save(input(), READER);
      await store.save(input(), READER);
      await store.save(input(), READER2);
      await store.save(input(), ADMIN);
      expect(await store.get(r.id)).toBeUndefined();
      expect(await owners(store)).toEqual(['jwt:reader', 'key:ci', 'jwt:admin']);
      await store.close();
    });

    it('applies the byte budget the same way: a reader makes room only from its own', async () => {
      const store = await kind.open({ maxCount: 1000, maxBytes: 1024 * 1024, maxPerPrincipal: 1000 });
      const big = (tag: string) => ({
        ...input(),
        metrics: Object.fromEntries(Array.from({ length: 9000 }, (_, i) => [`${tag}.m${i}`, i])),
      });
      const a = await store.save(big('a'), ADMIN); // ~150 KB each
      for (let i = 0; i < 12; i++) await store.save(big(`r${i}`), READER);
      expect(await store.get(a.id)).toBeDefined();
      const who = await owners(store);
      expect(who[0]).toBe('jwt:admin');
      expect(who.length).toBeLessThan(13);
      await store.close();
    });
  });
}

describe('chooseEvictions', () => {
  it('drops the oldest own past the per-principal quota, never the one just saved', () => {
    const e = (id: string, createdBy?: string) => ({ id, size: 1, createdBy });
    const entries = [e('a', 'x'), e('b', 'r'), e('c', 'r'), e('d', 'r')];
    expect(
      chooseEvictions(entries, 'd', READER_R, { maxCount: 10, maxBytes: 100, maxPerPrincipal: 2 }),
    ).toEqual({
      drop: ['b'],
      refused: false,
    });
    expect(
      chooseEvictions(entries, 'd', READER_R, { maxCount: 2, maxBytes: 100, maxPerPrincipal: 5 }),
    ).toEqual({
      drop: ['b', 'c'],
      refused: false,
    });
    expect(
      chooseEvictions(entries, 'd', READER_R, { maxCount: 1, maxBytes: 100, maxPerPrincipal: 5 }),
    ).toEqual({
      drop: [],
      refused: true,
    });
  });
});
const READER_R: Saver = { createdBy: 'r', admin: false };

describe('run_health_check saves with the caller as owner', () => {
  const principal = (id: string, scopes: Principal['scopes']): Principal => ({ id, kind: 'jwt', scopes });
  it('keeps an admin baseline under a reader flood, reports a refused save, and is annotated as writing', async () => {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'retention-tool-'));
    dirs.push(dir);
    const store = new FileBaselineStore({ dir, maxCount: 3, maxPerPrincipal: 2 });
    const config = configFrom(fixtureHostEnv('debian'));
    const ctx = (p: Principal | undefined) =>
      ({
        config,
        host: { proc: config.HOST_PROC, sys: config.HOST_SYS, root: config.HOST_ROOT },
        baselines: store,
        principal: p,
        signal: new AbortController().signal,
        progress: async () => undefined,
        notify: () => undefined,
      }) as unknown as ToolContext;
    const args = z.object(runHealthCheckTool.inputSchema).parse({ checks: ['resources'], cpuSampleMs: 0 });
    const admin = await runHealthCheckTool.handler(
      args,
      ctx(principal('jwt:admin', ['audit:read', 'audit:admin'])),
    );
    const adminId = admin.structured.baselineId as string;
    const reader = ctx(principal('jwt:reader', ['audit:read']));
    for (let i = 0; i < 5; i++) {
      const r = await runHealthCheckTool.handler(args, reader);
      expect(r.structured.baselineId).toEqual(expect.any(String));
    }
    expect(await store.get(adminId)).toMatchObject({ createdBy: 'jwt:admin' });
    // The host is full (admin's one and the reader's two): a new reader can only be refused,
    // and an unknown caller (no principal wired) is treated as a non-admin.
    for (const p of [principal('key:other', ['audit:read']), undefined]) {
      const refused = await runHealthCheckTool.handler(args, ctx(p));
      expect(refused.structured.baselineId).toBeNull();
      expect(refused.structured.baselineNotSaved).toMatch(/only a principal with audit:admin/);
      expect(refused.summary).toMatch(/No baseline saved: /);
      expect(refused.structured.status).toMatch(/ok|warning|critical/);
    }
    expect(await store.get(adminId)).toBeDefined();
    expect(runHealthCheckTool.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    await store.close();
  });
});
