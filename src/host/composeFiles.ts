/**
 * Reading compose files for audit_compose: every path (given, found in a directory, named by
 * `extends.file` or env_file) is confined to AUDIT_ALLOWED_PATHS under HOST_ROOT, must be a
 * regular file, and is size-capped; the number of files per call is capped too. Nothing read
 * here is executed or interpreted beyond parsing. A file is opened once, by its confined real
 * path, and checked and read through that handle (readFileUpTo): a FIFO or symlink swapped in
 * after confinement can neither block the read nor lead outside the allowed paths.
 */
import { stat } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import { confinePath, PathNotAllowedError } from './confine.js';
import { readFileUpTo } from './fileTree.js';

export const MAX_COMPOSE_BYTES = 1024 * 1024;
export const MAX_COMPOSE_FILES = 50;

/** Compose's own file names, in its order of preference (compose-go cli.DefaultFileNames). */
export const COMPOSE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
export const OVERRIDE_NAMES = [
  'compose.override.yml',
  'compose.override.yaml',
  'docker-compose.override.yml',
  'docker-compose.override.yaml',
];

export class ComposePathError extends Error {
  override name = 'ComposePathError';
}

export interface ComposeReader {
  /** Reads one confined, capped file by host path. */
  read(hostPath: string): Promise<{ path: string; text: string }>;
  /** Like read, but undefined when the file does not exist (an optional .env). */
  readOptional(hostPath: string): Promise<{ path: string; text: string } | undefined>;
  /** "file" or "directory", refusing anything else. */
  kind(hostPath: string): Promise<'file' | 'directory'>;
  /** The compose file and its override in a directory, as Compose picks them. */
  discover(dir: string): Promise<{ files: string[]; notes: string[] }>;
  filesRead(): number;
}

/** `signal` (the call's cancellation and deadline) is checked before every file is touched. */
export function composeReader(hostRoot: string, allowed: string[], signal?: AbortSignal): ComposeReader {
  let count = 0;
  const cannot = (path: string, err: unknown): ComposePathError => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new ComposePathError(`${path}: no such file or directory`);
    // ELOOP: the confined path became a symlink after confinement; O_NOFOLLOW refuses it. The
    // same swap higher up is refused by readFileUpTo's check of the handle's real path.
    if ((err as Error).name === 'PathChangedError')
      return new ComposePathError(`${path}: changed while it was being opened`);
    return new ComposePathError(`${path}: cannot read it (${code ?? 'error'})`);
  };
  const real = async (hostPath: string): Promise<string> => {
    signal?.throwIfAborted();
    try {
      return await confinePath(hostRoot, allowed, hostPath);
    } catch (err) {
      if (err instanceof PathNotAllowedError) throw new ComposePathError(err.message);
      throw cannot(hostPath, err);
    }
  };
  const exists = async (hostPath: string): Promise<boolean> => {
    try {
      await real(hostPath);
      return true;
    } catch (err) {
      if (err instanceof ComposePathError && err.message.endsWith('no such file or directory')) return false;
      throw err;
    }
  };
  const reader: ComposeReader = {
    async read(hostPath) {
      const path = posix.resolve('/', hostPath);
      const file = await real(path);
      if (count >= MAX_COMPOSE_FILES)
        throw new ComposePathError(
          `more than ${MAX_COMPOSE_FILES} files in one call; audit fewer paths at a time`,
        );
      signal?.throwIfAborted();
      // One open (no final symlink, non-blocking), then fstat and read on that handle: a FIFO would
      // hang the read and a device never end; compose files are small regular files.
      const buf = await readFileUpTo(file, MAX_COMPOSE_BYTES).catch((err: unknown) => {
        throw cannot(path, err);
      });
      if (buf === 'not_regular') throw new ComposePathError(`${path} is not a regular file`);
      if (buf === 'too_large')
        throw new ComposePathError(`${path} is over the ${MAX_COMPOSE_BYTES}-byte limit for a compose file`);
      count++;
      return { path, text: buf.toString('utf8') };
    },
    async readOptional(hostPath) {
      return (await exists(hostPath)) ? reader.read(hostPath) : undefined;
    },
    async kind(hostPath) {
      const st = await stat(await real(posix.resolve('/', hostPath)));
      if (st.isDirectory()) return 'directory';
      if (st.isFile()) return 'file';
      throw new ComposePathError(`${hostPath} is neither a regular file nor a directory`);
    },
    async discover(dir) {
      const base = posix.resolve('/', dir);
      const notes: string[] = [];
      const found: string[] = [];
      for (const n of COMPOSE_NAMES) if (await exists(posix.join(base, n))) found.push(posix.join(base, n));
      if (found.length === 0)
        throw new ComposePathError(`${base}: no ${COMPOSE_NAMES.join(', ')} in this directory`);
      if (found.length > 1)
        notes.push(`${base}: several compose files (${found.join(', ')}); Compose uses ${found[0]}`);
      const overrides: string[] = [];
      for (const n of OVERRIDE_NAMES)
        if (await exists(posix.join(base, n))) overrides.push(posix.join(base, n));
      if (overrides.length > 1) notes.push(`${base}: several override files; Compose uses ${overrides[0]}`);
      return { files: [found[0] as string, ...overrides.slice(0, 1)], notes };
    },
    filesRead: () => count,
  };
  return reader;
}

/** The directory Compose reads `.env` from: the first compose file's. */
export function projectDir(firstFile: string): string {
  return dirname(firstFile);
}
