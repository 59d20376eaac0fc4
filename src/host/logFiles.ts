import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { confinePath, PathNotAllowedError } from './confine.js';
import { handleStream, NotRegularFileError, openVerified, type VerifiedFile } from './verifiedFile.js';
import { PathChangedError } from './walkGuard.js';

export interface LogFile {
  /** As the client named it (host path), for messages and results. */
  hostPath: string;
  /** The resolved real path to open. */
  realPath: string;
  size: number;
  gzip: boolean;
  /** Identity when confined: streamLines reads this file and no other put there since. */
  dev: number;
  ino: number;
}

/** A problem with a path the client gave: the message says what to do. */
export class LogPathError extends Error {
  override name = 'LogPathError';
}

const GLOB_CHARS = /[*?]/;

/**
 * Whether `name` matches a file-name glob of `*` and `?`: iterative, with one backtrack point,
 * so it runs in O(n*m) whatever the pattern (a regex of many `*` could backtrack for hours).
 */
export function globMatch(glob: string, name: string): boolean {
  let g = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (g < glob.length && (glob[g] === '?' || glob[g] === name[n])) {
      g++;
      n++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      mark = n;
    } else if (star >= 0) {
      g = star + 1;
      n = ++mark;
    } else return false;
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}

/**
 * Resolves client paths (files or globs in the file name) under HOST_ROOT, confined to the
 * allowed roots after symlinks are resolved, regular files only. Rotated sets come oldest first
 * (access.log.3.gz, access.log.2.gz, access.log.1, access.log) so bursts are seen in time order.
 */
export async function resolveLogFiles(
  hostRoot: string,
  allowedRoots: string[],
  paths: string[],
): Promise<LogFile[]> {
  const out = new Map<string, LogFile>();
  for (const p of paths) {
    if (!p.startsWith('/'))
      throw new LogPathError(`${p}: give an absolute path, e.g. /var/log/nginx/access.log`);
    if (p.split('/').includes('..')) throw new LogPathError(`${p}: ".." is not allowed in a path`);
    let names: string[];
    if (GLOB_CHARS.test(dirname(p)))
      throw new LogPathError(`${p}: wildcards are allowed only in the file name`);
    if (GLOB_CHARS.test(basename(p))) {
      const dir = dirname(p);
      // The directory is confined before it is listed: a glob must not reveal names elsewhere.
      let realDir: string;
      try {
        realDir = await confinePath(hostRoot, allowedRoots, dir);
      } catch (err) {
        if (err instanceof PathNotAllowedError) throw new LogPathError(err.message.replace(dir, p));
        throw new LogPathError(`${p}: cannot list ${dir}`);
      }
      let entries: string[];
      try {
        entries = await readdir(realDir);
      } catch {
        throw new LogPathError(`${p}: cannot list ${dir}`);
      }
      names = entries.filter((n) => globMatch(basename(p), n)).map((n) => join(dir, n));
      if (names.length === 0) throw new LogPathError(`${p}: no file matches`);
    } else names = [p];
    for (const name of names) {
      let real: string;
      try {
        real = await confinePath(hostRoot, allowedRoots, name);
      } catch (err) {
        if (err instanceof PathNotAllowedError) throw new LogPathError(err.message);
        const code = (err as NodeJS.ErrnoException).code;
        throw new LogPathError(
          code === 'ENOENT' ? `${name}: no such file` : `${name}: cannot open (${code ?? 'error'})`,
        );
      }
      const st = await stat(real).catch((err: NodeJS.ErrnoException) => {
        throw new LogPathError(`${name}: cannot open (${err.code ?? 'error'})`);
      });
      if (st.isDirectory())
        throw new LogPathError(
          `${name} is a directory: name the log files, e.g. ${join(name, 'access.log*')}`,
        );
      // A FIFO or device would block or never end: refuse before opening.
      if (!st.isFile()) throw new LogPathError(`${name} is not a regular file`);
      out.set(real, {
        hostPath: name,
        realPath: real,
        size: st.size,
        gzip: name.endsWith('.gz'),
        dev: st.dev,
        ino: st.ino,
      });
    }
  }
  return [...out.values()].sort(rotationOrder);
}

/** access.log.3.gz before access.log.2.gz before access.log.1 before access.log; otherwise by name. */
function rotationOrder(a: LogFile, b: LogFile): number {
  const key = (f: LogFile) => {
    const m = /^(.*?)(?:[.-](\d+))?(?:\.gz)?$/.exec(f.hostPath);
    return { base: m?.[1] ?? f.hostPath, n: m?.[2] === undefined ? -1 : Number(m[2]) };
  };
  const ka = key(a);
  const kb = key(b);
  return ka.base.localeCompare(kb.base) || kb.n - ka.n;
}

export interface LineSinks {
  line(text: string): void;
  /** A line longer than the cap: skipped and counted, never buffered whole. */
  tooLong(): void;
  /** Raw bytes read from disk (compressed bytes for .gz), for progress. */
  bytes(n: number): void;
}

/**
 * Streams a file's lines to `sinks` in bounded memory: at most `maxLineBytes` are held for a
 * line. Honours `signal` at once (the stream is destroyed). Invalid UTF-8 becomes U+FFFD.
 */
export async function streamLines(
  file: LogFile,
  sinks: LineSinks,
  opts: { maxLineBytes: number; signal: AbortSignal; shouldStop?: () => boolean },
): Promise<void> {
  // Opened once, by handle, and verified to be the regular file confined in resolveLogFiles: a
  // symlink or FIFO swapped in since can neither lead outside the allowed paths nor block.
  let opened: VerifiedFile;
  try {
    opened = await openVerified(file.realPath, { expect: file, signal: opts.signal });
  } catch (err) {
    if (err instanceof NotRegularFileError) throw new LogPathError(`${file.hostPath} is not a regular file`);
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof PathChangedError || code === 'ELOOP')
      throw new LogPathError(
        `${file.hostPath} was replaced while the call ran (rotated, or swapped for a link): call again`,
      );
    // Cancelled while waiting for a file slot: nothing read, as for a cancel mid-stream.
    if (opts.signal.aborted) return;
    throw new LogPathError(`${file.hostPath}: cannot open (${code ?? 'error'})`);
  }
  const raw = handleStream(opened, { chunkBytes: 256 * 1024, signal: opts.signal });
  raw.on('data', (chunk) => sinks.bytes(chunk.length));
  const source = file.gzip ? raw.pipe(createGunzip()) : raw;
  // pipe() does not forward errors: a failed read must end the gunzip side, not go unhandled.
  if (source !== raw) raw.once('error', (err) => source.destroy(err));
  const abort = () => {
    raw.destroy();
    source.destroy();
  };
  opts.signal.addEventListener('abort', abort, { once: true });
  let carry: Buffer | null = null;
  let skipping = false;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (opts.signal.aborted || opts.shouldStop?.()) break;
      let start = 0;
      let buf = chunk;
      if (carry) {
        buf = Buffer.concat([carry, chunk]);
        carry = null;
      }
      for (;;) {
        const nl = buf.indexOf(10, start);
        if (nl < 0) break;
        if (skipping) skipping = false;
        else if (nl - start > opts.maxLineBytes) sinks.tooLong();
        else sinks.line(buf.toString('utf8', start, nl > start && buf[nl - 1] === 13 ? nl - 1 : nl));
        start = nl + 1;
      }
      const rest = buf.length - start;
      if (rest > opts.maxLineBytes) {
        // Drop the oversized line's head and everything up to its newline.
        if (!skipping) sinks.tooLong();
        skipping = true;
      } else if (rest > 0 && !skipping) carry = buf.subarray(start);
    }
    if (carry && carry.length > 0 && !opts.signal.aborted) sinks.line(carry.toString('utf8'));
  } catch (err) {
    if (opts.signal.aborted) return;
    const code = (err as NodeJS.ErrnoException).code;
    // A sink's own error (e.g. an unrecognised format) passes through unchanged.
    if (typeof code !== 'string') throw err;
    throw new LogPathError(
      code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR'
        ? `${file.hostPath}: not a valid gzip file (truncated or corrupt)`
        : `${file.hostPath}: read failed (${code ?? (err as Error).message})`,
    );
  } finally {
    opts.signal.removeEventListener('abort', abort);
    abort();
  }
}
