import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileBaselineStore, hostDirName } from '../../src/baselines/fileBaselineStore.js';
import type { Baseline } from '../../src/baselines/types.js';

const HOST = '0123456789abcdef0123456789abcdef';
const dirs: string[] = [];
const stores: FileBaselineStore[] = [];

async function freshDir(): Promise<string> {
  const d = await fsp.mkdtemp(join(tmpdir(), 'baselines-test-'));
  dirs.push(d);
  return d;
}

function open(dir: string, opts: Partial<ConstructorParameters<typeof FileBaselineStore>[0]> = {}) {
  const s = new FileBaselineStore({ dir, ...opts });
  stores.push(s);
  return s;
}

/** Baseline n of a series: one per day from 2026-11-01, disk usage growing a point a day. */
function input(n: number, extra: Partial<Omit<Baseline, 'id'>> = {}): Omit<Baseline, 'id'> {
  return {
    hostId: HOST,
    createdAt: new Date(Date.UTC(2026, 10, 1) + n * 86_400_000).toISOString(),
    status: 'ok',
    score: 100 - n,
    metrics: { 'disk./.used_percent': 50 + n, 'memory.used_percent': 40 },
    findings: [{ id: 'disk.used_percent:/', severity: 'low', title: `disk at ${50 + n}%` }],
    ...extra,
  };
}

const hostPath = (dir: string, host = HOST) => join(dir, 'baselines', hostDirName(host));

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await Promise.all(dirs.splice(0).map((d) => fsp.rm(d, { recursive: true, force: true })));
});

describe('FileBaselineStore basics', () => {
  it('assigns a URL-safe, time-sortable id and reads the record back', async () => {
    const dir = await freshDir();
    const store = open(dir);
    const saved = await store.save(input(3, { label: 'before upgrade' }));
    expect(saved.id).toMatch(new RegExp(`^${HOST}~20261104T000000000Z~[0-9a-f]{6}$`));
    expect(encodeURIComponent(saved.id)).toBe(saved.id);
    expect(saved).toEqual({ id: saved.id, ...input(3, { label: 'before upgrade' }) });
    // A second store (cold cache) reads the file written by the first.
    const other = open(dir);
    expect(await other.get(saved.id)).toEqual(saved);
    expect(await other.list()).toEqual([
      {
        id: saved.id,
        hostId: HOST,
        createdAt: '2026-11-04T00:00:00.000Z',
        label: 'before upgrade',
        status: 'ok',
        score: 97,
        metricCount: 2,
        findingCount: 1,
      },
    ]);
  });

  it('lists and returns recent baselines newest first, whatever the save order', async () => {
    const store = open(await freshDir());
    for (const n of [2, 0, 4, 1, 3]) await store.save(input(n));
    const recent = await store.recent(HOST, 3);
    expect(recent.map((b) => b.score)).toEqual([96, 97, 98]);
    expect((await store.list({ hostId: HOST, limit: 2 })).map((s) => s.score)).toEqual([96, 97]);
    expect(await store.recent('other-host', 3)).toEqual([]);
    expect(await store.recent(HOST, 0)).toEqual([]);
  });

  it('lists across hosts newest first and keeps hosts with unsafe ids apart', async () => {
    const dir = await freshDir();
    const store = open(dir);
    await store.save(input(1, { hostId: 'web 01/a' }));
    await store.save(input(2, { hostId: 'web_01_a' }));
    await store.save(input(0));
    expect(hostDirName('web 01/a')).toMatch(/^web_01_a_[0-9a-f]{8}$/);
    expect((await fsp.readdir(join(dir, 'baselines'))).sort()).toEqual(
      [HOST, hostDirName('web 01/a'), 'web_01_a'].sort(),
    );
    expect((await store.list()).map((s) => s.hostId)).toEqual(['web_01_a', 'web 01/a', HOST]);
    expect((await store.recent('web 01/a', 10)).map((b) => b.score)).toEqual([99]);
  });

  it('refuses hostile and malformed ids without touching paths outside the store', async () => {
    const dir = await freshDir();
    const store = open(dir);
    const saved = await store.save(input(0));
    // A valid-looking record outside the store must stay unreachable.
    await fsp.writeFile(join(dir, 'secret.json'), JSON.stringify({ ...saved }));
    for (const id of [
      '../../etc/passwd',
      '..',
      `../${saved.id}`,
      `..~20261101T000000000Z~abcdef`,
      `${HOST}/../x~20261101T000000000Z~abcdef`,
      '/etc/passwd',
      '',
      `${saved.id}.json`,
      `${saved.id}\u0000`,
      'secret',
    ]) {
      expect(await store.get(id)).toBeUndefined();
    }
    expect(await store.get(`${HOST}~20991101T000000000Z~abcdef`)).toBeUndefined();
    expect(await store.get(saved.id)).toEqual(saved);
  });

  it('rejects invalid input and drops metrics JSON cannot hold', async () => {
    const store = open(await freshDir());
    await expect(store.save(input(0, { createdAt: 'yesterday' }))).rejects.toThrow();
    await expect(store.save(input(0, { hostId: '' }))).rejects.toThrow();
    const saved = await store.save(input(0, { metrics: { a: 1, b: Number.NaN, c: Infinity } }));
    expect(saved.metrics).toEqual({ a: 1 });
    expect(Object.isFrozen(saved)).toBe(true);
  });
});

describe('FileBaselineStore durability', () => {
  it('ignores a leftover temp file from a crash and removes it on the next save', async () => {
    const dir = await freshDir();
    const store = open(dir);
    const first = await store.save(input(0));
    const hostDir = hostPath(dir);
    // What a crash between write and rename leaves: a complete temp file, never renamed.
    const ghostId = `${HOST}~20261120T000000000Z~abcdef`;
    const ours = `.${ghostId}.json.${process.pid}.0badc0de.tmp`;
    const stale = `.${ghostId}.json.999999999.12345678.tmp`;
    const young = `.${ghostId}.json.999999998.12345678.tmp`;
    for (const name of [ours, stale, young]) {
      await fsp.writeFile(join(hostDir, name), JSON.stringify({ ...first, id: ghostId }));
    }
    const old = new Date(Date.now() - 10 * 60_000);
    await fsp.utimes(join(hostDir, stale), old, old);

    const cold = open(dir);
    expect((await cold.list()).map((s) => s.id)).toEqual([first.id]);
    expect(await cold.get(ghostId)).toBeUndefined();
    expect((await cold.recent(HOST, 10)).map((b) => b.id)).toEqual([first.id]);

    const second = await store.save(input(1));
    // This pid's leftover and another pid's stale one are gone; another process's fresh temp
    // file may still be in the middle of a write and stays.
    expect((await fsp.readdir(hostDir)).sort()).toEqual(
      [young, `${first.id}.json`, `${second.id}.json`].sort(),
    );
  });

  it('leaves nothing behind when the rename fails, and the store keeps working', async () => {
    const dir = await freshDir();
    let failRename = true;
    const store = open(dir, {
      fs: {
        ...fsp,
        rename: async (a, b) => {
          if (failRename) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
          return fsp.rename(a, b);
        },
      },
    });
    await expect(store.save(input(0))).rejects.toThrow('EIO: injected');
    expect(await fsp.readdir(hostPath(dir))).toEqual([]);
    expect(await store.list()).toEqual([]);
    failRename = false;
    const ok = await store.save(input(1));
    expect((await store.list()).map((s) => s.id)).toEqual([ok.id]);
  });

  it('skips and counts corrupt files instead of failing', async () => {
    const dir = await freshDir();
    const warnings: string[] = [];
    const store = open(dir, { warn: (m) => warnings.push(m) });
    const good = await store.save(input(0));
    const hostDir = hostPath(dir);
    const bad = (n: number) => `${HOST}~2026110${n}T000000000Z~00000${n}`;
    await fsp.writeFile(join(hostDir, `${bad(2)}.json`), '{"id": "truncated');
    await fsp.writeFile(
      join(hostDir, `${bad(3)}.json`),
      JSON.stringify({ ...good, id: bad(3), score: 'high' }),
    );
    // Valid shape, but claims another id: a copied file must not answer for its name.
    await fsp.writeFile(join(hostDir, `${bad(4)}.json`), JSON.stringify(good));

    const cold = open(dir, { warn: (m) => warnings.push(m) });
    expect((await cold.list()).map((s) => s.id)).toEqual([good.id]);
    expect((await cold.recent(HOST, 5)).map((s) => s.id)).toEqual([good.id]);
    expect(await cold.get(bad(3))).toBeUndefined();
    expect(cold.stats().corruptFiles).toBe(3);
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).toContain('invalid JSON');
    expect(warnings.join('\n')).toContain('unexpected shape');
    expect(warnings.join('\n')).toContain('id does not match');
  });
});

describe('FileBaselineStore retention and concurrency', () => {
  it('keeps at most maxCount per host, dropping the oldest', async () => {
    const dir = await freshDir();
    const store = open(dir, { maxCount: 3 });
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push((await store.save(input(n))).id);
    await store.save(input(0, { hostId: 'other' }));
    expect((await store.list({ hostId: HOST })).map((s) => s.id)).toEqual([ids[4], ids[3], ids[2]]);
    expect((await fsp.readdir(hostPath(dir))).sort()).toEqual(ids.slice(2).map((id) => `${id}.json`));
    expect(await store.get(ids[0] as string)).toBeUndefined();
    expect(await store.recent('other', 5)).toHaveLength(1);
  });

  it('keeps at most maxBytes per host, dropping the oldest', async () => {
    const dir = await freshDir();
    const metrics = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`m.metric_${i}`, i]));
    // Every file of this series has the same size (ids have a fixed length): room for three, not four.
    const fileSize = Buffer.byteLength(
      JSON.stringify({ id: `${HOST}~20261101T000000000Z~abcdef`, ...input(0, { metrics, score: 90 }) }),
    );
    const store = open(dir, { maxBytes: 3 * fileSize + 100 });
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push((await store.save(input(n, { metrics, score: 90 }))).id);
    const files = (await fsp.readdir(hostPath(dir))).sort();
    expect(files).toEqual(ids.slice(2).map((id) => `${id}.json`));
    const sizes = await Promise.all(files.map(async (f) => (await fsp.stat(join(hostPath(dir), f))).size));
    expect(sizes).toEqual([fileSize, fileSize, fileSize]);
  });

  it('lands 20 concurrent saves without losing or corrupting any', async () => {
    const dir = await freshDir();
    const store = open(dir);
    const other = open(dir); // a second writer on the same directory, as another process would be
    const saved = await Promise.all(
      Array.from({ length: 20 }, (_, n) => (n % 2 ? other : store).save(input(n % 4, { score: n }))),
    );
    expect(new Set(saved.map((b) => b.id)).size).toBe(20);
    const files = (await fsp.readdir(hostPath(dir))).sort();
    expect(files).toEqual(saved.map((b) => `${b.id}.json`).sort());
    const cold = open(dir);
    const all = await cold.recent(HOST, 100);
    expect(all.map((b) => b.score).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(cold.stats().corruptFiles).toBe(0);
  });

  it('sees baselines written by another process on the next list, and forgets ones it pruned', async () => {
    const dir = await freshDir();
    const a = open(dir, { maxCount: 2 });
    const b = open(dir, { maxCount: 2 });
    const first = await a.save(input(0));
    expect((await a.list()).map((s) => s.id)).toEqual([first.id]);
    const second = await b.save(input(1));
    expect((await a.list()).map((s) => s.id)).toEqual([second.id, first.id]);
    const third = await b.save(input(2)); // b prunes `first`, which a has cached
    expect((await a.list()).map((s) => s.id)).toEqual([third.id, second.id]);
    expect((await a.recent(HOST, 5)).map((s) => s.id)).toEqual([third.id, second.id]);
  });
});
