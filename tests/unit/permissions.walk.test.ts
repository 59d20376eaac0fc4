import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  readHead,
  resolveScanRoots,
  toHostPath,
  type WalkEntry,
  walkTrees,
} from '../../src/host/permissionWalk.js';

// A fake HOST_ROOT: the scanner sees /srv/... while the files live under a temp dir.
const hostRoot = realpathSync(mkdtempSync(join(tmpdir(), 'perm-walk-')));
const outside = realpathSync(mkdtempSync(join(tmpdir(), 'perm-walk-outside-')));
const srv = join(hostRoot, 'srv');
mkdirSync(join(srv, 'app/deep/er'), { recursive: true });
writeFileSync(join(srv, 'app/a.txt'), 'a');
writeFileSync(join(srv, 'app/deep/b.txt'), 'b');
writeFileSync(join(srv, 'app/deep/er/c.txt'), 'c');
writeFileSync(join(outside, 'id_rsa'), '-----BEGIN OPENSSH PRIVATE KEY-----\n');
chmodSync(join(outside, 'id_rsa'), 0o644);
symlinkSync(join(outside, 'id_rsa'), join(srv, 'app/id_rsa'));
symlinkSync(outside, join(srv, 'app/out'));
execFileSync('mkfifo', [join(srv, 'app/fifo')]);
mkdirSync(join(hostRoot, 'etc'));

afterAll(() => {
  rmSync(hostRoot, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function walk(
  paths: string[],
  opts: { maxEntries?: number; maxDepth?: number; stopAfter?: number } = {},
) {
  const roots = await resolveScanRoots(hostRoot, ['/srv'], paths);
  const seen: WalkEntry[] = [];
  const r = await walkTrees(roots, {
    maxEntries: opts.maxEntries ?? 1000,
    maxDepth: opts.maxDepth ?? 40,
    shouldStop: () => (opts.stopAfter !== undefined && seen.length >= opts.stopAfter ? 'deadline' : null),
    onEntry: (e) => {
      seen.push(e);
    },
  });
  return { ...r, roots, seen: seen.map((e) => [e.hostPath, e.kind]) };
}

describe('permission walk', () => {
  it('maps real paths back to host paths under HOST_ROOT', () => {
    expect(toHostPath(hostRoot, join(hostRoot, 'srv/app'))).toBe('/srv/app');
    expect(toHostPath(hostRoot, hostRoot)).toBe('/');
    expect(toHostPath('/', '/srv/app')).toBe('/srv/app');
  });

  it('walks files and directories, counts symlinks and FIFOs without following or judging them', async () => {
    const r = await walk(['/srv/app']);
    expect(r.roots).toEqual([{ hostPath: '/srv/app', realPath: join(srv, 'app') }]);
    expect(r.seen.sort()).toEqual(
      [
        ['/srv/app', 'directory'],
        ['/srv/app/a.txt', 'file'],
        ['/srv/app/deep', 'directory'],
        ['/srv/app/deep/b.txt', 'file'],
        ['/srv/app/deep/er', 'directory'],
        ['/srv/app/deep/er/c.txt', 'file'],
      ].sort(),
    );
    expect(r.counts).toMatchObject({ files: 3, directories: 3, symlinks: 2, other: 1, unreadable: 0 });
    expect(r.stoppedBecause).toBeNull();
  });

  it('merges nested and repeated roots so nothing is reported twice', async () => {
    const r = await walk(['/srv/app/deep', '/srv/app', '/srv/app/']);
    expect(r.roots.map((x) => x.hostPath)).toEqual(['/srv/app']);
    expect(r.counts.files).toBe(3);
  });

  it('stops at maxDepth, maxFiles and when told to (the deadline)', async () => {
    const shallow = await walk(['/srv/app'], { maxDepth: 1 });
    expect(shallow.counts).toMatchObject({ directories: 2, depthLimited: 1 });
    const few = await walk(['/srv/app'], { maxEntries: 3 });
    expect(few.stoppedBecause).toBe('maxFiles (3) reached');
    expect(few.seen.length).toBeLessThanOrEqual(3);
    const late = await walk(['/srv/app'], { stopAfter: 2 });
    expect(late.stoppedBecause).toBe('deadline');
    expect(late.seen).toHaveLength(2);
  });

  it('refuses paths outside the allowed roots, also through a symlink, and says what is missing', async () => {
    await expect(walk(['/etc'])).rejects.toThrow('/etc is outside the allowed paths (/srv)');
    await expect(walk(['/srv/app/out'])).rejects.toThrow('outside the allowed paths');
    await expect(walk(['/srv/app/../../etc'])).rejects.toThrow('outside the allowed paths');
    await expect(walk(['srv'])).rejects.toThrow('not an absolute path');
    await expect(walk(['/srv/nope'])).rejects.toThrow('/srv/nope: no such file or directory');
  });

  it('reads a head only from the regular file it stat-ed: not through a symlink, not a FIFO', async () => {
    const a = join(srv, 'app/a.txt');
    const st = await lstat(a);
    expect((await readHead(a, st, 4096))?.toString()).toBe('a');
    expect(await readHead(a, { dev: st.dev, ino: st.ino + 1 }, 4096)).toBeUndefined();
    const link = join(srv, 'app/id_rsa');
    const target = await lstat(join(outside, 'id_rsa'));
    expect(await readHead(link, target, 4096)).toBeUndefined();
    const fifo = join(srv, 'app/fifo');
    expect(await readHead(fifo, await lstat(fifo), 4096)).toBeUndefined();
  });

  it('reads at most the bytes asked for', async () => {
    const big = join(srv, 'app/big.bin');
    writeFileSync(big, Buffer.alloc(10_000, 0x41));
    try {
      expect((await readHead(big, await lstat(big), 4096))?.length).toBe(4096);
    } finally {
      rmSync(big);
    }
  });
});
