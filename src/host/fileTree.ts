import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type IgnoreLayer, isIgnored, parseGitignore, pathGlobMatch } from '../audit/secrets/gitignore.js';
import { readVerified } from './verifiedFile.js';
import { directoryStillAt, isInsideOrEqual } from './walkGuard.js';

/** Why an entry of a tree was not scanned; the tool reports the counts. */
export const SKIP_REASONS = [
  'gitignored',
  'excluded',
  'not_included',
  'symlink_outside',
  'broken_symlink',
  'already_seen',
  'not_regular',
  'unreadable',
  'too_large',
  'too_deep',
  /** A directory no longer at the real path (or inode) it had when accepted: swapped mid-walk. */
  'changed_during_scan',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface TreeFile {
  /** As the client sees it: the start path it gave plus the names walked. */
  hostPath: string;
  /** Resolved, to open. */
  realPath: string;
  size: number;
}

export interface WalkStats {
  /** Regular files met (scanned or skipped): what maxFiles caps. */
  filesVisited: number;
  dirsVisited: number;
  skipped: Record<SkipReason, number>;
}

export interface WalkOptions {
  /** Real paths of the allowed roots: a symlink may lead anywhere inside them, nowhere else. */
  realRoots: string[];
  include: string[];
  exclude: string[];
  gitignore: boolean;
  maxFileBytes: number;
  maxDepth: number;
  signal: AbortSignal;
  /** Checked before every entry: the caller's caps and deadline. */
  shouldStop: () => boolean;
  /**
   * Testing seam: called with a directory's real path after it was read and before the walk
   * checks it was still the directory it had accepted. Not set in production.
   */
  onDirectoryListed?: (realPath: string) => Promise<void> | void;
}

/** .gitignore files larger than this are not read (no real one is). */
const MAX_GITIGNORE_BYTES = 256 * 1024;

export function newWalkStats(): WalkStats {
  return {
    filesVisited: 0,
    dirsVisited: 0,
    skipped: Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<SkipReason, number>,
  };
}

export function isInside(child: string, parent: string): boolean {
  return isInsideOrEqual(child, parent);
}

interface Dir {
  hostPath: string;
  realPath: string;
  rel: string;
  depth: number;
  /** Identity when accepted, checked again after it is read. */
  dev: number;
  ino: number;
  layers: IgnoreLayer[];
  /** Inside a .git directory only `config` is of interest (credentials in remote URLs). */
  git: boolean;
}

/**
 * Walks the directory `root` (already confined by the caller) depth first in name order and
 * yields the regular files to scan. Symlinks are followed only to targets inside `realRoots`;
 * each directory and file is visited once by real path (`seen`, shared across start paths),
 * which also ends symlink loops. Sockets, FIFOs and devices are never opened.
 */
export async function* walkTree(
  root: { hostPath: string; realPath: string },
  opts: WalkOptions,
  stats: WalkStats,
  seen: Set<string>,
): AsyncGenerator<TreeFile> {
  if (seen.has(root.realPath)) {
    stats.skipped.already_seen++;
    return;
  }
  seen.add(root.realPath);
  let rootStats: Stats;
  try {
    rootStats = await stat(root.realPath);
  } catch {
    stats.skipped.unreadable++;
    return;
  }
  const stack: Dir[] = [
    {
      hostPath: root.hostPath,
      realPath: root.realPath,
      rel: '',
      depth: 0,
      dev: rootStats.dev,
      ino: rootStats.ino,
      layers: [],
      git: false,
    },
  ];
  while (stack.length > 0) {
    if (opts.signal.aborted || opts.shouldStop()) return;
    const dir = stack.pop() as Dir;
    stats.dirsVisited++;
    let entries: Dirent[];
    try {
      entries = await readdir(dir.realPath, { withFileTypes: true });
    } catch {
      stats.skipped.unreadable++;
      continue;
    }
    // readdir (and the lstat of each name below) follow a directory swapped for a symlink since
    // it was accepted: the names just read must have come from the directory accepted, inside
    // the allowed roots. File contents are checked again on the open handle (readFileUpTo).
    await opts.onDirectoryListed?.(dir.realPath);
    if (!(await directoryStillAt(dir.realPath, dir.realPath, opts.realRoots, dir))) {
      stats.skipped.changed_during_scan++;
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (dir.git) entries = entries.filter((e) => e.name === 'config');
    const layers =
      opts.gitignore && entries.some((e) => e.name === '.gitignore')
        ? await withGitignore(dir, join(dir.realPath, '.gitignore'), opts.realRoots)
        : dir.layers;
    const subdirs: Dir[] = [];
    for (const entry of entries) {
      if (opts.signal.aborted || opts.shouldStop()) return;
      const hostPath = join(dir.hostPath, entry.name);
      const rel = dir.rel === '' ? entry.name : `${dir.rel}/${entry.name}`;
      const target = await resolveEntry(join(dir.realPath, entry.name), entry, opts.realRoots, stats);
      if (!target) continue;
      const { realPath, st } = target;
      if (st.isDirectory()) {
        if (opts.exclude.some((g) => pathGlobMatch(g, rel, true))) stats.skipped.excluded++;
        else if (opts.gitignore && isIgnored(layers, rel, true)) stats.skipped.gitignored++;
        else if (seen.has(realPath)) stats.skipped.already_seen++;
        else if (dir.depth + 1 > opts.maxDepth) stats.skipped.too_deep++;
        else {
          seen.add(realPath);
          subdirs.push({
            hostPath,
            realPath,
            rel,
            depth: dir.depth + 1,
            dev: st.dev,
            ino: st.ino,
            layers,
            git: entry.name === '.git',
          });
        }
        continue;
      }
      if (!st.isFile()) {
        stats.skipped.not_regular++;
        continue;
      }
      stats.filesVisited++;
      if (opts.exclude.some((g) => pathGlobMatch(g, rel))) stats.skipped.excluded++;
      else if (opts.include.length > 0 && !opts.include.some((g) => pathGlobMatch(g, rel)))
        stats.skipped.not_included++;
      else if (opts.gitignore && isIgnored(layers, rel, false)) stats.skipped.gitignored++;
      else if (seen.has(realPath)) stats.skipped.already_seen++;
      else if (st.size > opts.maxFileBytes) stats.skipped.too_large++;
      else {
        seen.add(realPath);
        yield { hostPath, realPath, size: st.size };
      }
    }
    // Reversed onto the stack so directories come off it in name order.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i] as Dir);
  }
}

/** The entry's real path and stat; a symlink only when it resolves inside the allowed roots. */
async function resolveEntry(
  path: string,
  entry: Dirent,
  realRoots: string[],
  stats: WalkStats,
): Promise<{ realPath: string; st: Stats } | undefined> {
  try {
    if (!entry.isSymbolicLink()) return { realPath: path, st: await lstat(path) };
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      // Dangling, or a loop of links (ELOOP).
      stats.skipped.broken_symlink++;
      return undefined;
    }
    if (!realRoots.some((r) => isInside(real, r))) {
      stats.skipped.symlink_outside++;
      return undefined;
    }
    return { realPath: real, st: await stat(real) };
  } catch {
    stats.skipped.unreadable++;
    return undefined;
  }
}

async function withGitignore(dir: Dir, path: string, realRoots: string[]): Promise<IgnoreLayer[]> {
  const text = await readFileUpTo(path, MAX_GITIGNORE_BYTES, realRoots).catch(() => undefined);
  if (!Buffer.isBuffer(text)) return dir.layers;
  return [...dir.layers, { base: dir.rel, rules: parseGitignore(text.toString('utf8')) }];
}

/**
 * Reads a regular file, at most `maxBytes` and never past the size fstat reports, through one
 * verified handle (src/host/verifiedFile.ts): opened without following a final symlink and
 * without blocking, a FIFO or device swapped in after the walk saw a file is refused, and the
 * handle's own real path must be `path` itself (callers pass it already resolved) or lie inside
 * `realRoots` when given; otherwise PathChangedError is thrown before any byte is read.
 */
export function readFileUpTo(
  path: string,
  maxBytes: number,
  realRoots?: string[],
): Promise<Buffer | 'not_regular' | 'too_large'> {
  return readVerified(path, maxBytes, realRoots ? { realRoots } : {});
}
