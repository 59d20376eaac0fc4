import { access, readdir, readFile } from 'node:fs/promises';

/** Errors that mean "this host does not have it" (or we may not see it): degrade, don't fail. */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'ELOOP', 'EINVAL', 'ESRCH']);

function isAbsent(err: unknown): boolean {
  return ABSENT.has((err as NodeJS.ErrnoException).code ?? '');
}

/** The file's text, or undefined when it is missing or unreadable. Other I/O errors propagate. */
export async function readText(path: string, maxBytes = 1024 * 1024): Promise<string | undefined> {
  try {
    const buf = await readFile(path);
    return buf.subarray(0, maxBytes).toString('utf8');
  } catch (err) {
    if (isAbsent(err)) return undefined;
    throw err;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (err) {
    if (isAbsent(err)) return [];
    throw err;
  }
}
