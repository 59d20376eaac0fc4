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

export interface ProcessRow extends ProcessInfo {
  /** The state letter: R, S, D, Z, ... */
  state: string;
}

/**
 * The process table from /proc/PID/stat alone: it carries the command name (the same task comm
 * that /proc/PID/comm shows) and the state, so one read per process serves both.
 */
export async function readProcessTable(procRoot: string): Promise<ProcessRow[]> {
  const rows = await readPerProcess(procRoot, async (dir) => {
    const stat = await readText(join(dir, 'stat'), 4096);
    if (stat === undefined) {
      // A restricted or partial procfs may show comm alone; the state is then unknown.
      const comm = (await readText(join(dir, 'comm'), 256))?.trim();
      return comm ? { name: comm, state: '' } : undefined;
    }
    const name = parseStatComm(stat);
    // The state follows the command name, which may itself contain ") ".
    const close = stat.lastIndexOf(')');
    const state = close < 0 ? '' : stat.charAt(close + 2);
    return name ? { name, state } : undefined;
  });
  return rows.map((r) => ({ pid: r.pid, ...r.value }));
}

/** The process table: pid and command name. */
export async function listProcesses(procRoot: string): Promise<ProcessInfo[]> {
  return (await readProcessTable(procRoot)).map(({ pid, name }) => ({ pid, name }));
}
