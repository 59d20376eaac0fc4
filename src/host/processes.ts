import { join } from 'node:path';
import { parseStatComm } from '../audit/procParsers.js';
import { listDir, readText } from './readFiles.js';

export interface ProcessInfo {
  pid: number;
  /** Kernel command name (comm), at most 15 characters. */
  name: string;
}

/**
 * Reads one small file of every process under HOST_PROC, in bounded parallel batches so a host
 * with tens of thousands of processes stays cheap. Processes that exit meanwhile are skipped.
 */
async function readPerProcess<T>(
  procRoot: string,
  read: (dir: string) => Promise<T | undefined>,
): Promise<Array<{ pid: number; value: T }>> {
  const pids = (await listDir(procRoot)).filter((d) => /^\d+$/.test(d));
  const out: Array<{ pid: number; value: T }> = [];
  const batch = 256;
  for (let i = 0; i < pids.length; i += batch) {
    const slice = pids.slice(i, i + batch);
    const values = await Promise.all(slice.map((pid) => read(join(procRoot, pid))));
    slice.forEach((pid, j) => {
      const value = values[j];
      if (value !== undefined) out.push({ pid: Number(pid), value });
    });
  }
  return out;
}

/** The process table: pid and command name (comm, falling back to the name in stat). */
export async function listProcesses(procRoot: string): Promise<ProcessInfo[]> {
  const rows = await readPerProcess(procRoot, async (dir) => {
    const comm = await readText(join(dir, 'comm'), 256);
    if (comm !== undefined) return comm.trim();
    const stat = await readText(join(dir, 'stat'), 4096);
    return stat === undefined ? undefined : parseStatComm(stat);
  });
  return rows.filter((r) => r.value).map((r) => ({ pid: r.pid, name: r.value }));
}

/** The state letter (R, S, D, Z, ...) of every process, from /proc/PID/stat. */
export async function listProcessStates(procRoot: string): Promise<string[]> {
  const rows = await readPerProcess(procRoot, async (dir) => {
    const stat = await readText(join(dir, 'stat'), 4096);
    if (stat === undefined) return undefined;
    // The state follows the command name, which may itself contain ") ".
    const close = stat.lastIndexOf(')');
    return close < 0 ? undefined : stat.charAt(close + 2) || undefined;
  });
  return rows.map((r) => r.value);
}
