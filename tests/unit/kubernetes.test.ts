/**
 * deploy/kubernetes: every manifest parses, and the structure holds together: kinds and API
 * versions, probes on the right paths and ports, the pod's security context, resources, Secret
 * and ConfigMap references that resolve, selectors that match, PDB/HPA on the Deployment, a
 * kustomization that lists every file, and settings the server's own schema accepts. No cluster
 * runs here, and no published schema package is a dependency, so these are structural
 * assertions (a schema check would not catch a misspelt field anyway: the schemas allow unknown
 * keys). When kubectl is installed, `kubectl kustomize` must also build the directory.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { envSchema, loadConfig } from '../../src/config.js';
import { generateApiKey, parseApiKeys } from '../../src/auth/apiKeys.js';
import { hasBinary } from '../helpers/peers.js';

const DIR = join(import.meta.dirname, '..', '..', 'deploy', 'kubernetes');
const run = promisify(execFile);

/* Just the fields the assertions read; everything else is `unknown`. */
interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
}
interface Obj {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  [k: string]: unknown;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  ports?: Array<{ name?: string; containerPort: number; hostPort?: number }>;
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
  secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
  persistentVolumeClaim?: { claimName: string };
  hostPath?: unknown;
}
interface PodSpec {
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown>;
  topologySpreadConstraints?: Array<{
    topologyKey: string;
    labelSelector?: { matchLabels?: Record<string, string> };
  }>;
  affinity?: { podAntiAffinity?: unknown };
  containers: Container[];
  volumes?: Volume[];
}
interface Deployment extends Obj {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}
interface Service extends Obj {
  spec: {
    type?: string;
    sessionAffinity?: string;
    selector: Record<string, string>;
    ports: Array<{ name?: string; port: number; targetPort: string | number }>;
  };
}

/** Every manifest, by file (a file may hold several documents). */
const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const docs = new Map<string, Obj[]>();
for (const f of files) {
  const parsed = parseAllDocuments(readFileSync(join(DIR, f), 'utf8'));
  docs.set(
    f,
    parsed.map((d) => {
      if (d.errors.length) throw new Error(`${f}: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as Obj;
    }),
  );
}
const objects = [...docs.entries()].filter(([f]) => f !== 'kustomization.yaml').flatMap(([, o]) => o);
const ofKind = <T extends Obj>(kind: string): T[] => objects.filter((o) => o.kind === kind) as T[];
const one = <T extends Obj>(kind: string): T => {
  const found = ofKind<T>(kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as T;
};

const deployment = one<Deployment>('Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers[0] as Container;
const envVar = (name: string) => container.env?.find((e) => e.name === name);
const secrets = ofKind<Obj & { stringData?: Record<string, string>; data?: Record<string, string> }>(
  'Secret',
);
const secretKeys = (name: string) => {
  const s = secrets.find((x) => x.metadata.name === name);
  return s ? Object.keys({ ...s.data, ...s.stringData }) : undefined;
};
const configMap = one<Obj & { data: Record<string, string> }>('ConfigMap');

/** A named or numbered container port, as a probe or a Service's targetPort names it. */
function containerPort(port: string | number | undefined): number | undefined {
  if (typeof port === 'number')
    return container.ports?.some((p) => p.containerPort === port) ? port : undefined;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

const POD_IP = '10.1.2.3';
const DOWNWARD_API = new Set(['POD_NAMESPACE', 'POD_IP']);

/** The container's environment as the server sees it: the ConfigMap, then `env` (which wins). */
function serverEnv(namespace: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    expect(from.configMapRef?.name).toBe(configMap.metadata.name);
    Object.assign(env, configMap.data);
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value.replace(/\$\((\w+)\)/g, (_, v: string) => env[v] ?? '');
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = namespace;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'status.podIP') env[e.name] = POD_IP;
    else if (e.valueFrom?.secretKeyRef) env[e.name] = `<secret ${e.valueFrom.secretKeyRef.name}>`;
  }
  return env;
}

describe('deploy/kubernetes manifests', () => {
  it('parse as YAML, with the expected kind and API version per file and no namespace', () => {
    const expected: Record<string, Array<[string, string]>> = {
      'deployment.yaml': [['apps/v1', 'Deployment']],
      'service.yaml': [['v1', 'Service']],
      'pdb.yaml': [['policy/v1', 'PodDisruptionBudget']],
      'hpa.yaml': [['autoscaling/v2', 'HorizontalPodAutoscaler']],
      'configmap.yaml': [['v1', 'ConfigMap']],
      'secret.example.yaml': [
        ['v1', 'Secret'],
        ['v1', 'Secret'],
      ],
      'kustomization.yaml': [['kustomize.config.k8s.io/v1beta1', 'Kustomization']],
    };
    expect(new Set(files)).toEqual(new Set(Object.keys(expected)));
    for (const [f, kinds] of Object.entries(expected)) {
      const got = docs.get(f) as Obj[];
      expect(
        got.map((o) => [o.apiVersion, o.kind]),
        f,
      ).toEqual(kinds);
      for (const o of got) {
        if (o.kind === 'Kustomization') continue;
        expect(o.metadata.name, f).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
        expect(o.metadata.namespace, `${f}: namespace-less`).toBeUndefined();
        expect(o.metadata.labels?.['app.kubernetes.io/name']).toBe('server-audit-mcp');
      }
    }
  });

  it('kustomization.yaml lists every manifest, and only existing files', () => {
    const k = (docs.get('kustomization.yaml') as Obj[])[0] as Obj & {
      resources: string[];
      images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>;
    };
    expect(new Set(k.resources)).toEqual(new Set(files.filter((f) => f !== 'kustomization.yaml')));
    expect(k.resources).toHaveLength(new Set(k.resources).size);
    // The image transformer targets the Deployment's image name.
    expect(k.images?.map((i) => i.name)).toEqual([container.image]);
    const img = k.images?.[0];
    expect(img?.newTag ?? img?.digest).toBeTruthy();
    expect(img?.newTag).not.toBe('latest');
  });

  it('runs 2+ replicas whose selector matches the pod labels, spread over nodes', () => {
    expect(deployment.metadata.name).toBe('server-audit-mcp');
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    const labels = deployment.spec.template.metadata.labels;
    expect(labels).toMatchObject(deployment.spec.selector.matchLabels);
    const spread = (pod.topologySpreadConstraints ?? []).filter(
      (t) => t.topologyKey === 'kubernetes.io/hostname',
    );
    expect(spread.length + (pod.affinity?.podAntiAffinity ? 1 : 0)).toBeGreaterThan(0);
    for (const t of pod.topologySpreadConstraints ?? [])
      expect(labels).toMatchObject(t.labelSelector?.matchLabels ?? { missing: 'selector' });
    expect(pod.containers).toHaveLength(1);
    expect(container.image).not.toMatch(/:latest$/);
    // The image's ENTRYPOINT is tini (PID 1); overriding `command` would drop it.
    expect(container.command).toBeUndefined();
  });

  it('probes liveness on /health, readiness on /ready, with a startup probe, on the container port', () => {
    expect(container.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
    const probes = {
      startupProbe: '/health',
      livenessProbe: '/health',
      readinessProbe: '/ready',
    } as const;
    for (const [probe, path] of Object.entries(probes)) {
      const p = container[probe as keyof typeof probes];
      expect(p?.httpGet?.path, probe).toBe(path);
      expect(containerPort(p?.httpGet?.port), `${probe} port`).toBe(3000);
    }
    // The startup probe allows at least 30 s before liveness takes over.
    const s = container.startupProbe as Probe;
    expect((s.periodSeconds ?? 10) * (s.failureThreshold ?? 3)).toBeGreaterThanOrEqual(30);
    expect(Number(envVar('PORT')?.value)).toBe(3000);
  });

  it('sets resource requests and limits', () => {
    for (const k of ['requests', 'limits'] as const)
      for (const r of ['cpu', 'memory']) expect(container.resources?.[k]?.[r], `${k}.${r}`).toBeTruthy();
    expect(container.resources?.limits?.memory).toMatch(/^\d+(Mi|Gi)$/);
  });

  it('runs non-root, read-only, without privileges, capabilities or a service account token', () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext?.privileged ?? false).toBe(false);
    expect((container.securityContext?.capabilities as { add?: string[] }).add).toBeUndefined();
    // Misspelt keys would be silently ignored by the API server's lenient decoding.
    const known = [
      'runAsNonRoot',
      'runAsUser',
      'runAsGroup',
      'readOnlyRootFilesystem',
      'allowPrivilegeEscalation',
      'privileged',
      'capabilities',
      'seccompProfile',
    ];
    for (const k of Object.keys(container.securityContext ?? {})) expect(known).toContain(k);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.hostPID ?? false).toBe(false);
    expect(pod.hostIPC ?? false).toBe(false);
    expect((pod.volumes ?? []).some((v) => v.hostPath)).toBe(false);
  });

  it('writes only to an emptyDir /tmp and the DATA_DIR volume', () => {
    const mounts = new Map((container.volumeMounts ?? []).map((m) => [m.mountPath, m]));
    const volume = (path: string) => pod.volumes?.find((v) => v.name === mounts.get(path)?.name);
    expect(volume('/tmp')?.emptyDir).toBeDefined();
    const dataDir = envVar('DATA_DIR')?.value ?? '';
    expect(dataDir).toBe('/data');
    const data = volume(dataDir);
    expect(data?.emptyDir ?? data?.persistentVolumeClaim).toBeDefined();
    // Every other mount is read-only.
    for (const m of container.volumeMounts ?? [])
      if (m.mountPath !== '/tmp' && m.mountPath !== dataDir) expect(m.readOnly, m.mountPath).toBe(true);
    // Every mount names a declared volume.
    for (const m of container.volumeMounts ?? []) expect(pod.volumes?.map((v) => v.name)).toContain(m.name);
  });

  it('binds 0.0.0.0 only with API keys from a mounted Secret, and REDIS_URL from a Secret', () => {
    expect(envVar('HOST')?.value).toBe('0.0.0.0');
    expect(envVar('AUTH_DISABLED')).toBeUndefined();
    expect(configMap.data.AUTH_DISABLED).toBeUndefined();
    const keysFile = envVar('AUTH_API_KEYS_FILE')?.value ?? '';
    const mount = container.volumeMounts?.find((m) => m.mountPath === posix.dirname(keysFile));
    expect(mount?.readOnly).toBe(true);
    const vol = pod.volumes?.find((v) => v.name === mount?.name);
    const secretName = vol?.secret?.secretName ?? '';
    const item = vol?.secret?.items?.find((i) => i.path === posix.basename(keysFile));
    expect(item, 'the key file is a projected Secret key').toBeDefined();
    expect(secretKeys(secretName)).toContain(item?.key);

    const redis = envVar('REDIS_URL')?.valueFrom?.secretKeyRef;
    expect(redis).toBeDefined();
    expect(secretKeys(redis?.name ?? '')).toContain(redis?.key);
    expect(envVar('REDIS_URL')?.value).toBeUndefined();
  });

  it('resolves every Secret and ConfigMap reference to an existing key', () => {
    for (const e of container.env ?? []) {
      const s = e.valueFrom?.secretKeyRef;
      if (s) expect(secretKeys(s.name), e.name).toContain(s.key);
      const c = e.valueFrom?.configMapKeyRef;
      if (c) {
        expect(c.name).toBe(configMap.metadata.name);
        expect(Object.keys(configMap.data)).toContain(c.key);
      }
    }
    for (const v of pod.volumes ?? [])
      if (v.secret) {
        const keys = secretKeys(v.secret.secretName);
        expect(keys, v.secret.secretName).toBeDefined();
        for (const i of v.secret.items ?? []) expect(keys).toContain(i.key);
      }
  });

  it('keeps secrets out of the ConfigMap, and the example Secrets cannot run as they are', () => {
    for (const [k, v] of Object.entries(configMap.data)) {
      expect(k).not.toMatch(/SECRET|PASSWORD|TOKEN|^REDIS_URL$/);
      expect(v, `${k}: credentials in a URL`).not.toMatch(/\/\/[^/@\s]*:[^/@\s]*@/);
    }
    // The placeholders are invalid on purpose: start-up stops instead of running with them.
    const keys = secretKeys('server-audit-mcp-api-keys');
    expect(keys).toEqual(['api_keys']);
    const s = secrets.find((x) => x.metadata.name === 'server-audit-mcp-api-keys');
    expect(s?.stringData?.api_keys).toMatch(/REPLACE/);
    expect(() => parseApiKeys(s?.stringData?.api_keys ?? '')).toThrow(/hash must be 64 hex/);
    const r = secrets.find((x) => x.metadata.name === 'server-audit-mcp-redis');
    expect(r?.stringData?.url).toMatch(/REPLACE/);
    expect(envSchema.shape.REDIS_URL.safeParse(r?.stringData?.url).success).toBe(false);
    expect(readFileSync(join(DIR, 'secret.example.yaml'), 'utf8')).toMatch(/^# EXAMPLE ONLY: PLACEHOLDERS/);
  });

  it('gives the server settings its schema accepts, with Service names as ALLOWED_HOSTS', () => {
    const env = serverEnv('audit');
    const known = new Set(Object.keys(envSchema.shape));
    for (const k of Object.keys(configMap.data)) expect(known, `ConfigMap ${k}`).toContain(k);
    for (const e of container.env ?? [])
      if (!DOWNWARD_API.has(e.name)) expect(known, e.name).toContain(e.name);

    const service = one<Service>('Service');
    const hosts = (env.ALLOWED_HOSTS ?? '').split(',');
    const name = service.metadata.name;
    for (const h of [
      name,
      `${name}.audit`,
      `${name}.audit.svc`,
      `${name}.audit.svc.cluster.local`,
      'localhost',
    ])
      expect(hosts).toContain(h);
    // A Prometheus scraping pods sends the pod IP as Host; /metrics answers 403 to other names.
    expect(hosts).toContain(POD_IP);
    const annotations = (deployment.spec.template.metadata as { annotations?: Record<string, string> })
      .annotations;
    expect(annotations?.['prometheus.io/path']).toBe('/metrics');
    expect(Number(annotations?.['prometheus.io/port'])).toBe(containerPort('http'));

    // The whole configuration loads as the server would load it (with a real key file and a
    // syntactically valid Redis URL standing in for the Secrets).
    const dir = mkdtempSync(join(tmpdir(), 'k8s-'));
    try {
      const keys = join(dir, 'api_keys');
      writeFileSync(keys, `${generateApiKey('ops', ['audit:read']).line}\n`);
      const action = loadConfig([], {
        ...env,
        AUTH_API_KEYS_FILE: keys,
        REDIS_URL: 'rediss://:pw@redis.example:6379',
      });
      expect(action.kind).toBe('run');
      if (action.kind !== 'run') return;
      expect(action.config.HOST).toBe('0.0.0.0');
      expect(action.config.auth.mode).toBe('required');
      expect(action.config.allowedHosts).toContain(`${name}.audit.svc.cluster.local`);
      // The kubelet waits for the drain (plus the preStop pause) before SIGKILL.
      const preStop = container.lifecycle?.preStop;
      const pause = preStop?.sleep?.seconds ?? Number(preStop?.exec?.command.at(-1) ?? 0);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(action.config.SHUTDOWN_GRACE_SECONDS + pause);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exposes a ClusterIP Service on port 3000 that selects exactly the pods', () => {
    const service = one<Service>('Service');
    expect(service.spec.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(service.spec.sessionAffinity ?? 'None').toBe('None');
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(service.spec.ports).toHaveLength(1);
    const port = service.spec.ports[0] as Service['spec']['ports'][number];
    expect(port.port).toBe(3000);
    expect(containerPort(port.targetPort)).toBe(3000);
  });

  it('has a PodDisruptionBudget and an HPA (CPU) on the Deployment', () => {
    const pdb = one<
      Obj & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }
    >('PodDisruptionBudget');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);

    const hpa = one<
      Obj & {
        spec: {
          scaleTargetRef: { apiVersion: string; kind: string; name: string };
          minReplicas: number;
          maxReplicas: number;
          metrics: Array<{ type: string; resource?: { name: string; target: { type: string } } }>;
        };
      }
    >('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.minReplicas).toBeLessThanOrEqual(deployment.spec.replicas);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    expect(hpa.spec.metrics).toContainEqual(
      expect.objectContaining({
        type: 'Resource',
        resource: expect.objectContaining({
          name: 'cpu',
          target: expect.objectContaining({ type: 'Utilization' }),
        }),
      }),
    );
  });

  // An extra check on top of the structural ones above: kubectl is no dependency of the project
  // or of CI (it runs where a developer has it), so without it this one test is skipped.
  it.skipIf(!hasBinary('kubectl'))(
    'builds with kubectl kustomize (offline; skipped without kubectl)',
    async () => {
      const { stdout } = await run('kubectl', ['kustomize', DIR], { timeout: 30_000 });
      const built = parseAllDocuments(stdout).map((d) => d.toJS() as Obj);
      expect(built.map((o) => o.kind).sort()).toEqual(objects.map((o) => o.kind).sort());
      const d = built.find((o) => o.kind === 'Deployment') as Deployment;
      expect(d.spec.template.spec.containers[0]?.image).toMatch(
        /\/server-audit-mcp(:[\w.-]+|@sha256:[0-9a-f]{64})$/,
      );
    },
  );
});

/**
 * deploy/kubernetes-agents: the node agents' DaemonSet, and its self-register component (agents
 * registering in the serving Deployment's Redis). The component is a JSON patch appending env
 * entries; it is applied here as kustomize would, and the result is loaded as the server would.
 */
describe('deploy/kubernetes-agents', () => {
  const AGENTS = join(import.meta.dirname, '..', '..', 'deploy', 'kubernetes-agents');
  const parse = (path: string) =>
    parseAllDocuments(readFileSync(path, 'utf8')).map((d) => {
      if (d.errors.length) throw new Error(`${path}: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as unknown;
    });
  const daemonSet = parse(join(AGENTS, 'daemonset.yaml'))[0] as Obj & {
    spec: { template: { spec: PodSpec } };
  };
  const agentPod = daemonSet.spec.template.spec;
  const agent = agentPod.containers[0] as Container;
  const NODE = { name: 'ip-10-0-1-5.ec2.internal', ip: '10.0.1.5' };
  const servingConfigMap = configMap;

  /** Env as the kubelet builds it: in order, $(VAR) only from entries above, downward API and refs. */
  function resolve(env: EnvVar[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of env) {
      const f = e.valueFrom?.fieldRef?.fieldPath;
      const s = e.valueFrom?.secretKeyRef;
      const c = e.valueFrom?.configMapKeyRef;
      if (e.value !== undefined) out[e.name] = e.value.replace(/\$\((\w+)\)/g, (m, v: string) => out[v] ?? m);
      else if (f === 'status.hostIP') out[e.name] = NODE.ip;
      else if (f === 'spec.nodeName') out[e.name] = NODE.name;
      else if (s) {
        // A Secret of the serving Deployment (deploy/kubernetes), in the same namespace.
        expect(secretKeys(s.name), `${e.name}: Secret ${s.name}`).toContain(s.key);
        out[e.name] = s.name === 'server-audit-mcp-redis' ? 'rediss://:pw@redis.example:6379' : `<${s.name}>`;
      } else if (c) {
        expect(c.name, e.name).toBe(servingConfigMap.metadata.name);
        expect(Object.keys(servingConfigMap.data), e.name).toContain(c.key);
        out[e.name] = servingConfigMap.data[c.key] as string;
      } else throw new Error(`${e.name}: a source this test does not know`);
    }
    for (const [k, v] of Object.entries(out)) expect(v, `${k}: unresolved reference`).not.toMatch(/\$\(/);
    return out;
  }

  function load(env: Record<string, string>) {
    const dir = mkdtempSync(join(tmpdir(), 'k8s-agents-'));
    try {
      const keys = join(dir, 'api_keys');
      writeFileSync(keys, `${generateApiKey('fleet', ['audit:read', 'audit:logs']).line}\n`);
      const action = loadConfig([], { ...env, AUTH_API_KEYS_FILE: keys });
      if (action.kind !== 'run') throw new Error('expected run');
      return action.config;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const component = parse(join(AGENTS, 'self-register', 'kustomization.yaml'))[0] as {
    apiVersion: string;
    kind: string;
    patches: Array<{ path: string; target: Record<string, string> }>;
  };
  const patch = component.patches.map(
    (p) =>
      parse(join(AGENTS, 'self-register', p.path))[0] as Array<{ op: string; path: string; value: EnvVar }>,
  );

  it('the DaemonSet: one agent per node, read-only host mounts, settings the server accepts', () => {
    const k = parse(join(AGENTS, 'kustomization.yaml'))[0] as { resources: string[] };
    expect(k.resources).toEqual(['daemonset.yaml']);
    expect(daemonSet).toMatchObject({ apiVersion: 'apps/v1', kind: 'DaemonSet' });
    expect(agentPod.automountServiceAccountToken).toBe(false);
    expect(agent.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    for (const m of agent.volumeMounts ?? [])
      if (m.mountPath.startsWith('/host/')) expect(m.readOnly, m.mountPath).toBe(true);
    const known = new Set(Object.keys(envSchema.shape));
    for (const e of agent.env ?? []) if (e.name !== 'NODE_IP') expect(known, e.name).toContain(e.name);
    const config = load(resolve(agent.env ?? []));
    expect(config.HOST).toBe('0.0.0.0');
    expect(config.auth.mode).toBe('required');
    expect(config.allowedHosts).toContain(NODE.ip);
    // Without the component: no registration (HOSTS_FILE on the serving side lists the nodes).
    expect(config.agent).toBeUndefined();
  });

  it('self-register is a Component, offered (commented out) in the kustomization, appending env only', () => {
    expect(component).toMatchObject({ apiVersion: 'kustomize.config.k8s.io/v1alpha1', kind: 'Component' });
    expect(component.patches.map((p) => p.target)).toEqual([
      { group: 'apps', version: 'v1', kind: 'DaemonSet', name: daemonSet.metadata.name },
    ]);
    expect(readFileSync(join(AGENTS, 'kustomization.yaml'), 'utf8')).toMatch(
      /^# components:\n# {3}- self-register$/m,
    );
    for (const op of patch.flat()) {
      expect(op.op).toBe('add');
      expect(op.path).toBe('/spec/template/spec/containers/0/env/-');
    }
    expect(agentPod.containers).toHaveLength(1);
  });

  it('with self-register: the agent registers under its node name (dots made "-") at its node IP, in the fleet Redis', () => {
    const env = [...(agent.env ?? []), ...patch.flat().map((op) => op.value)];
    const names = env.map((e) => e.name);
    expect(new Set(names).size, 'no variable set twice').toBe(names.length);
    const known = new Set(Object.keys(envSchema.shape));
    for (const n of names) if (n !== 'NODE_IP') expect(known, n).toContain(n);
    const resolved = resolve(env);
    const config = load(resolved);
    const hostPort = agent.ports?.find((p) => p.name === 'http')?.hostPort;
    expect(config.agent).toEqual({
      name: 'ip-10-0-1-5-ec2-internal',
      url: `http://${NODE.ip}:${hostPort}/mcp`,
      labels: { role: 'node' },
      heartbeatSeconds: 10,
    });
    // Serving instances call AGENT_URL with its host in the Host header: the agent accepts it.
    expect(config.allowedHosts).toContain(new URL(config.agent?.url ?? '').hostname);
    // The serving Deployment reads registrations under its own prefix, from the same Secret.
    expect(config.REDIS_PREFIX).toBe(servingConfigMap.data.REDIS_PREFIX);
    expect(env.find((e) => e.name === 'REDIS_URL')?.valueFrom?.secretKeyRef).toEqual(
      envVar('REDIS_URL')?.valueFrom?.secretKeyRef,
    );
    expect(config.RATE_LIMIT_PER_MINUTE).toBe(0);
    expect(config.RATE_LIMIT_BURST).toBe(0);
  });

  it.skipIf(!hasBinary('kubectl'))(
    'builds with kubectl kustomize, with and without self-register (skipped without kubectl)',
    async () => {
      const plain = parseAllDocuments(
        (await run('kubectl', ['kustomize', AGENTS], { timeout: 30_000 })).stdout,
      );
      expect(plain.map((d) => (d.toJS() as Obj).kind)).toEqual(['DaemonSet']);
      // As an operator enables it: the components lines uncommented in a copy.
      const dir = mkdtempSync(join(tmpdir(), 'k8s-agents-build-'));
      try {
        cpSync(AGENTS, dir, { recursive: true });
        const k = join(dir, 'kustomization.yaml');
        writeFileSync(
          k,
          readFileSync(k, 'utf8').replace(
            '# components:\n#   - self-register',
            'components:\n  - self-register',
          ),
        );
        const { stdout } = await run('kubectl', ['kustomize', dir], { timeout: 30_000 });
        const built = parseAllDocuments(stdout).map(
          (d) => d.toJS() as Obj & { spec: { template: { spec: PodSpec } } },
        );
        expect(built).toHaveLength(1);
        const names = (built[0]?.spec.template.spec.containers[0]?.env ?? []).map((e) => e.name);
        expect(names.indexOf('NODE_IP')).toBeLessThan(names.indexOf('AGENT_URL'));
        expect(names).toEqual(expect.arrayContaining(['AGENT_NODE_NAME', 'REDIS_URL', 'REDIS_PREFIX']));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
