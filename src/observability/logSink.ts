/**
 * The process's log destinations (stdout, stderr), shared by the operational log and the audit
 * log, and a bounded way to exit after them.
 *
 * Why not plain `pino.destination({ fd, sync: false })`: pino registers an `exit` hook that calls
 * the destination's `flushSync()`, and sonic-boom's `flushSync()` retries a failed write every
 * 100 ms for ever when the error is not EAGAIN. A server whose stdout reader had gone (log
 * collector or parent died, EPIPE) and that logged anything just before exiting ("draining",
 * "stopped") hung in that loop inside `process.exit()`: SIGTERM did not stop it, and a second
 * signal could not even be handled (the main thread never returned to the event loop).
 *
 * So an asynchronous destination here has no synchronous flush: every exit goes through
 * `exitAfterLogs()`, which waits asynchronously, at most `LOG_SETTLE_MS`, for the records
 * already written to leave (or for the write to fail), then exits. A broken log pipe loses the
 * log, never the shutdown; the server keeps serving and says so once on stderr.
 */
import { pino } from 'pino';

type Destination = ReturnType<typeof pino.destination>;

interface Sink {
  dest: Destination;
  /** A write is queued or in flight (cleared by sonic-boom's 'drain' or 'error'). */
  busy: boolean;
}

/** How long an exit waits for queued log records; a stalled or broken log reader gets no more. */
export const LOG_SETTLE_MS = 2000;

/** One destination per descriptor and mode (at most four): records from two loggers never interleave mid-line. */
const sinks = new Map<string, Sink>();

export function logDestination(fd: 1 | 2, sync: boolean): Destination {
  const key = `${fd}:${sync}`;
  const known = sinks.get(key);
  if (known) return known.dest;
  const dest = pino.destination({ fd, sync });
  const sink: Sink = { dest, busy: false };
  let reported = false;
  // A listener also keeps an error other than EPIPE (which pino already swallows, turning the
  // destination into a no-op) from crashing the server: logging is not worth the service.
  dest.on('error', (err: NodeJS.ErrnoException) => {
    sink.busy = false;
    if (reported) return;
    reported = true;
    const what = fd === 1 ? 'stdout' : 'stderr';
    const after = err.code === 'EPIPE' ? 'the reader is gone; logging to it stopped' : 'records may be lost';
    if (fd === 1) {
      try {
        process.stderr.write(
          `server-audit-mcp: cannot write logs to ${what} (${err.code ?? err.message}): ${after}; the server keeps running\n`,
        );
      } catch {
        // stderr is gone too: nothing left to tell
      }
    }
  });
  if (!sync) {
    const write = dest.write.bind(dest);
    dest.write = (data: string) => {
      sink.busy = true;
      return write(data);
    };
    dest.on('drain', () => {
      sink.busy = false;
    });
    // pino's exit hook calls this; the real one can loop for ever on a dead pipe (see above).
    dest.flushSync = () => {};
  }
  sinks.set(key, sink);
  return dest;
}

/** Resolves once every asynchronous destination is idle or failed, or after `timeoutMs`. */
export function settleLogs(timeoutMs: number = LOG_SETTLE_MS): Promise<void> {
  const waiting = [...sinks.values()].filter((s) => s.busy);
  if (waiting.length === 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let left = waiting.length;
    const timer = setTimeout(resolve, timeoutMs);
    const one = () => {
      if (--left > 0) return;
      clearTimeout(timer);
      resolve();
    };
    for (const { dest } of waiting) {
      const done = () => {
        dest.off('drain', done);
        dest.off('error', done);
        one();
      };
      dest.on('drain', done);
      dest.on('error', done);
    }
  });
}

let exiting: Promise<never> | undefined;

/** `process.exit(code)` once queued log records are out (bounded by `timeoutMs`). Idempotent. */
export function exitAfterLogs(code: number, timeoutMs: number = LOG_SETTLE_MS): Promise<never> {
  exiting ??= settleLogs(timeoutMs).then(() => process.exit(code));
  return exiting;
}
