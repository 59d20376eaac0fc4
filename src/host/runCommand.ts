import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

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
export async function runCommand(
  file: string,
  args: readonly string[],
  opts: { timeoutMs?: number; maxBytes?: number; signal?: AbortSignal } = {},
): Promise<CommandResult> {
  if (!file.includes('/') && !(await onPath(file)))
    return { found: false, exitCode: null, stdout: '', stderr: '', timedOut: false };
  return spawnCommand(file, args, opts);
}

const COMMAND_PATH = () => process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
/** How long "not installed" is believed: a package installed meanwhile is seen within this. */
export const MISSING_TTL_MS = 30_000;
/** Command names are allow-listed constants: a handful of entries at most. */
const MISSING_MAX = 32;
const missing = new Map<string, number>();

/**
 * Whether `name` is an executable on PATH. A missing command (smartctl is often not installed)
 * is remembered for a while instead of spawned on every check: spawning forks the whole process
 * before exec fails, which cost ~8 ms per health check in an agent process (bench/fleet.mjs).
 */
async function onPath(name: string): Promise<boolean> {
  const path = COMMAND_PATH();
  const key = `${path}\0${name}`;
  const since = missing.get(key);
  if (since !== undefined && Date.now() - since < MISSING_TTL_MS) return false;
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, name), constants.X_OK);
      missing.delete(key);
      return true;
    } catch {
      // not in this directory
    }
  }
  if (missing.size >= MISSING_MAX) missing.delete(missing.keys().next().value as string);
  missing.set(key, Date.now());
  return false;
}

function spawnCommand(
  file: string,
  args: readonly string[],
  opts: { timeoutMs?: number; maxBytes?: number; signal?: AbortSignal },
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
        env: { PATH: COMMAND_PATH(), LC_ALL: 'C' },
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
