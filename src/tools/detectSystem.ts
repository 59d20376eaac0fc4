import { z } from 'zod';
import { describeSystem, type SystemDescription } from '../audit/describeSystem.js';
import type { HostPaths } from '../host/hostPaths.js';
import { gatherSystemFacts } from '../host/systemFacts.js';
import { defineTool } from './types.js';
import { orNull } from './schemas.js';

const component = z.object({
  name: z.string().describe('Product name, e.g. nginx, mariadb, nftables'),
  installed: z.boolean().describe('Its files are present under HOST_ROOT'),
  running: z.boolean().describe('A matching process runs (firewalls: their kernel module is loaded)'),
  evidence: z.array(z.string()).describe('The processes, files or modules that gave it away'),
});

export const detectSystemOutput = {
  hostname: orNull(z.string()).describe('Host name from the kernel or /etc/hostname'),
  os: z
    .object({
      id: orNull(z.string()).describe('os-release ID, e.g. debian, almalinux'),
      name: orNull(z.string()),
      version: orNull(z.string()).describe('VERSION_ID'),
      prettyName: orNull(z.string()),
      idLike: z.array(z.string()).describe('ID_LIKE families, e.g. rhel, fedora'),
    })
    .nullable()
    .describe('From /etc/os-release (or /usr/lib/os-release) under HOST_ROOT; null when unreadable'),
  kernel: orNull(z.string()).describe('Kernel release'),
  cpu: z.object({
    cores: orNull(z.number().int()).describe('Logical CPUs'),
    model: orNull(z.string()),
  }),
  memoryTotalBytes: orNull(z.number()),
  uptimeSeconds: orNull(z.number()),
  bootTime: orNull(z.string()).describe('ISO 8601 time of the last boot'),
  virtualization: z.object({
    kind: z.enum(['container', 'vm', 'bare-metal', 'unknown']),
    technology: orNull(z.string()).describe('docker, kvm, vmware ... when known'),
    evidence: z.array(z.string()),
  }),
  webServers: z.array(component),
  databases: z.array(component),
  mailServers: z.array(component),
  controlPanel: z.object({
    name: z.enum(['cpanel', 'plesk', 'interworx', 'none']),
    evidence: z.array(z.string()),
  }),
  firewalls: z.array(component),
  unreadable: z.array(z.string()).describe('Files that could not be read: those facts are null or missing'),
  detectedAt: z.string().describe('When the host was read (ISO 8601)'),
  cacheAgeSeconds: z.number().describe('0 when read for this call; otherwise the age of the cached answer'),
};

/** Facts change rarely; coalesce concurrent calls and reuse a recent answer per host tree. */
const cache = new Map<string, { at: number; value: Promise<SystemDescription> }>();

async function detect(
  paths: HostPaths,
  maxAgeSeconds: number,
): Promise<{ d: SystemDescription; age: number }> {
  const key = `${paths.proc}\0${paths.sys}\0${paths.root}`;
  const now = Date.now();
  const hit = cache.get(key);
  if (hit && now - hit.at <= maxAgeSeconds * 1000) {
    return { d: await hit.value, age: Math.round((now - hit.at) / 1000) };
  }
  const value = gatherSystemFacts(paths).then((facts) => describeSystem(facts, new Date()));
  cache.set(key, { at: now, value });
  value.catch(() => cache.delete(key));
  return { d: await value, age: 0 };
}

export const detectSystemTool = defineTool({
  name: 'detect_system',
  title: 'Detect system',
  description:
    'Identify the audited host: OS, kernel, CPUs, memory, uptime, VM or container, and which web ' +
    'server, database, mail server, control panel and firewall are installed or running. Call it ' +
    'first. Cheap; cached for maxAgeSeconds.',
  details:
    'OS and version, kernel, hostname, CPUs, memory, uptime, VM/container, and which web server, ' +
    'database, control panel and firewall are installed or running. Reads /proc and a few files; ' +
    'never runs a command. Cached for `maxAgeSeconds` (default 30).',
  inputSchema: {
    maxAgeSeconds: z
      .number()
      .int()
      .min(0)
      .max(3600)
      .default(30)
      .describe('Reuse an answer this old (s); 0: read afresh'),
  },
  outputSchema: detectSystemOutput,
  scope: 'audit:read',
  annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true, destructiveHint: false },
  async handler({ maxAgeSeconds }, ctx) {
    const { d, age } = await detect(ctx.host, maxAgeSeconds);
    return { structured: { ...d, cacheAgeSeconds: age }, summary: summarize(d) };
  },
});

function list(components: SystemDescription['webServers']): string {
  if (components.length === 0) return 'none found';
  return components
    .map((c) => `${c.name} (${c.running ? 'running' : c.installed ? 'installed, not running' : 'seen'})`)
    .join(', ');
}

function summarize(d: SystemDescription): string {
  const os = d.os?.prettyName ?? d.os?.name ?? 'unknown OS';
  const mem = d.memoryTotalBytes === null ? '? RAM' : `${(d.memoryTotalBytes / 2 ** 30).toFixed(1)} GiB RAM`;
  const up = d.uptimeSeconds === null ? 'uptime unknown' : `up ${formatDuration(d.uptimeSeconds)}`;
  const virt = d.virtualization.technology
    ? `${d.virtualization.kind} (${d.virtualization.technology})`
    : d.virtualization.kind;
  const lines = [
    `${d.hostname ?? 'unknown host'}: ${os}, kernel ${d.kernel ?? '?'}, ${d.cpu.cores ?? '?'} CPUs, ${mem}, ${up}, ${virt}.`,
    `Web: ${list(d.webServers)}. Databases: ${list(d.databases)}. Mail: ${list(d.mailServers)}.`,
    `Control panel: ${d.controlPanel.name}. Firewall: ${list(d.firewalls)}.`,
  ];
  if (d.unreadable.length > 0) lines.push(`Could not read ${d.unreadable.length} file(s); see "unreadable".`);
  return lines.join('\n');
}

function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m`;
}
