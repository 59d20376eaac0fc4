import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckEnv } from '../audit/health/checkEnv.js';
import {
  analyzeCpu,
  analyzeDisks,
  analyzeFileHandles,
  analyzeLoad,
  analyzeMemory,
  analyzeOomKills,
  analyzePressure,
  analyzeProcesses,
  analyzeUptime,
  type MountUsage,
  parseMountinfo,
  parseProcStatCpu,
} from '../audit/health/resourcesAnalysis.js';
import { emptyResult, type GroupResult, mergeResults } from '../audit/health/types.js';
import { parseCpuinfo, parseMeminfo, parseUptime } from '../audit/procParsers.js';
import { under } from '../host/hostPaths.js';
import { listDir, readText } from '../host/readFiles.js';
import { processTable } from './sharedFacts.js';

export interface ResourcesOptions {
  /** Interval between the two /proc/stat samples; 0 uses the averages since boot. */
  cpuSampleMs: number;
}

/** The "resources" group: every sub-check reads its files in parallel and degrades on its own. */
export async function checkResources(env: CheckEnv, opts: ResourcesOptions): Promise<GroupResult> {
  const proc = (p: string) => under(env.paths.proc, p);
  const t = env.thresholds;
  const missing = (what: string, path: string): GroupResult => ({
    ...emptyResult(),
    notes: [`${what}: cannot read ${path}`],
  });
  const read = async (path: string, fn: (text: string) => GroupResult, what: string) => {
    const text = await readText(path);
    return text === undefined ? missing(what, path) : fn(text);
  };

  const [memory, load, cpu, pressure, disks, files, processes, oom, uptime] = await Promise.all([
    read(proc('/meminfo'), (s) => analyzeMemory(parseMeminfo(s), t), 'memory'),
    (async () => {
      const [loadavg, cpuinfo] = await Promise.all([readText(proc('/loadavg')), readText(proc('/cpuinfo'))]);
      if (loadavg === undefined) return missing('load', proc('/loadavg'));
      return analyzeLoad(loadavg, cpuinfo ? parseCpuinfo(cpuinfo).logicalCores : 0, t);
    })(),
    sampleCpu(proc('/stat'), opts.cpuSampleMs, env.signal).then((s) =>
      s ? analyzeCpu(s.before, s.after, t) : missing('cpu', proc('/stat')),
    ),
    readPressure(proc('/pressure')).then((files) =>
      files
        ? analyzePressure(files, t)
        : {
            ...emptyResult(),
            notes: [
              'pressure: /proc/pressure absent (kernel < 4.20 or PSI disabled): stall data unavailable',
            ],
          },
    ),
    readDisks(env),
    read(proc('/sys/fs/file-nr'), (s) => analyzeFileHandles(s, t), 'files'),
    processTable(env).then((rows) =>
      analyzeProcesses(
        rows.map((r) => r.state),
        t,
      ),
    ),
    read(proc('/vmstat'), analyzeOomKills, 'oom'),
    read(
      proc('/uptime'),
      (s) => {
        const up = parseUptime(s);
        return up === undefined ? missing('uptime', proc('/uptime')) : analyzeUptime(up, t);
      },
      'uptime',
    ),
  ]);
  return mergeResults(memory, load, cpu, pressure, disks, files, processes, oom, uptime);
}

async function sampleCpu(path: string, ms: number, signal: AbortSignal) {
  const first = await readText(path);
  if (first === undefined) return undefined;
  const a = parseProcStatCpu(first);
  if (!a) return undefined;
  if (ms <= 0) return { before: undefined, after: a };
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
  const second = await readText(path);
  const b = second === undefined ? undefined : parseProcStatCpu(second);
  return b ? { before: a, after: b } : { before: undefined, after: a };
}

async function readPressure(dir: string): Promise<Record<string, string> | undefined> {
  const names = (await listDir(dir)).filter((n) => ['cpu', 'memory', 'io'].includes(n));
  if (names.length === 0) return undefined;
  const out: Record<string, string> = {};
  await Promise.all(
    names.map(async (n) => {
      const text = await readText(join(dir, n));
      if (text !== undefined) out[n] = text;
    }),
  );
  return out;
}

/** Mounts of the host's init (PID 1) namespace, measured with statfs under HOST_ROOT. */
async function readDisks(env: CheckEnv): Promise<GroupResult> {
  const path = under(env.paths.proc, '/1/mountinfo');
  const text = (await readText(path)) ?? (await readText(under(env.paths.proc, '/self/mountinfo')));
  if (text === undefined) return { ...emptyResult(), notes: [`disks: cannot read ${path}`] };
  const mounts = parseMountinfo(text);
  const notes: string[] = [];
  const usage = await Promise.all(
    mounts.map(async (m): Promise<MountUsage | undefined> => {
      try {
        const s = await statfs(under(env.paths.root, m.mountPoint));
        return {
          ...m,
          sizeBytes: s.blocks * s.bsize,
          freeBytes: s.bfree * s.bsize,
          availBytes: s.bavail * s.bsize,
          inodes: s.files,
          inodesFree: s.ffree,
        };
      } catch (err) {
        notes.push(
          `disks: cannot statfs ${m.mountPoint} under HOST_ROOT (${(err as NodeJS.ErrnoException).code})`,
        );
        return undefined;
      }
    }),
  );
  const result = analyzeDisks(
    usage.filter((u): u is MountUsage => u !== undefined),
    env.thresholds,
  );
  result.notes.push(...notes.slice(0, 10));
  if (notes.length > 10) result.notes.push(`disks: ${notes.length - 10} more mounts could not be measured`);
  return result;
}
