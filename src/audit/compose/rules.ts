/**
 * The audit_compose rules over a loaded project. Each finding names its rule, service and the
 * exact node (file, line, column) to change; "missing" findings point at the service's key.
 */
import type { Finding, Severity } from '../findings.js';
import type { BuildInfo } from './build.js';
import { RULES, type RuleId } from './catalog.js';
import { commandSecrets } from './commandSecrets.js';
import { isRootUser } from './dockerfile.js';
import { parseImage } from './image.js';
import { imageDefaults, imageName } from './imageDefaults.js';
import { mountsOf } from './mounts.js';
import { get, type LMap, type LNode, type Loc, locStr, str, truthy } from './nodes.js';
import {
  BROKER_IMAGE,
  DATABASE_PORTS,
  EXPOSED_SERVICE_PORTS,
  onAllInterfaces,
  publishedPorts,
} from './ports.js';
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

export interface AuditOptions {
  /** Per `build:` service: its Dockerfile's facts, as the caller could read them. */
  builds?: Map<string, BuildInfo>;
}

export function auditProject(project: Project, opts: AuditOptions = {}): ComposeFinding[] {
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
    const ctx = { s, emit, oneShot: oneShot.has(s.name), byName, project, image: imageFacts(s, opts.builds) };
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
  image: ImageFacts;
}

/** What the image itself does about the user and the healthcheck, and how we know. */
interface ImageFacts {
  /** The image's USER; null: none (root); undefined: unknown (a Dockerfile that could not be read). */
  user: string | null | undefined;
  userFrom: string;
  healthcheck: 'set' | 'none' | null | undefined;
  healthcheckFrom: string;
}

function imageFacts(s: Service, builds: Map<string, BuildInfo> | undefined): ImageFacts {
  const b = get(s.node, 'build');
  if (b) {
    const info = builds?.get(s.name);
    if (!info?.facts) {
      const why = info?.error
        ? `its Dockerfile could not be read (${info.error})`
        : 'its Dockerfile was not read';
      return { user: undefined, userFrom: why, healthcheck: undefined, healthcheckFrom: why };
    }
    const f = info.facts;
    const base = f.baseImage ? imageDefaults(f.baseImage) : undefined;
    const at = (line: number | null) => `${info.source}${line ? `:${line}` : ''}, stage ${f.stage}`;
    return {
      user: f.user ?? base?.user ?? null,
      userFrom:
        f.user !== null
          ? `USER ${f.user} (${at(f.userLine)})`
          : base?.user
            ? `base image ${f.baseImage} runs as ${base.user} (${base.checked})`
            : `no USER in ${at(null)}${f.baseImage ? ` or its base image ${f.baseImage}` : ''}`,
      healthcheck: f.healthcheck ?? (base?.healthcheck ? 'set' : null),
      healthcheckFrom:
        f.healthcheck !== null
          ? `HEALTHCHECK ${f.healthcheck === 'none' ? 'NONE' : 'CMD'} (${at(f.healthcheckLine)})`
          : base?.healthcheck
            ? `base image ${f.baseImage} defines one (${base.checked})`
            : `no HEALTHCHECK in ${at(null)}`,
    };
  }
  const ref = str(get(s.node, 'image'));
  const d = ref ? imageDefaults(ref) : undefined;
  return {
    user: d ? d.user : null,
    userFrom: d?.user
      ? `image ${ref} runs as ${d.user} (${d.checked})`
      : 'the image sets no USER as far as known',
    healthcheck: d?.healthcheck ? 'set' : null,
    healthcheckFrom: d?.healthcheck
      ? `image ${ref} defines a HEALTHCHECK (${d.checked})`
      : 'no HEALTHCHECK known in the image',
  };
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

function health({ s, emit, oneShot, byName, image }: Ctx): void {
  const hc = get(s.node, 'healthcheck');
  const off = healthDisabled(hc);
  const restart = restartPolicy(s.node);
  if (off) emit('compose.healthcheck.disabled', off.loc, 'healthcheck is disabled');
  // The image's own HEALTHCHECK applies when compose sets none (or sets only timings).
  else if ((!hc || !get(hc, 'test')) && !oneShot && image.healthcheck !== 'set') {
    const restarts = restart !== undefined && RESTARTING.test(restart);
    const why = image.healthcheck === 'none' ? ` (${image.healthcheckFrom})` : '';
    emit(
      'compose.healthcheck.missing',
      s.loc,
      restarts
        ? `no healthcheck${why}, yet restart: ${restart} keeps it "up" even when it no longer works`
        : `no healthcheck defined${why}`,
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
  for (const c of commandSecrets(s.node))
    emit(
      'compose.secrets.command_line',
      c.node.loc,
      `${c.where} passes a literal secret with ${c.carrier} (value not shown)`,
    );
}

function ports({ s, emit }: Ctx): void {
  let context: string | undefined;
  // Image, command, entrypoint and environment: what confirms an ambiguous port's meaning.
  const confirms = (re: RegExp) => {
    context ??= [
      str(get(s.node, 'image')),
      s.name,
      ...['command', 'entrypoint', 'environment'].map((k) => flatText(get(s.node, k))),
    ].join(' ');
    return re.test(context);
  };
  const ref = str(get(s.node, 'image'));
  const last = ref ? imageName(ref).split('/').pop() : undefined;
  const brokerImage = last && BROKER_IMAGE.test(last) ? ref : undefined;
  for (const p of publishedPorts(s.node)) {
    if (!onAllInterfaces(p.hostIp)) continue;
    const db = p.targets.find((t) => DATABASE_PORTS[t] !== undefined);
    if (db !== undefined) {
      emit(
        'compose.ports.database_exposed',
        p.loc,
        `container port ${db} (${DATABASE_PORTS[db]}) published on all interfaces as host port ${p.published}`,
      );
      continue;
    }
    // A wide range (5000-6000) is not a statement about any one service in it.
    if (p.targets.length > 10) continue;
    const t = p.targets.find((x) => {
      const r = EXPOSED_SERVICE_PORTS[x];
      return r !== undefined && (!r.confirm || confirms(r.confirm));
    });
    const r = t !== undefined ? EXPOSED_SERVICE_PORTS[t] : undefined;
    if (t !== undefined && r) {
      emit(
        r.kind === 'debugger' ? 'compose.ports.debugger_exposed' : 'compose.ports.broker_exposed',
        p.loc,
        `container port ${t} (${r.what}) published on all interfaces as host port ${p.published}`,
        r.critical ? 'critical' : undefined,
      );
    } else if (brokerImage && p.targets[0] !== undefined) {
      emit(
        'compose.ports.broker_exposed',
        p.loc,
        `container port ${p.targets.join(',')} of broker image ${brokerImage} published on all interfaces as host port ${p.published}`,
      );
    }
  }
}

/** Every scalar under a node, joined: for matching words, never shown. */
function flatText(n: LNode | undefined): string {
  if (!n) return '';
  if (n.kind === 'scalar') return n.value === null ? '' : String(n.value);
  if (n.kind === 'seq') return n.items.map(flatText).join(' ');
  return [...n.entries.values()].map((e) => `${e.key}=${flatText(e.value)}`).join(' ');
}

function userAndRestart({ s, emit, oneShot, image }: Ctx): void {
  const user = get(s.node, 'user');
  const u = str(user);
  if (user && u !== undefined && isRootUser(u)) emit('compose.user.root', user.loc, `user: ${u}`);
  else if (!user && !truthy(get(s.node, 'read_only'))) {
    // The image's USER applies when compose sets none; unresolved variables ($APP_UID) are
    // taken as the non-root user their author meant.
    if (image.user === null)
      emit(
        'compose.user.root',
        s.loc,
        `no user: and no read_only: true; ${image.userFrom}, so it runs as root`,
      );
    else if (image.user !== undefined && isRootUser(image.user))
      emit('compose.user.root', s.loc, `no user: in compose and the image runs as root: ${image.userFrom}`);
    else if (image.user === undefined)
      emit(
        'compose.user.root',
        s.loc,
        `no user: and no read_only: true; ${image.userFrom}, so its USER is unknown`,
      );
  }
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
