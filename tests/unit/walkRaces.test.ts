import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  newWalkStats,
  readFileUpTo,
  type TreeFile,
  walkTree,
  type WalkOptions,
} from '../../src/host/fileTree.js';
import { resolveScanRoots, type WalkEntry, walkTrees } from '../../src/host/permissionWalk.js';

// A local user who can write inside an allowed path swaps a directory for a symlink to a place
// outside (here a temp dir standing for /root) between the walk accepting it and reading it.
// The walkers' testing seam (onDirectoryListed) makes the swap happen at exactly that moment.

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  made.push(d);
  return d;
}

/** Replaces the directory `path` by a symlink to `target`, keeping the original aside. */
function swap(path: string, target: string): void {
  renameSync(path, `${path}.orig`);
  symlinkSync(target, path);
}

function outsideTree(): string {
  const outside = tempDir('walk-race-outside-');
  writeFileSync(join(outside, 'same.env'), 'OUTSIDE_SECRET=1\n');
  writeFileSync(join(outside, 'root-only.env'), 'OUTSIDE_SECRET=2\n');
  chmodSync(join(outside, 'same.env'), 0o666);
  return outside;
}

async function secretsWalk(root: string, hook: (realPath: string) => void) {
  const opts: WalkOptions = {
    realRoots: [root],
    include: [],
    exclude: [],
    gitignore: true,
    maxFileBytes: 1024 * 1024,
    maxDepth: 40,
    signal: new AbortController().signal,
    shouldStop: () => false,
    onDirectoryListed: hook,
  };
  const stats = newWalkStats();
  const files: TreeFile[] = [];
  const contents: string[] = [];
  for await (const f of walkTree({ hostPath: '/srv', realPath: root }, opts, stats, new Set())) {
    files.push(f);
    // Read as scan_secrets does, while the swap is still in place.
    const c = await readFileUpTo(f.realPath, 1024 * 1024).catch(() => undefined);
    if (Buffer.isBuffer(c)) contents.push(c.toString('utf8'));
  }
  return { stats, files, contents };
}

describe('scan_secrets walk: a directory swapped for a symlink', () => {
  it('skips a directory swapped after its parent was listed (sibling swapped mid-walk)', async () => {
    const root = tempDir('walk-race-');
    const outside = outsideTree();
    mkdirSync(join(root, 'a'));
    mkdirSync(join(root, 'b'));
    writeFileSync(join(root, 'a/x.env'), 'INSIDE=1\n');
    writeFileSync(join(root, 'b/same.env'), 'INSIDE=2\n');
    let swapped = false;
    const r = await secretsWalk(root, (p) => {
      if (p === join(root, 'a') && !swapped) {
        swapped = true;
        swap(join(root, 'b'), outside);
      }
    });
    expect(swapped).toBe(true);
    expect(r.files.map((f) => f.hostPath)).toEqual(['/srv/a/x.env']);
    expect(r.contents.join('')).not.toContain('OUTSIDE');
    expect(r.stats.skipped.changed_during_scan).toBe(1);
  });

  it('skips a directory swapped right after it was read (its names not used)', async () => {
    const root = tempDir('walk-race-');
    const outside = outsideTree();
    mkdirSync(join(root, 'app'));
    writeFileSync(join(root, 'app/same.env'), 'INSIDE=1\n');
    let swapped = false;
    const r = await secretsWalk(root, (p) => {
      if (p === join(root, 'app') && !swapped) {
        swapped = true;
        swap(join(root, 'app'), outside);
      }
    });
    expect(swapped).toBe(true);
    expect(r.files).toEqual([]);
    expect(r.contents.join('')).not.toContain('OUTSIDE');
    expect(r.stats.skipped.changed_during_scan).toBe(1);
  });

  it('readFileUpTo refuses a file reached through a directory swapped for a symlink', async () => {
    const root = tempDir('walk-race-');
    const outside = outsideTree();
    mkdirSync(join(root, 'app'));
    writeFileSync(join(root, 'app/same.env'), 'INSIDE=1\n');
    const path = join(root, 'app/same.env');
    const before = await readFileUpTo(path, 1024);
    expect(Buffer.isBuffer(before) && before.toString()).toBe('INSIDE=1\n');
    swap(join(root, 'app'), outside);
    await expect(readFileUpTo(path, 1024)).rejects.toMatchObject({ name: 'PathChangedError' });
    await expect(readFileUpTo(path, 1024, [root])).rejects.toMatchObject({ name: 'PathChangedError' });
    // A link that stays inside the allowed roots is accepted when the roots are given.
    rmSync(join(root, 'app'));
    symlinkSync(join(root, 'app.orig'), join(root, 'app'));
    const inside = await readFileUpTo(path, 1024, [root]);
    expect(Buffer.isBuffer(inside) && inside.toString()).toBe('INSIDE=1\n');
  });
});

describe('check_permissions walk: a directory swapped for a symlink', () => {
  async function permWalk(hostRoot: string, hook: (realDir: string) => void) {
    const roots = await resolveScanRoots(hostRoot, ['/srv'], ['/srv']);
    const seen: WalkEntry[] = [];
    const r = await walkTrees(roots, {
      maxEntries: 1000,
      maxDepth: 40,
      shouldStop: () => null,
      onEntry: (e) => void seen.push(e),
      onDirectoryListed: hook,
    });
    return { ...r, seen };
  }

  it('does not report entries of a directory swapped between its listing and the lstat of its names', async () => {
    const hostRoot = tempDir('perm-race-');
    const outside = outsideTree();
    const app = join(hostRoot, 'srv/app');
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'same.env'), 'INSIDE=1\n');
    chmodSync(join(app, 'same.env'), 0o600);
    let swapped = false;
    const r = await permWalk(hostRoot, (d) => {
      if (d === app && !swapped) {
        swapped = true;
        swap(app, outside);
      }
    });
    expect(swapped).toBe(true);
    expect(r.seen.map((e) => e.hostPath)).toEqual(['/srv', '/srv/app']);
    expect(r.seen.some((e) => (e.stats.mode & 0o777) === 0o666)).toBe(false);
    expect(r.counts.unreadable).toBe(1);
  });

  it('does not enter a sibling directory swapped after its parent was listed', async () => {
    const hostRoot = tempDir('perm-race-');
    const outside = outsideTree();
    const srv = join(hostRoot, 'srv');
    mkdirSync(join(srv, 'a'), { recursive: true });
    mkdirSync(join(srv, 'b'));
    writeFileSync(join(srv, 'a/x.env'), 'x');
    writeFileSync(join(srv, 'b/x.env'), 'x');
    // Directory order is the file system's: whichever of a and b is listed first swaps the other.
    let swapped: string | undefined;
    const r = await permWalk(hostRoot, (d) => {
      const other = d === join(srv, 'a') ? 'b' : d === join(srv, 'b') ? 'a' : undefined;
      if (other && !swapped) {
        swapped = other;
        swap(join(srv, other), outside);
      }
    });
    expect(swapped).toBeDefined();
    const names = r.seen.map((e) => e.hostPath);
    expect(names.some((n) => n.endsWith('root-only.env') || n.endsWith('same.env'))).toBe(false);
    expect(names.some((n) => n.startsWith(`/srv/${swapped}/`))).toBe(false);
    expect(r.counts.unreadable).toBe(1);
  });
});
