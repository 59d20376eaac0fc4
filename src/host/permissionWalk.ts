/**
 * The file-system side of check_permissions: confining the client's paths, walking the trees
 * without following symlinks, reading a candidate file's first bytes, and the host's account
 * files. The judging is in src/audit/permissions/ (pure).
 */
import { constants, type Dir, type Stats } from 'node:fs';
import { lstat, open, opendir, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { confinePath, PathNotAllowedError } from './confine.js';
import { under } from './hostPaths.js';
import { readText } from './readFiles.js';
import { directoryStillAt } from './walkGuard.js';

/** A problem with a path the client gave; the message says what to do. */
export class ScanPathError extends Error {
  override name = 'ScanPathError';
}

export interface ScanRoot {
  /** As the operator sees it on the audited host, e.g. /srv/app. */
  hostPath: string;
  /** Where to read it here (under HOST_ROOT, symlinks resolved). */
  realPath: string;
}

export interface WalkEntry {
  hostPath: string;
  realPath: string;
  name: string;
  kind: 'file' | 'directory';
  stats: Pick<Stats, 'mode' | 'uid' | 'gid' | 'size' | 'dev' | 'ino'>;
  /** The containing directory's owner; undefined when it could not be read (or for /). */
  parent: { uid: number; gid: number } | undefined;
}

export interface WalkCounts {
  files: number;
  directories: number;
  /** Seen and not followed: a link may point out of the allowed roots. */
  symlinks: number;
  /** Sockets, FIFOs, devices: not judged. */
  other: number;
  /** Entries or directories that could not be read (permissions, vanished mid-walk). */
  unreadable: number;
  /** Directories below maxDepth, not entered. */
  depthLimited: number;
}

export interface WalkOptions {
  maxEntries: number;
  maxDepth: number;
  /** Returns a reason to stop (deadline, cancellation), checked before every entry. */
  shouldStop(): string | null;
  onEntry(entry: WalkEntry): Promise<void> | void;
  /**
   * Testing seam: called with a directory's real path after each batch of its names is read
   * and before they are lstat'ed and the directory re-checked. Not set in production.
   */
  onDirectoryListed?(realDir: string): Promise<void> | void;
}

/** Entries stat'ed at once: enough to keep the thread pool busy, few enough to stay responsive. */
const BATCH = 64;

/**
 * Confines each client path (lexically, then after symlinks) to AUDIT_ALLOWED_PATHS under
 * HOST_ROOT. Roots inside another root are dropped so nothing is reported twice.
 */
export async function resolveScanRoots(
  hostRoot: string,
  allowedRoots: string[],
  paths: string[],
): Promise<ScanRoot[]> {
  const realHostRoot = await realpath(hostRoot);
  const roots: ScanRoot[] = [];
  for (const p of paths) {
    let real: string;
    try {
      real = await confinePath(hostRoot, allowedRoots, p);
    } catch (err) {
      if (err instanceof PathNotAllowedError) throw new ScanPathError(err.message);
      const code = (err as NodeJS.ErrnoException).code;
      throw new ScanPathError(
        code === 'ENOENT' ? `${p}: no such file or directory` : `${p}: cannot open (${code ?? 'error'})`,
      );
    }
    roots.push({ hostPath: toHostPath(realHostRoot, real), realPath: real });
  }
  return roots.filter(
    (r, i) =>
      !roots.some(
        (o, j) =>
          (o.realPath === r.realPath && j < i) ||
          (o.realPath !== r.realPath && isInside(r.realPath, o.realPath)),
      ),
  );
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** The path as the audited host names it: the real path with HOST_ROOT taken off. */
export function toHostPath(realHostRoot: string, real: string): string {
  const rel = relative(realHostRoot, real);
  if (rel.startsWith('..') || isAbsolute(rel)) return real;
  return `/${rel.split(sep).join('/')}`;
}

/**
 * Walks every root depth first with lstat: symlinks are counted and never followed, only
 * regular files and directories reach onEntry. Directories are read as streams (a directory of
 * a million names does not sit in memory) and each (dev, inode) is entered once, so bind-mount
 * loops end. Returns why it stopped early, or null.
 */
export async function walkTrees(
  roots: ScanRoot[],
  opts: WalkOptions,
): Promise<{ counts: WalkCounts; stoppedBecause: string | null }> {
  const counts: WalkCounts = {
    files: 0,
    directories: 0,
    symlinks: 0,
    other: 0,
    unreadable: 0,
    depthLimited: 0,
  };
  const entered = new Set<string>();
  let visited = 0;
  let stoppedBecause: string | null = null;

  const stop = (): boolean => {
    if (stoppedBecause) return true;
    if (visited >= opts.maxEntries) stoppedBecause = `maxFiles (${opts.maxEntries}) reached`;
    else stoppedBecause = opts.shouldStop();
    return stoppedBecause !== null;
  };

  /** One lstat'ed entry: counted, judged when a file or directory, entered when a directory. */
  const handle = async (
    realPath: string,
    hostPath: string,
    st: Stats,
    parent: WalkEntry['parent'],
    depth: number,
  ): Promise<void> => {
    visited++;
    if (st.isSymbolicLink()) {
      counts.symlinks++;
      return;
    }
    const kind = st.isFile() ? 'file' : st.isDirectory() ? 'directory' : undefined;
    if (!kind) {
      counts.other++;
      return;
    }
    counts[kind === 'file' ? 'files' : 'directories']++;
    await opts.onEntry({ hostPath, realPath, name: basename(hostPath), kind, stats: st, parent });
    if (kind === 'directory') {
      if (depth >= opts.maxDepth) counts.depthLimited++;
      else await walkDir(realPath, hostPath, st, depth + 1);
    }
  };

  const walkDir = async (realDir: string, hostDir: string, st: Stats, depth: number): Promise<void> => {
    const key = `${st.dev}:${st.ino}`;
    if (entered.has(key)) return;
    entered.add(key);
    let dir: Dir;
    try {
      dir = await opendir(realDir, { bufferSize: BATCH });
    } catch {
      counts.unreadable++;
      return;
    }
    try {
      // opendir follows a symlink: if the directory was swapped for one after its lstat, the
      // identity check (real path, then dev and inode) catches it before any name inside is
      // looked at.
      if (!(await directoryStillAt(realDir, realDir, undefined, st))) {
        counts.unreadable++;
        return;
      }
      const parent = { uid: st.uid, gid: st.gid };
      for (;;) {
        const names: string[] = [];
        while (names.length < BATCH) {
          const d = await dir.read();
          if (!d) break;
          names.push(d.name);
        }
        if (names.length === 0) return;
        await opts.onDirectoryListed?.(realDir);
        const stats = await Promise.all(names.map((n) => lstat(join(realDir, n)).catch(() => undefined)));
        // Each lstat above re-resolved realDir by name: had it been swapped for a symlink in the
        // meantime, they described another directory's entries. Checked again after them, so a
        // batch is only judged when the directory was the accepted one before and after.
        if (!(await directoryStillAt(realDir, realDir, undefined, st))) {
          counts.unreadable++;
          return;
        }
        // Files of a batch are judged together (their reads overlap in the thread pool);
        // directories one at a time after them, so open directory handles stay at maxDepth.
        const files: Array<Promise<void>> = [];
        const dirs: Array<() => Promise<void>> = [];
        for (let i = 0; i < names.length && !stop(); i++) {
          const s = stats[i];
          if (!s) {
            visited++;
            counts.unreadable++;
            continue;
          }
          const name = names[i] as string;
          const go = () =>
            handle(
              join(realDir, name),
              hostDir === '/' ? `/${name}` : `${hostDir}/${name}`,
              s,
              parent,
              depth,
            );
          if (s.isDirectory()) dirs.push(go);
          else files.push(go());
        }
        await Promise.all(files);
        for (const d of dirs) {
          if (stop()) return;
          await d();
        }
        if (stoppedBecause) return;
      }
    } finally {
      await dir.close().catch(() => undefined);
    }
  };

  for (const root of roots) {
    if (stop()) break;
    let st: Stats;
    try {
      st = await lstat(root.realPath);
    } catch {
      counts.unreadable++;
      continue;
    }
    const up = dirname(root.realPath);
    const parentStats = up === root.realPath ? undefined : await lstat(up).catch(() => undefined);
    const parent = parentStats ? { uid: parentStats.uid, gid: parentStats.gid } : undefined;
    await handle(root.realPath, root.hostPath, st, parent, 0);
  }
  return { counts, stoppedBecause };
}

/**
 * Up to `bytes` from the start of a regular file, or undefined. Opened with O_NOFOLLOW and
 * O_NONBLOCK (a file swapped for a symlink or a FIFO since its lstat neither escapes nor
 * blocks), then checked to be the same inode. O_NOATIME first: an audit should not disturb the
 * access times a forensic look may need; it is refused (EPERM) on files of other users unless
 * we are root or hold CAP_FOWNER, and then the read goes ahead without it.
 */
export async function readHead(
  realPath: string,
  expect: { dev: number; ino: number },
  bytes: number,
): Promise<Buffer | undefined> {
  const base = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
  let fh;
  try {
    fh = await open(realPath, base | constants.O_NOATIME).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EPERM') return open(realPath, base);
      throw err;
    });
  } catch {
    return undefined;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.ino !== expect.ino || st.dev !== expect.dev) return undefined;
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } catch {
    return undefined;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** The audited host's /etc/passwd and /etc/group (under HOST_ROOT), when readable. */
export async function readAccountFiles(
  hostRoot: string,
): Promise<{ passwd: string | undefined; group: string | undefined }> {
  const [passwd, group] = await Promise.all([
    readText(under(hostRoot, '/etc/passwd'), 8 * 1024 * 1024).catch(() => undefined),
    readText(under(hostRoot, '/etc/group'), 8 * 1024 * 1024).catch(() => undefined),
  ]);
  return { passwd, group };
}
