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
  const real = await realpath(under(hostRoot, resolve('/', hostPath)));
  const roots = await Promise.all(
    allowedRoots.map((r) => realpath(under(hostRoot, r)).catch(() => undefined)),
  );
  if (roots.some((r) => r !== undefined && inside(real, r))) return real;
  throw new PathNotAllowedError(
    `${hostPath} is outside the allowed paths (${allowedRoots.join(', ')}); set AUDIT_ALLOWED_PATHS to allow it`,
  );
}
