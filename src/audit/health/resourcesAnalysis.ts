/** Pure analysis of the "resources" check group: memory, load, CPU, pressure, disks, files, processes. */
import type { Finding } from '../findings.js';
import { grade, type ThresholdPair, type Thresholds } from './thresholds.js';
import { emptyResult, type GroupResult } from './types.js';

const pct = (n: number) => `${n.toFixed(1)}%`;
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** A high/critical finding when `value` crosses `t`, else nothing. */
function graded(value: number, t: ThresholdPair, f: Omit<Finding, 'severity'>): Finding[] {
  const severity = grade(value, t);
  return severity ? [{ ...f, severity }] : [];
}

export function analyzeMemory(meminfo: Record<string, number>, t: Thresholds): GroupResult {
  const r = emptyResult();
  const total = meminfo.MemTotal;
  const available = meminfo.MemAvailable;
  if (!total || available === undefined) {
    r.notes.push('memory: /proc/meminfo lacks MemTotal or MemAvailable (kernel older than 3.14?)');
    return r;
  }
  const used = (1 - available / total) * 100;
  r.metrics['memory.total_bytes'] = total;
  r.metrics['memory.available_bytes'] = available;
  r.metrics['memory.used_percent'] = round(used);
  r.findings.push(
    ...graded(used, t.memoryUsedPercent, {
      id: 'memory.used_percent',
      title: `Memory ${pct(used)} used`,
      evidence: `MemAvailable ${mib(available)} of MemTotal ${mib(total)}`,
      recommendation:
        'Find the largest consumers (ps aux --sort=-rss | head), check for leaks, add memory or lower service limits.',
    }),
  );
  const swapTotal = meminfo.SwapTotal ?? 0;
  if (swapTotal > 0) {
    const swapUsed = ((swapTotal - (meminfo.SwapFree ?? swapTotal)) / swapTotal) * 100;
    r.metrics['swap.used_percent'] = round(swapUsed);
    r.findings.push(
      ...graded(swapUsed, t.swapUsedPercent, {
        id: 'swap.used_percent',
        title: `Swap ${pct(swapUsed)} used`,
        evidence: `SwapFree ${mib(meminfo.SwapFree ?? 0)} of SwapTotal ${mib(swapTotal)}`,
        recommendation:
          'Heavy swap use slows everything: find what is swapped (smem -s swap) and add memory.',
      }),
    );
  }
  return r;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

export function analyzeLoad(loadavg: string, cores: number, t: Thresholds): GroupResult {
  const r = emptyResult();
  const [l1, l5, l15] = loadavg.trim().split(/\s+/).slice(0, 3).map(Number);
  if (![l1, l5, l15].every((n) => Number.isFinite(n)) || cores <= 0) {
    r.notes.push('load: /proc/loadavg or the CPU count is unreadable');
    return r;
  }
  r.metrics['load.1'] = l1 as number;
  r.metrics['load.5'] = l5 as number;
  r.metrics['load.15'] = l15 as number;
  r.metrics['cpu.cores'] = cores;
  const perCore = (l5 as number) / cores;
  r.metrics['load.per_core.5'] = round(perCore);
  r.findings.push(
    ...graded(perCore, t.loadPerCore, {
      id: 'load.per_core',
      title: `Load ${perCore.toFixed(2)} per core`,
      evidence: `load average ${l1} ${l5} ${l15} (1/5/15 min) on ${cores} cores`,
      recommendation:
        'See what is running or waiting (top, ps -eo state,cmd | grep "^D"); load counts I/O waits too.',
    }),
  );
  return r;
}

export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

/** The aggregate "cpu" line of /proc/stat. */
export function parseProcStatCpu(stat: string): CpuTimes | undefined {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  return { user, nice, system, idle, iowait, irq, softirq, steal };
}

/**
 * iowait and steal % between two samples; with no `before`, the averages since boot.
 * Guest time is already counted in user, so it is not added again.
 */
export function analyzeCpu(before: CpuTimes | undefined, after: CpuTimes, t: Thresholds): GroupResult {
  const r = emptyResult();
  const d = (k: keyof CpuTimes) => after[k] - (before?.[k] ?? 0);
  const keys: (keyof CpuTimes)[] = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'];
  const total = keys.reduce((s, k) => s + d(k), 0);
  if (total <= 0) {
    r.notes.push('cpu: no CPU time elapsed between the two /proc/stat samples');
    return r;
  }
  const iowait = (d('iowait') / total) * 100;
  const steal = (d('steal') / total) * 100;
  const window = before ? 'over the sample interval' : 'averaged since boot';
  r.metrics['cpu.iowait_percent'] = round(iowait);
  r.metrics['cpu.steal_percent'] = round(steal);
  r.metrics['cpu.busy_percent'] = round(((total - d('idle') - d('iowait')) / total) * 100);
  r.findings.push(
    ...graded(iowait, t.iowaitPercent, {
      id: 'cpu.iowait',
      title: `CPU iowait ${pct(iowait)}`,
      evidence: `iowait ${pct(iowait)} of CPU time ${window}`,
      recommendation:
        'Find the busy disk and process (iostat -x 1, iotop -o); check disk health and RAID state.',
    }),
    ...graded(steal, t.stealPercent, {
      id: 'cpu.steal',
      title: `CPU steal ${pct(steal)}`,
      evidence: `steal ${pct(steal)} of CPU time ${window}`,
      recommendation: 'The hypervisor is giving this VM less CPU than it wants: ask the provider or resize.',
    }),
  );
  return r;
}

/** /proc/pressure/<resource>: "some avg10=0.18 avg60=0.34 avg300=0.10 total=159886802". */
export function analyzePressure(files: Record<string, string>, t: Thresholds): GroupResult {
  const r = emptyResult();
  for (const [resource, text] of Object.entries(files)) {
    for (const line of text.split('\n')) {
      const m = /^(some|full) avg10=([\d.]+) avg60=([\d.]+) avg300=([\d.]+)/.exec(line);
      if (!m) continue;
      const kind = m[1] as string;
      const avg60 = Number(m[3]);
      r.metrics[`pressure.${resource}.${kind}_avg60`] = avg60;
      if (kind !== 'some') continue;
      r.findings.push(
        ...graded(avg60, t.pressureSomeAvg60, {
          id: `pressure.${resource}`,
          title: `${resource} pressure: tasks stalled ${pct(avg60)} of the last minute`,
          evidence: line.trim(),
          recommendation:
            resource === 'cpu'
              ? 'More runnable work than CPU: find the hogs (top) or add cores.'
              : resource === 'memory'
                ? 'Tasks wait for memory reclaim: add memory or reduce working sets.'
                : 'Tasks wait for I/O: find the busy device (iostat -x 1) and process (iotop -o).',
        }),
      );
    }
  }
  return r;
}

export interface MountUsage {
  mountPoint: string;
  fsType: string;
  source: string;
  sizeBytes: number;
  availBytes: number;
  freeBytes: number;
  inodes: number;
  inodesFree: number;
}

export function analyzeDisks(mounts: MountUsage[], t: Thresholds): GroupResult {
  const r = emptyResult();
  for (const m of mounts) {
    if (m.sizeBytes <= 0) continue;
    // Like df: used against used+avail, so the root-reserved blocks count as unavailable.
    const used = m.sizeBytes - m.freeBytes;
    const usedPct = (used / (used + m.availBytes)) * 100;
    const key = `disk.${m.mountPoint}`;
    r.metrics[`${key}.used_percent`] = round(usedPct);
    r.metrics[`${key}.avail_bytes`] = m.availBytes;
    r.metrics[`${key}.size_bytes`] = m.sizeBytes;
    r.findings.push(
      ...graded(usedPct, t.diskUsedPercent, {
        id: `disk.used_percent:${m.mountPoint}`,
        title: `${m.mountPoint} is ${pct(usedPct)} full`,
        evidence: `${gib(m.availBytes)} available of ${gib(m.sizeBytes)} on ${m.source} (${m.fsType})`,
        recommendation: `Find what grew (du -xh --max-depth=2 ${m.mountPoint} | sort -h | tail), rotate or clean logs, or grow the file system.`,
      }),
    );
    if (m.inodes > 0) {
      const inodePct = ((m.inodes - m.inodesFree) / m.inodes) * 100;
      r.metrics[`${key}.inodes_used_percent`] = round(inodePct);
      r.findings.push(
        ...graded(inodePct, t.inodeUsedPercent, {
          id: `disk.inodes_used_percent:${m.mountPoint}`,
          title: `${m.mountPoint} has used ${pct(inodePct)} of its inodes`,
          evidence: `${m.inodesFree} of ${m.inodes} inodes free`,
          recommendation: `Many small files: find the directory (du --inodes -x ${m.mountPoint} | sort -n | tail), e.g. session or mail queue files.`,
        }),
      );
    }
  }
  return r;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/** Pseudo and virtual file systems that are never "a disk" (df -x equivalents). */
const PSEUDO_FS = new Set([
  'proc',
  'sysfs',
  'devtmpfs',
  'devpts',
  'tmpfs',
  'cgroup',
  'cgroup2',
  'pstore',
  'bpf',
  'tracefs',
  'debugfs',
  'securityfs',
  'mqueue',
  'hugetlbfs',
  'configfs',
  'fusectl',
  'autofs',
  'binfmt_misc',
  'nsfs',
  'ramfs',
  'rpc_pipefs',
  'efivarfs',
  'squashfs',
  'iso9660',
  'overlay',
  'fuse.lxcfs',
  'fuse.gvfsd-fuse',
  'fuse.portal',
  'nfsd',
  'selinuxfs',
  'devfs',
]);

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
}

/**
 * Real mounts from /proc/PID/mountinfo: pseudo file systems skipped, and each mount point once
 * (bind mounts of the same device and root would double-count the same space).
 */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  const seenPoints = new Set<string>();
  const seenDevices = new Set<string>();
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const device = left[2];
    const root = left[3];
    const mountPoint = unescapeMount(left[4] ?? '');
    const [fsType = '', source = ''] = right;
    if (!mountPoint || PSEUDO_FS.has(fsType) || seenPoints.has(mountPoint)) continue;
    const deviceKey = `${device}:${root}`;
    if (seenDevices.has(deviceKey)) continue;
    seenPoints.add(mountPoint);
    seenDevices.add(deviceKey);
    out.push({ mountPoint, fsType, source: unescapeMount(source) });
  }
  return out;
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040 ...). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** /proc/sys/fs/file-nr: "allocated  unused  max". */
export function analyzeFileHandles(fileNr: string, t: Thresholds): GroupResult {
  const r = emptyResult();
  const [allocated, , max] = fileNr.trim().split(/\s+/).map(Number);
  if (!Number.isFinite(allocated) || !max) {
    r.notes.push('files: /proc/sys/fs/file-nr is unreadable');
    return r;
  }
  const used = ((allocated as number) / max) * 100;
  r.metrics['files.allocated'] = allocated as number;
  r.metrics['files.max'] = max;
  r.metrics['files.used_percent'] = round(used, 3);
  r.findings.push(
    ...graded(used, t.fileHandlesPercent, {
      id: 'files.used_percent',
      title: `${pct(used)} of the system file-handle limit in use`,
      evidence: `${allocated} of fs.file-max ${max}`,
      recommendation:
        'Find the process holding most descriptors (ls /proc/*/fd | wc -l per pid) or raise fs.file-max.',
    }),
  );
  return r;
}

export function analyzeProcesses(states: string[], t: Thresholds): GroupResult {
  const r = emptyResult();
  const zombies = states.filter((s) => s === 'Z').length;
  r.metrics['processes.total'] = states.length;
  r.metrics['processes.zombies'] = zombies;
  r.metrics['processes.blocked'] = states.filter((s) => s === 'D').length;
  const severity = grade(zombies, t.zombieProcesses) ?? (zombies > 0 ? 'low' : undefined);
  if (severity) {
    r.findings.push({
      id: 'processes.zombies',
      severity,
      title: `${zombies} zombie process${zombies === 1 ? '' : 'es'}`,
      evidence: `${zombies} of ${states.length} processes in state Z`,
      recommendation:
        "A parent is not reaping its children: find it (ps -eo ppid,stat | awk '$2 ~ /Z/ {print $1}' | sort | uniq -c) and restart it.",
    });
  }
  return r;
}

export function analyzeOomKills(vmstat: string): GroupResult {
  const r = emptyResult();
  const m = /^oom_kill (\d+)$/m.exec(vmstat);
  if (!m) {
    r.notes.push('oom: /proc/vmstat has no oom_kill counter (kernel older than 4.13)');
    return r;
  }
  const kills = Number(m[1]);
  r.metrics['vmstat.oom_kills'] = kills;
  if (kills > 0) {
    r.findings.push({
      id: 'memory.oom_kills',
      severity: 'high',
      title: `The kernel killed ${kills} process${kills === 1 ? '' : 'es'} for lack of memory since boot`,
      evidence: `oom_kill ${kills} in /proc/vmstat`,
      recommendation:
        'See which (journalctl -k | grep -i "killed process" or dmesg -T | grep -i oom) and size memory or limits.',
    });
  }
  return r;
}

export function analyzeUptime(uptimeSeconds: number, t: Thresholds): GroupResult {
  const r = emptyResult();
  r.metrics['uptime.seconds'] = Math.floor(uptimeSeconds);
  if (uptimeSeconds < t.recentRebootSeconds) {
    r.findings.push({
      id: 'uptime.recent_reboot',
      severity: 'low',
      title: `Rebooted ${Math.round(uptimeSeconds / 60)} minutes ago`,
      evidence: `uptime ${Math.floor(uptimeSeconds)} s`,
      recommendation:
        'If the reboot was not planned, check why: journalctl --list-boots; journalctl -b -1 -e.',
    });
  }
  return r;
}
