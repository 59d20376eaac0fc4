import {
  type CpuInfo,
  type OsRelease,
  parseCpuinfo,
  parseMeminfo,
  parseModules,
  parseOsRelease,
  parseUptime,
} from '../audit/procParsers.js';
import { ALL_SIGNATURES, type HostFacts, type VirtualizationFacts } from '../audit/systemDetection.js';
import { type HostPaths, under } from './hostPaths.js';
import { listProcesses, type ProcessInfo } from './processes.js';
import { exists, readText } from './readFiles.js';

export interface SystemFacts {
  osRelease: OsRelease | null;
  kernel: string | null;
  hostname: string | null;
  cpu: CpuInfo | null;
  memoryTotalBytes: number | null;
  uptimeSeconds: number | null;
  host: HostFacts;
  virtualization: VirtualizationFacts;
  /** What could not be read, each with the file it wanted: the answer is partial, not wrong. */
  unreadable: string[];
}

/** Reads everything detect_system needs from the host trees, in parallel. Never runs a command. */
export async function gatherSystemFacts(
  paths: HostPaths,
  /** A process table already read (the health check shares one per run). */
  processTable?: Promise<ProcessInfo[]>,
): Promise<SystemFacts> {
  const unreadable: string[] = [];
  const want = async (path: string) => {
    const text = await readText(path);
    if (text === undefined) unreadable.push(path);
    return text;
  };
  const quiet = (path: string) => readText(path);
  const proc = (p: string) => under(paths.proc, p);
  const sys = (p: string) => under(paths.sys, p);
  const root = (p: string) => under(paths.root, p);

  const signaturePaths = [...new Set(ALL_SIGNATURES.flatMap((s) => s.paths))];
  const [
    osText,
    kernel,
    hostnameProc,
    hostnameEtc,
    cpuText,
    memText,
    uptimeText,
    modulesText,
    initCgroup,
    product,
    vendor,
    dockerenv,
    containerenv,
    processes,
    present,
  ] = await Promise.all([
    readText(root('/etc/os-release')).then((t) => t ?? want(root('/usr/lib/os-release'))),
    want(proc('/sys/kernel/osrelease')),
    quiet(proc('/sys/kernel/hostname')),
    quiet(root('/etc/hostname')),
    want(proc('/cpuinfo')),
    want(proc('/meminfo')),
    want(proc('/uptime')),
    quiet(proc('/modules')),
    quiet(proc('/1/cgroup')),
    quiet(sys('/class/dmi/id/product_name')),
    quiet(sys('/class/dmi/id/sys_vendor')),
    exists(root('/.dockerenv')),
    exists(root('/run/.containerenv')),
    processTable ?? listProcesses(paths.proc),
    Promise.all(signaturePaths.map(async (p) => ((await exists(root(p))) ? p : null))),
  ]);
  const hostname = (hostnameProc ?? hostnameEtc)?.trim() || null;
  if (hostname === null) unreadable.push(proc('/sys/kernel/hostname'));
  const cpu = cpuText === undefined ? null : parseCpuinfo(cpuText);
  return {
    osRelease: osText === undefined ? null : parseOsRelease(osText),
    kernel: kernel?.trim() || null,
    hostname,
    cpu,
    memoryTotalBytes: memText === undefined ? null : (parseMeminfo(memText).MemTotal ?? null),
    uptimeSeconds: uptimeText === undefined ? null : (parseUptime(uptimeText) ?? null),
    host: {
      processNames: new Set(processes.map((p) => p.name)),
      presentPaths: new Set(present.filter((p): p is string => p !== null)),
      modules: modulesText === undefined ? new Set() : parseModules(modulesText),
    },
    virtualization: {
      initCgroup,
      dockerenv,
      containerenv,
      dmiProductName: product?.trim(),
      dmiSysVendor: vendor?.trim(),
      hypervisorFlag: cpu?.hypervisorFlag ?? false,
    },
    unreadable,
  };
}
