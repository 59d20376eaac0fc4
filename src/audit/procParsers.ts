/** Pure parsers for procfs and /etc text formats. No I/O here: tests feed them fixture text. */

/** The command name in /proc/PID/stat: the text between the first "(" and the last ")". */
export function parseStatComm(stat: string): string | undefined {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close <= open) return undefined;
  return stat.slice(open + 1, close);
}

/** /proc/meminfo as bytes per key ("MemTotal: 3742148 kB" -> MemTotal: 3831959552). */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([\w()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m?.[1] && m[2]) out[m[1]] = Number(m[2]) * (line.trimEnd().endsWith('kB') ? 1024 : 1);
  }
  return out;
}

export interface CpuInfo {
  logicalCores: number;
  model: string | null;
  /** True when the kernel reports running under a hypervisor (the "hypervisor" cpu flag). */
  hypervisorFlag: boolean;
}

export function parseCpuinfo(text: string): CpuInfo {
  let logicalCores = 0;
  let model: string | null = null;
  let hypervisorFlag = false;
  for (const line of text.split('\n')) {
    const sep = line.indexOf(':');
    if (sep < 0) continue;
    const key = line.slice(0, sep).trim();
    const value = line.slice(sep + 1).trim();
    if (key === 'processor') logicalCores++;
    // x86 says "model name"; arm64 has none; some arm kernels say "Hardware" or "cpu model" (mips).
    else if (model === null && (key === 'model name' || key === 'cpu model' || key === 'Hardware'))
      model = value;
    else if ((key === 'flags' || key === 'Features') && /\bhypervisor\b/.test(value)) hypervisorFlag = true;
  }
  return { logicalCores, model, hypervisorFlag };
}

/** Seconds since boot from /proc/uptime ("350735.47 234388.90"). */
export function parseUptime(text: string): number | undefined {
  const first = Number(text.trim().split(/\s+/)[0]);
  return Number.isFinite(first) && first >= 0 ? first : undefined;
}

export interface OsRelease {
  id: string | null;
  name: string | null;
  version: string | null;
  prettyName: string | null;
  idLike: string[];
}

/** os-release(5): KEY=value lines, values optionally quoted with shell-style escapes. */
export function parseOsRelease(text: string): OsRelease {
  const kv: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    kv[line.slice(0, eq)] = unquote(line.slice(eq + 1));
  }
  return {
    id: kv.ID ?? null,
    name: kv.NAME ?? null,
    version: kv.VERSION_ID ?? kv.VERSION ?? null,
    prettyName: kv.PRETTY_NAME ?? null,
    idLike: (kv.ID_LIKE ?? '').split(/\s+/).filter(Boolean),
  };
}

function unquote(v: string): string {
  const q = v[0];
  if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) {
    const inner = v.slice(1, -1);
    return q === '"' ? inner.replace(/\\(["\\$`])/g, '$1') : inner;
  }
  return v;
}

/** Names of loaded kernel modules from /proc/modules. */
export function parseModules(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const name = line.split(' ', 1)[0];
    if (name) out.add(name);
  }
  return out;
}
