/**
 * Pure classification of what runs on a host, from facts gathered by host/systemFacts.ts.
 * The signature catalogue is the one place to add a new web server, database, panel or firewall.
 */

export interface Signature {
  name: string;
  /** Process command names (comm) that mean it is running; a trailing `*` matches a prefix. */
  processes: string[];
  /** Host paths whose presence means it is installed. */
  paths: string[];
  /** Kernel modules whose presence means it is active (firewalls). */
  modules?: string[];
  /** When that signature also matched, fold this one's evidence into it (shared files, old names). */
  foldInto?: string;
}

export const WEB_SERVERS: Signature[] = [
  {
    name: 'apache',
    processes: ['httpd', 'apache2'],
    paths: [
      '/etc/apache2/apache2.conf',
      '/etc/httpd/conf/httpd.conf',
      '/usr/sbin/apache2',
      '/usr/sbin/httpd',
    ],
  },
  { name: 'nginx', processes: ['nginx'], paths: ['/etc/nginx/nginx.conf', '/usr/sbin/nginx'] },
  {
    name: 'litespeed',
    processes: ['litespeed', 'lshttpd', 'openlitespeed'],
    paths: ['/usr/local/lsws/bin/lshttpd', '/usr/local/lsws/conf'],
  },
  { name: 'caddy', processes: ['caddy'], paths: ['/etc/caddy/Caddyfile', '/usr/bin/caddy'] },
];

export const DATABASES: Signature[] = [
  // MariaDB before 10.5 runs as "mysqld"; its package still leaves mariadb.cnf, which tells them apart.
  {
    name: 'mariadb',
    processes: ['mariadbd'],
    paths: ['/usr/sbin/mariadbd', '/etc/mysql/mariadb.cnf', '/etc/my.cnf.d/mariadb-server.cnf'],
  },
  // Debian's MariaDB ships /usr/sbin/mysqld and /etc/mysql/my.cnf too: report one server, not two.
  {
    name: 'mysql',
    processes: ['mysqld'],
    paths: ['/usr/sbin/mysqld', '/etc/mysql/my.cnf', '/etc/my.cnf'],
    foldInto: 'mariadb',
  },
  {
    name: 'postgres',
    processes: ['postgres', 'postmaster'],
    paths: ['/etc/postgresql', '/var/lib/pgsql', '/usr/lib/postgresql'],
  },
  { name: 'redis', processes: ['redis-server'], paths: ['/etc/redis', '/usr/bin/redis-server'] },
];

export const MAIL_SERVERS: Signature[] = [
  // Postfix's master process is called "master"; its queue manager "qmgr" is as telling.
  { name: 'postfix', processes: ['master', 'qmgr'], paths: ['/etc/postfix/main.cf', '/usr/sbin/postfix'] },
  {
    name: 'exim',
    processes: ['exim', 'exim4'],
    paths: ['/etc/exim/exim.conf', '/etc/exim4/exim4.conf.template', '/usr/sbin/exim', '/usr/sbin/exim4'],
  },
];

export const CONTROL_PANELS: Signature[] = [
  { name: 'cpanel', processes: ['cpsrvd*'], paths: ['/usr/local/cpanel/version'] },
  { name: 'plesk', processes: ['sw-engine*', 'sw-cp-server*'], paths: ['/usr/local/psa/version'] },
  { name: 'interworx', processes: ['iworx*'], paths: ['/usr/local/interworx/iworx.ini'] },
];

export const FIREWALLS: Signature[] = [
  { name: 'nftables', processes: [], paths: ['/etc/nftables.conf', '/usr/sbin/nft'], modules: ['nf_tables'] },
  {
    name: 'iptables',
    processes: [],
    paths: ['/usr/sbin/iptables', '/sbin/iptables'],
    modules: ['ip_tables', 'iptable_filter'],
  },
  { name: 'firewalld', processes: ['firewalld'], paths: ['/etc/firewalld/firewalld.conf'] },
  // lfd renames itself ("lfd - sleeping"), so match the prefix.
  { name: 'csf', processes: ['lfd*'], paths: ['/etc/csf/csf.conf', '/usr/sbin/csf'] },
];

export const ALL_SIGNATURES = [
  ...WEB_SERVERS,
  ...DATABASES,
  ...MAIL_SERVERS,
  ...CONTROL_PANELS,
  ...FIREWALLS,
];

export interface HostFacts {
  processNames: Set<string>;
  /** The subset of signature paths that exist under HOST_ROOT. */
  presentPaths: Set<string>;
  modules: Set<string>;
}

export interface Component {
  name: string;
  installed: boolean;
  running: boolean;
  evidence: string[];
}

function processMatches(pattern: string, names: Set<string>): string | undefined {
  if (!pattern.endsWith('*')) return names.has(pattern) ? pattern : undefined;
  const prefix = pattern.slice(0, -1);
  for (const n of names) if (n.startsWith(prefix)) return n;
  return undefined;
}

/** Every signature that left a trace, with the traces as evidence. Absent ones are omitted. */
export function matchSignatures(signatures: Signature[], facts: HostFacts): Component[] {
  const found: Component[] = [];
  for (const sig of signatures) {
    const evidence: string[] = [];
    let running = false;
    for (const p of sig.processes) {
      const hit = processMatches(p, facts.processNames);
      if (hit) {
        running = true;
        evidence.push(`process ${hit}`);
      }
    }
    for (const m of sig.modules ?? []) {
      if (facts.modules.has(m)) {
        running = true;
        evidence.push(`kernel module ${m} loaded`);
      }
    }
    const paths = sig.paths.filter((p) => facts.presentPaths.has(p));
    for (const p of paths) evidence.push(`file ${p}`);
    if (evidence.length > 0) found.push({ name: sig.name, installed: paths.length > 0, running, evidence });
  }
  for (const sig of signatures) {
    const self = found.find((c) => c.name === sig.name);
    const target = found.find((c) => c.name === sig.foldInto);
    if (!self || !target) continue;
    target.running ||= self.running;
    target.installed ||= self.installed;
    target.evidence.push(...self.evidence);
    found.splice(found.indexOf(self), 1);
  }
  return found;
}

export type VirtualizationKind = 'container' | 'vm' | 'bare-metal' | 'unknown';

export interface VirtualizationFacts {
  /** Contents of /proc/1/cgroup (the host's init when HOST_PROC is the host's /proc). */
  initCgroup?: string;
  dockerenv: boolean;
  containerenv: boolean;
  dmiProductName?: string;
  dmiSysVendor?: string;
  hypervisorFlag: boolean;
}

export interface Virtualization {
  kind: VirtualizationKind;
  technology: string | null;
  evidence: string[];
}

const CONTAINER_CGROUP = /\b(docker|kubepods|containerd|lxc|libpod|crio)\b/;
const HYPERVISORS: [RegExp, string][] = [
  [/kvm/i, 'kvm'],
  [/qemu/i, 'qemu'],
  [/vmware/i, 'vmware'],
  [/virtualbox|innotek/i, 'virtualbox'],
  [/xen/i, 'xen'],
  [/microsoft|hyper-v|virtual machine/i, 'hyper-v'],
  [/amazon ec2/i, 'aws'],
  [/google compute engine/i, 'gce'],
  [/openstack/i, 'openstack'],
];

export function classifyVirtualization(f: VirtualizationFacts): Virtualization {
  if (f.dockerenv) return { kind: 'container', technology: 'docker', evidence: ['/.dockerenv present'] };
  if (f.containerenv)
    return { kind: 'container', technology: 'podman', evidence: ['/run/.containerenv present'] };
  const cg = f.initCgroup ? CONTAINER_CGROUP.exec(f.initCgroup) : null;
  if (cg?.[1]) {
    return { kind: 'container', technology: cg[1], evidence: [`init cgroup mentions ${cg[1]}`] };
  }
  const dmi = `${f.dmiSysVendor ?? ''} ${f.dmiProductName ?? ''}`.trim();
  for (const [re, tech] of HYPERVISORS) {
    if (dmi && re.test(dmi)) return { kind: 'vm', technology: tech, evidence: [`DMI: ${dmi}`] };
  }
  if (f.hypervisorFlag) return { kind: 'vm', technology: null, evidence: ['cpu flag "hypervisor" set'] };
  if (dmi) return { kind: 'bare-metal', technology: null, evidence: [`DMI: ${dmi}`] };
  return { kind: 'unknown', technology: null, evidence: [] };
}
