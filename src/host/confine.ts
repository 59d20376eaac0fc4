import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { under } from './hostPaths.js';

export class PathNotAllowedError extends Error {
  override name = 'PathNotAllowedError';
}

function inside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Resolves a host path (as the client or a check names it, e.g. /var/log/auth.log) under
 * HOST_ROOT, follows symlinks, and returns the real path only if it lies inside one of the
 * allowed roots (AUDIT_ALLOWED_PATHS, themselves resolved). Throws PathNotAllowedError otherwise,
 * and lets ENOENT through so callers can tell "missing" from "forbidden".
 */
export async function confinePath(
  hostRoot: string,
  allowedRoots: string[],
  hostPath: string,
): Promise<string> {
  if (!isAbsolute(hostPath)) throw new PathNotAllowedError(`${hostPath} is not an absolute path`);
  const refuse = () =>
    new PathNotAllowedError(
      `${hostPath} is outside the allowed paths (${allowedRoots.join(', ')}); set AUDIT_ALLOWED_PATHS to allow it`,
    );
  // Lexically first, before touching the file system: whether a file outside exists is not the
  // client's business ("no such file" would tell it).
  const lexical = resolve('/', hostPath);
  if (!allowedRoots.some((r) => inside(lexical, resolve('/', r)))) throw refuse();
  const real = await realpath(under(hostRoot, lexical));
  const roots = await Promise.all(
    allowedRoots.map((r) => realpath(under(hostRoot, r)).catch(() => undefined)),
  );
  // Then after symlinks: a link inside an allowed root may point anywhere.
  if (roots.some((r) => r !== undefined && inside(real, r))) return real;
  throw refuse();
}
