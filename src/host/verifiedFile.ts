/**
 * Opening a named file so that what is read is the file that was checked. Checking a path
 * (realpath, stat) and then opening it by name again leaves a window: a local user who can write
 * in an allowed directory swaps the file for a symlink to a file outside, or for a FIFO that
 * blocks the open (and its libuv thread) for good. So every tool that reads a named file:
 *
 * 1. opens the resolved path once, with O_NOFOLLOW (a final symlink fails with ELOOP) and
 *    O_NONBLOCK (a FIFO opens at once instead of waiting for a writer), in a `fileOps` slot;
 * 2. fstats the handle: it must be a regular file, and, when the caller recorded one when it
 *    confined the path, the same one (device and inode);
 * 3. asks the kernel where the handle really is (/proc/self/fd on Linux): it must be the path
 *    that was confined, or lie inside the allowed roots (O_NOFOLLOW guards only the last
 *    component; a directory on the way swapped for a symlink is caught here);
 * 4. reads from that handle only, each read in a `fileOps` slot.
 *
 * Operator-configured files (DB password files, THRESHOLDS_FILE, allow-lists) are not confined
 * to AUDIT_ALLOWED_PATHS and may legitimately be symlinks (Kubernetes mounts secrets as links):
 * `readOperatorFileSync` resolves the link once and then applies the same handle checks, so
 * a FIFO or a swap cannot hang start-up or a call.
 */
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readlinkSync,
  readSync,
  realpathSync,
  type Stats,
} from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { Readable } from 'node:stream';
import { fileOp } from './blockingOps.js';
import { handleRealPath, isInsideOrEqual, PathChangedError } from './walkGuard.js';

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** The path names something other than a regular file (FIFO, device, socket, directory). */
export class NotRegularFileError extends Error {
  override name = 'NotRegularFileError';
  /** EISDIR for a directory (the code a plain read gives), ENOTREG for a FIFO, device or socket. */
  readonly code: string;
  constructor(path: string, st: Stats) {
    super(`${path} is not a regular file`);
    this.code = st.isDirectory() ? 'EISDIR' : 'ENOTREG';
  }
}

export interface VerifyOptions {
  /**
   * Real paths of the allowed roots: the handle may lie anywhere inside them. Without, it must
   * be exactly the path given (callers pass the real path confinement returned).
   */
  realRoots?: string[];
  /** The file's identity when it was confined: a different file at that path is refused. */
  expect?: Pick<Stats, 'dev' | 'ino'>;
  /** The call's cancellation/deadline, for waiting on a `fileOps` slot. */
  signal?: AbortSignal;
}

export interface VerifiedFile {
  fh: FileHandle;
  stats: Stats;
  /** Where the kernel says the handle is. */
  realPath: string;
}

/**
 * Opens `path` (already resolved and confined) by handle and verifies it (steps 1-3 above).
 * Throws NotRegularFileError, PathChangedError, or the open's own error (ENOENT, ELOOP for a
 * symlink swapped in, EACCES). The caller closes `fh`.
 */
export async function openVerified(path: string, opts: VerifyOptions = {}): Promise<VerifiedFile> {
  const fh = await fileOp(() => open(path, OPEN_FLAGS), opts.signal);
  try {
    const stats = await fileOp(() => fh.stat(), opts.signal);
    if (!stats.isFile()) throw new NotRegularFileError(path, stats);
    if (opts.expect && (stats.dev !== opts.expect.dev || stats.ino !== opts.expect.ino))
      throw new PathChangedError(`${path} was replaced by another file after it was checked`);
    const real = await fileOp(() => handleRealPath(fh, path), opts.signal);
    if (real === undefined || (real !== path && !opts.realRoots?.some((r) => isInsideOrEqual(real, r))))
      throw new PathChangedError(`${path} no longer leads to the file that was checked`);
    return { fh, stats, realPath: real };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Reads a verified regular file whole: at most `maxBytes`, never past the size fstat reported
 * (a file growing meanwhile is read to that size; a pseudo-file claiming 0 bytes is not read).
 */
export async function readVerified(
  path: string,
  maxBytes: number,
  opts: VerifyOptions = {},
): Promise<Buffer | 'not_regular' | 'too_large'> {
  let file: VerifiedFile;
  try {
    file = await openVerified(path, opts);
  } catch (err) {
    if (err instanceof NotRegularFileError) return 'not_regular';
    throw err;
  }
  const { fh, stats } = file;
  try {
    if (stats.size > maxBytes) return 'too_large';
    const buf = Buffer.alloc(stats.size);
    let off = 0;
    while (off < buf.length) {
      const { bytesRead } = await fileOp(() => fh.read(buf, off, buf.length - off, off), opts.signal);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return buf.subarray(0, off);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * A readable stream of a verified file's bytes, read from its handle in `chunkBytes` pieces
 * (each in a `fileOps` slot); the handle closes when the stream ends or is destroyed. Reads to
 * the end of the file as it is then (a log being appended to is read past its size at open).
 */
export function handleStream(
  file: VerifiedFile,
  opts: { chunkBytes?: number; signal?: AbortSignal } = {},
): Readable {
  const size = opts.chunkBytes ?? 256 * 1024;
  const { fh } = file;
  let pos = 0;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await fh.close().catch(() => undefined);
  };
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const buf = Buffer.allocUnsafe(size);
        const { bytesRead } = await fileOp(() => fh.read(buf, 0, size, pos), opts.signal);
        if (bytesRead === 0) return;
        pos += bytesRead;
        yield bytesRead === size ? buf : buf.subarray(0, bytesRead);
      }
    } finally {
      await close();
    }
  }
  const stream = Readable.from(chunks(), { objectMode: false, highWaterMark: size });
  // A stream destroyed before it was read never runs the generator's finally.
  stream.once('close', () => void close());
  return stream;
}

/**
 * Reads an operator-configured file synchronously (start-up, or a small file per call such as a
 * DB password): the path's symlinks are resolved once (configured paths may be links), then the
 * real path is opened O_NOFOLLOW|O_NONBLOCK, must be a regular file no larger than `maxBytes`
 * and be where the kernel says the handle is. Throws errors with a `code` (ENOENT, ELOOP,
 * ENOTREG, EFBIG, ECHANGED) for messages.
 */
export function readOperatorFileSync(path: string, maxBytes: number): Buffer {
  const real = realpathSync(path);
  const fd = openSync(real, OPEN_FLAGS);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFileError(path, st);
    if (st.size > maxBytes)
      throw Object.assign(new Error(`${path} is over ${maxBytes} bytes`), { code: 'EFBIG' });
    if (process.platform === 'linux') {
      let link: string | undefined;
      try {
        link = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        link = undefined; // no /proc (a minimal container): the O_NOFOLLOW open of the real path stands
      }
      if (link !== undefined && (!isAbsolute(link) || link !== real))
        throw new PathChangedError(`${path} changed while it was being opened`);
    }
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}
