/**
 * The audit_compose rules over a loaded project. Each finding names its rule, service and the
 * exact node (file, line, column) to change; "missing" findings point at the service's key.
 */
import type { Finding, Severity } from '../findings.js';
import { RULES, type RuleId } from './catalog.js';
import { parseImage } from './image.js';
import { mountsOf } from './mounts.js';
import { get, type LMap, type LNode, type Loc, locStr, str, truthy } from './nodes.js';
import { DATABASE_PORTS, onAllInterfaces, publishedPorts } from './ports.js';
import type { Project, Service } from './project.js';
import { plaintextSecrets } from './secrets.js';

export interface ComposeFinding extends Finding {
  rule: RuleId;
  service: string;
  file: string;
  line: number;
  column: number;
}

type Emit = (rule: RuleId, loc: Loc, evidence: string, severity?: Severity) => void;

const DANGEROUS_CAPS: Record<string, Severity> = {
  ALL: 'high',
  SYS_ADMIN: 'high',
  SYS_MODULE: 'high',
  SYS_RAWIO: 'high',
  SYS_PTRACE: 'medium',
  NET_ADMIN: 'medium',
  DAC_READ_SEARCH: 'medium',
};
const UNCONFINED = /^(seccomp|apparmor|systempaths)[:=]unconfined$|^label[:=]disable$/i;
/** `/` only as itself; the others with everything under them. */
const SENSITIVE = [
  '/etc',
  '/root',
  '/proc',
  '/sys',
  '/var/run',
  '/run',
  '/boot',
  '/dev',
  '/usr',
  '/lib',
  '/lib64',
  '/bin',
  '/sbin',
  '/var/lib',
];
const SOCKET = /(^|\/)(docker|podman|containerd|crio)\.sock$/;
const RESTARTING = /^(always|unless-stopped|on-failure(:\d+)?)$/;
const MAX_ALIASES = 5;

export function auditProject(project: Project): ComposeFinding[] {
  const findings: ComposeFinding[] = [];
  const byName = new Map(project.services.map((s) => [s.name, s]));
  // Services others wait on to *finish* are one-shot jobs (migrations): no healthcheck or restart expected.
  const oneShot = new Set<string>();
  for (const s of project.services) {
    const deps = get(s.node, 'depends_on');
    if (deps?.kind === 'map')
      for (const [dep, e] of deps.entries)
        if (str(get(e.value, 'condition')) === 'service_completed_successfully') oneShot.add(dep);
  }
  for (const s of project.services) {
    const emit: Emit = (rule, loc, evidence, severity) => {
      const meta = RULES[rule];
      findings.push({
        id: `${rule}:${s.name}`,
        rule,
        severity: severity ?? meta.severity,
        title: `${s.name}: ${meta.title}`,
        evidence: `${evidence} (${locStr(loc)})`,
        recommendation: meta.recommendation,
        service: s.name,
        file: loc.file,
        line: loc.line,
        column: loc.column,
      });
    };
    const ctx = { s, emit, oneShot: oneShot.has(s.name), byName, project };
    health(ctx);
    resources(ctx);
    logging(ctx);
    image(ctx);
    privileges(ctx);
    mounts(ctx);
    secrets(ctx);
    ports(ctx);
    userAndRestart(ctx);
    networksAndTz(ctx);
  }
  return findings;
}

interface Ctx {
  s: Service;
  emit: Emit;
  oneShot: boolean;
  byName: Map<string, Service>;
  project: Project;
}

function restartPolicy(svc: LMap): string | undefined {
  const r = str(get(svc, 'restart'));
  if (r !== undefined) return r;
  const cond = str(get(svc, 'deploy', 'restart_policy', 'condition'));
  if (cond !== undefined) return cond === 'none' ? 'no' : cond === 'any' ? 'always' : cond;
  return get(svc, 'deploy', 'restart_policy') ? 'always' : undefined;
}

function healthDisabled(hc: LNode | undefined): LNode | undefined {
  if (!hc) return undefined;
  const dis = get(hc, 'disable');
  if (truthy(dis)) return dis;
  const test = get(hc, 'test');
  const first = test?.kind === 'seq' ? str(test.items[0]) : str(test);
  return first?.toUpperCase() === 'NONE' ? test : undefined;
}

function health({ s, emit, oneShot, byName }: Ctx): void {
  const hc = get(s.node, 'healthcheck');
  const off = healthDisabled(hc);
  const restart = restartPolicy(s.node);
  if (off) emit('compose.healthcheck.disabled', off.loc, 'healthcheck is disabled');
  else if (!hc && !oneShot) {
    const restarts = restart !== undefined && RESTARTING.test(restart);
    emit(
      'compose.healthcheck.missing',
      s.loc,
      restarts
        ? `no healthcheck, yet restart: ${restart} keeps it "up" even when it no longer works`
        : 'no healthcheck defined',
      restarts ? 'medium' : 'low',
    );
  }
  const deps = get(s.node, 'depends_on');
  if (deps?.kind !== 'map') return;
  for (const [dep, e] of deps.entries) {
    const target = byName.get(dep);
    const thc = target ? get(target.node, 'healthcheck') : undefined;
    if (!thc || healthDisabled(thc) || !get(thc, 'test')) continue;
    const cond = str(get(e.value, 'condition')) ?? 'service_started';
    if (cond !== 'service_healthy')
      emit(
        'compose.depends_on.not_healthy',
        e.keyLoc,
        `depends on ${dep} (condition ${cond}) although ${dep} has a healthcheck`,
      );
  }
}

function resources({ s, emit }: Ctx): void {
  const limits = get(s.node, 'deploy', 'resources', 'limits');
  const at = limits?.loc ?? s.loc;
  if (!get(s.node, 'mem_limit') && !get(limits, 'memory'))
    emit(
      'compose.resources.memory_unlimited',
      at,
      'neither deploy.resources.limits.memory nor mem_limit is set',
    );
  if (!get(s.node, 'cpus') && !get(s.node, 'cpu_quota') && !get(limits, 'cpus'))
    emit('compose.resources.cpu_unlimited', at, 'neither deploy.resources.limits.cpus nor cpus is set');
}

function logging({ s, emit }: Ctx): void {
  const lg = get(s.node, 'logging');
  if (!lg) {
    emit(
      'compose.logging.no_rotation',
      s.loc,
      'no logging: section; the default json-file driver never rotates unless daemon.json sets log-opts',
      'low',
    );
    return;
  }
  const driver = str(get(lg, 'driver')) ?? 'json-file';
  if (driver === 'json-file' && !get(lg, 'options', 'max-size'))
    emit(
      'compose.logging.no_rotation',
      lg.loc,
      'json-file logging without options.max-size grows without bound',
    );
}

function image({ s, emit }: Ctx): void {
  const node = get(s.node, 'image');
  const ref = str(node);
  // With build:, image: names what is built here: pinning does not apply.
  if (!node || !ref || get(s.node, 'build')) return;
  const img = parseImage(ref);
  if (img.digest) return;
  if (img.tag === undefined)
    emit('compose.image.untagged', node.loc, `image ${ref} has no tag (means :latest)`);
  else if (img.tag === 'latest') emit('compose.image.latest', node.loc, `image ${ref}`);
  else emit('compose.image.not_pinned', node.loc, `image ${ref} has a tag but no @sha256 digest`);
}

function privileges({ s, emit }: Ctx): void {
  const priv = get(s.node, 'privileged');
  if (priv && truthy(priv))
    emit(
      'compose.privileged',
      priv.loc,
      'privileged: true gives the container every capability and all devices',
    );
  const caps = get(s.node, 'cap_add');
  if (caps?.kind === 'seq')
    for (const c of caps.items) {
      const name = (str(c) ?? '').toUpperCase().replace(/^CAP_/, '');
      const sev = DANGEROUS_CAPS[name];
      if (sev) emit('compose.cap_add.dangerous', c.loc, `cap_add ${name}`, sev);
    }
  const opts = get(s.node, 'security_opt');
  if (opts?.kind === 'seq')
    for (const o of opts.items) {
      const v = (str(o) ?? '').replace(/\s+/g, '');
      if (UNCONFINED.test(v)) emit('compose.security_opt.unconfined', o.loc, `security_opt ${v}`);
    }
  const ns: Array<[string, RuleId]> = [
    ['pid', 'compose.namespace.pid_host'],
    ['network_mode', 'compose.namespace.network_host'],
    ['ipc', 'compose.namespace.ipc_host'],
    ['userns_mode', 'compose.namespace.userns_host'],
  ];
  for (const [key, rule] of ns) {
    const n = get(s.node, key);
    if (n && str(n) === 'host') emit(rule, n.loc, `${key}: host`);
  }
}

function mounts({ s, emit, project }: Ctx): void {
  for (const m of mountsOf(s.node, project.volumes)) {
    if (!m.hostPath?.startsWith('/')) continue;
    const via = m.via ? ` through named volume ${m.via.volume} (${locStr(m.via.loc)})` : '';
    if (SOCKET.test(m.hostPath)) {
      const documented = m.readOnly && !!m.comment;
      emit(
        'compose.volume.docker_socket',
        m.loc,
        `${m.hostPath} mounted${via}${m.readOnly ? ' read-only' : ''}${documented ? ', with a comment explaining it' : ''}: the API gives root on the host${m.readOnly ? ' (read-only does not restrict the API)' : ''}`,
        documented ? 'high' : 'critical',
      );
      continue;
    }
    const p = m.hostPath;
    const hit = p === '/' ? '/' : SENSITIVE.find((d) => p === d || p.startsWith(`${d}/`));
    if (hit && !m.readOnly)
      emit(
        'compose.volume.sensitive_host_path',
        m.loc,
        `host ${p} mounted writable at ${m.target ?? '?'}${via}`,
      );
  }
}

function secrets({ s, emit }: Ctx): void {
  const env = get(s.node, 'environment');
  const args = get(s.node, 'build', 'args');
  const hits = [
    ...plaintextSecrets(env?.kind === 'map' ? env : undefined, 'environment'),
    ...plaintextSecrets(args?.kind === 'map' ? args : undefined, 'build arg'),
  ];
  for (const h of hits) emit('compose.secrets.plaintext', h.node.loc, h.why);
}

function ports({ s, emit }: Ctx): void {
  for (const p of publishedPorts(s.node)) {
    if (!onAllInterfaces(p.hostIp)) continue;
    const db = p.targets.find((t) => DATABASE_PORTS[t] !== undefined);
    if (db !== undefined)
      emit(
        'compose.ports.database_exposed',
        p.loc,
        `container port ${db} (${DATABASE_PORTS[db]}) published on all interfaces as host port ${p.published}`,
      );
  }
}

function userAndRestart({ s, emit, oneShot }: Ctx): void {
  const user = get(s.node, 'user');
  const u = str(user);
  if (user && u !== undefined && /^(root|0)(:.*)?$/.test(u.trim()))
    emit('compose.user.root', user.loc, `user: ${u}`);
  else if (!user && !truthy(get(s.node, 'read_only')))
    emit('compose.user.root', s.loc, 'no user: and no read_only: true; most images run as root by default');
  if (restartPolicy(s.node) === undefined && !oneShot)
    emit(
      'compose.restart.missing',
      s.loc,
      'no restart: and no deploy.restart_policy (Compose default: "no")',
    );
}

function networksAndTz({ s, emit }: Ctx): void {
  const nets = get(s.node, 'networks');
  if (nets?.kind === 'map')
    for (const [net, e] of nets.entries) {
      const aliases = get(e.value, 'aliases');
      if (aliases?.kind === 'seq' && aliases.items.length > MAX_ALIASES)
        emit(
          'compose.network.wide_aliases',
          aliases.loc,
          `${aliases.items.length} aliases on network ${net} (more than ${MAX_ALIASES})`,
        );
    }
  const env = get(s.node, 'environment');
  const hasTz = env?.kind === 'map' && env.entries.has('TZ');
  const mountsTime = mountsOf(s.node, undefined).some(
    (m) => m.target === '/etc/localtime' || m.target === '/etc/timezone',
  );
  if (!hasTz && !mountsTime)
    emit('compose.tz.missing', s.loc, 'no TZ in environment and no /etc/localtime mount');
}
