/**
 * Checks that the tree walkers (scan_secrets, check_permissions) make around each read, so a
 * directory swapped for a symlink after it was listed does not lead them out of the allowed
 * roots. Node has no openat/fstatat: names are re-resolved on every call, so the walkers verify
 * after reading that what they read was still the directory or file they had accepted.
 */
import type { Stats } from 'node:fs';
import { type FileHandle, lstat, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';

/** Thrown (and counted as unreadable by callers) when a path no longer leads where it did. */
export class PathChangedError extends Error {
  override name = 'PathChangedError';
  readonly code = 'ECHANGED';
}

export function isInsideOrEqual(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * The real path of what an open handle refers to: on Linux the kernel's own answer through
 * /proc/self/fd (immune to later renames of the path); elsewhere, or without /proc, realpath of
 * the path it was opened by (racy, the best there is).
 */
export async function handleRealPath(fh: FileHandle, openedAs: string): Promise<string | undefined> {
  if (process.platform === 'linux') {
    const link = await readlink(`/proc/self/fd/${fh.fd}`).catch(() => undefined);
    // Anything else ("anon_inode:…", "/x (deleted)") is not a path we can vouch for.
    if (link !== undefined && isAbsolute(link) && !link.endsWith(' (deleted)')) return link;
    if (link !== undefined) return undefined;
  }
  return realpath(openedAs).catch(() => undefined);
}

/**
 * True when `path` still resolves to `expectReal` (the real path recorded when the directory
 * was accepted), inside one of `realRoots` when given, and, with `expect`, is still the same
 * directory (dev and inode) that was lstat'ed then.
 */
export async function directoryStillAt(
  path: string,
  expectReal: string,
  realRoots: string[] | undefined,
  expect?: Pick<Stats, 'dev' | 'ino'>,
): Promise<boolean> {
  const real = await realpath(path).catch(() => undefined);
  if (real !== expectReal) return false;
  if (realRoots && !realRoots.some((r) => isInsideOrEqual(real, r))) return false;
  if (expect) {
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isDirectory() || st.dev !== expect.dev || st.ino !== expect.ino) return false;
  }
  return true;
}
