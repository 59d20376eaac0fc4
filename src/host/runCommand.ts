import { execFile } from 'node:child_process';

export interface CommandResult {
  /** False when the command does not exist (ENOENT). */
  found: boolean;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs an allow-listed command with a fixed argv (never a shell string), a timeout and an output
 * cap. A non-zero exit is not an error here: smartctl, for one, encodes health bits in it.
 */
export function runCommand(
  file: string,
  args: readonly string[],
  opts: { timeoutMs?: number; maxBytes?: number; signal?: AbortSignal } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    if (opts.signal?.aborted) {
      resolve({ found: true, exitCode: null, stdout: '', stderr: 'aborted', timedOut: false });
      return;
    }
    // The abort listener is ours, not execFile's: Node leaves its own attached when the spawn
    // fails (ENOENT emits no "exit"), and a missing smartctl is the common case.
    const onAbort = () => child.kill('SIGTERM');
    const child = execFile(
      file,
      args,
      {
        timeout: opts.timeoutMs ?? 5000,
        maxBuffer: opts.maxBytes ?? 4 * 1024 * 1024,
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        opts.signal?.removeEventListener('abort', onAbort);
        const e = err as (NodeJS.ErrnoException & { code?: string | number; killed?: boolean }) | null;
        if (e && e.code === 'ENOENT') {
          resolve({ found: false, exitCode: null, stdout: '', stderr: '', timedOut: false });
          return;
        }
        resolve({
          found: true,
          exitCode: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
          timedOut: Boolean(e?.killed) && !opts.signal?.aborted,
        });
      },
    );
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
