/**
 * compose.yml (one instance), compose.redis.yml (fleet overlay: Redis, replicas, HAProxy) and
 * compose.agents.yml (two agents registering themselves in Redis).
 * No Docker engine runs here, so what can be checked for real is checked: Debian's
 * docker-compose must accept both (`docker-compose ... config`), the merged configuration it
 * prints must keep the hardening, and HAProxy must accept deploy/haproxy/haproxy.cfg
 * (`haproxy -c`). Both come from Debian packages that .ci/run installs; under CI=true a missing
 * one fails the suite, elsewhere these tests are skipped.
 *
 * The assertions read the output of both Compose generations (1.29 prints ports as
 * "127.0.0.1:3000:3000/tcp", v2 as objects; v2 leaves out services of inactive profiles).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envSchema, isLoopbackHost } from '../../src/config.js';
import { requirePeer } from '../helpers/peers.js';

const haveCompose = requirePeer('docker-compose', 'docker-compose');
const haveHaproxy = requirePeer('haproxy', 'haproxy');

const REPO = join(import.meta.dirname, '..', '..');
const HAPROXY_CFG = join(REPO, 'deploy', 'haproxy', 'haproxy.cfg');
const REDIS_PASSWORD = 'c0ffee0123456789c0ffee0123456789';
/** The user the image runs as: the Dockerfile's last USER (tests/unit/dockerfile.test.ts checks the rest). */
const IMAGE_USER =
  [...readFileSync(join(REPO, 'Dockerfile'), 'utf8').matchAll(/^USER (\S+)$/gm)].at(-1)?.[1] ?? 'root';
const run = promisify(execFile);

interface Port {
  hostIp: string | undefined;
  published: string | undefined;
  target: string;
}
interface Volume {
  type: string;
  source?: string;
  target: string;
  read_only?: boolean;
}
interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  ports?: Array<string | Record<string, unknown>>;
  expose?: Array<string | number>;
  environment?: Record<string, string | number | null>;
  volumes?: Array<Volume | string>;
  secrets?: Array<string | { source: string; target?: string }>;
  read_only?: boolean;
  init?: boolean;
  user?: string;
  privileged?: boolean;
  tmpfs?: string | string[];
  cap_drop?: string[];
  security_opt?: string[];
  group_add?: string[];
  pids_limit?: number;
  stop_grace_period?: string;
  command?: string | string[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  logging?: { driver?: string; options?: Record<string, string> };
  deploy?: {
    replicas?: number;
    resources?: { limits?: { cpus?: string | number; memory?: string | number } };
  };
}
interface Project {
  services: Record<string, Service>;
  secrets?: Record<string, { file?: string }>;
  volumes?: Record<string, unknown>;
}

let dir: string;

/** `docker-compose -f a -f b config` in the temp copy, with a fixed environment. */
async function composeConfig(files: string[], env: Record<string, string> = {}): Promise<Project> {
  const args = [...files.flatMap((f) => ['-f', f]), 'config'];
  const { stdout } = await run('docker-compose', args, {
    cwd: dir,
    // Only what Compose needs: nothing from the developer's shell (COMPOSE_FILE, REDIS_PASSWORD ...).
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...env },
    timeout: 30_000,
  });
  return parse(stdout) as Project;
}

/** Services Compose starts: v1 prints those of inactive profiles too, v2 leaves them out. */
function active(p: Project): Record<string, Service> {
  return Object.fromEntries(Object.entries(p.services).filter(([, s]) => !s.profiles?.length));
}

function ports(s: Service): Port[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object')
      return {
        hostIp: p.host_ip as string | undefined,
        published: p.published === undefined ? undefined : String(p.published),
        target: String(p.target),
      };
    // [ip:][published:]target[/proto]
    const parts = p.replace(/\/\w+$/, '').split(':');
    const target = parts.pop() as string;
    const published = parts.pop();
    return { hostIp: parts.length ? parts.join(':') : undefined, published, target };
  });
}

function volumes(s: Service): Volume[] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v === 'object') return v;
    const [source, target, mode] = v.split(':') as [string, string, string | undefined];
    return {
      type: source.startsWith('/') || source.startsWith('.') ? 'bind' : 'volume',
      source,
      target,
      read_only: /\bro\b/.test(mode ?? ''),
    };
  });
}

function env(s: Service): Record<string, string> {
  return Object.fromEntries(
    Object.entries(s.environment ?? {}).map(([k, v]) => [k, v == null ? '' : String(v)]),
  );
}

/** "40s", "1h", "500ms"; a bare number is in `bare` units (Compose: s, HAProxy: ms). */
function seconds(d: string, bare: 's' | 'ms' = 's'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(d.trim());
  if (!m) throw new Error(`not a duration: ${d}`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[(m[2] ?? bare) as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

/** The hardening every long-running service must keep, server or not. */
function expectHardened(name: string, s: Service): void {
  expect(s.read_only, `${name}: read_only`).toBe(true);
  expect(s.privileged ?? false, `${name}: privileged`).toBe(false);
  expect(s.cap_drop, `${name}: cap_drop`).toContain('ALL');
  expect(s.security_opt, `${name}: security_opt`).toContain('no-new-privileges:true');
  expect(s.healthcheck?.test, `${name}: healthcheck`).toBeTruthy();
  expect(s.healthcheck?.disable ?? false).toBe(false);
  expect(s.deploy?.resources?.limits?.memory, `${name}: memory limit`).toBeTruthy();
  expect(s.deploy?.resources?.limits?.cpus, `${name}: cpu limit`).toBeTruthy();
  expect(s.pids_limit, `${name}: pids_limit`).toBeGreaterThan(0);
  expect(s.logging?.driver, `${name}: log driver`).toBe('json-file');
  expect(s.logging?.options?.['max-size'], `${name}: log max-size`).toMatch(/^\d+[kmg]$/);
  expect(Number(s.logging?.options?.['max-file']), `${name}: log max-file`).toBeGreaterThan(0);
  for (const v of volumes(s)) {
    expect(v.source ?? '', `${name}: docker socket`).not.toMatch(/docker\.sock|\/run\/docker|\/var\/run$/);
    // Bind mounts are all read-only; only named volumes (DATA_DIR, Redis's AOF) are written.
    if (v.type === 'bind') expect(v.read_only, `${name}: ${v.source} -> ${v.target} read-only`).toBe(true);
  }
  for (const p of ports(s)) expect(p.hostIp, `${name}: published on loopback only`).toBe('127.0.0.1');
}

/** The server container: audits the host through read-only mounts, with auth on a 0.0.0.0 bind. */
function expectServer(name: string, s: Service, p: Project): Record<string, string> {
  expectHardened(name, s);
  const e = env(s);
  expect(s.init, `${name}: init`).toBe(true);
  expect(
    [s.tmpfs].flat().some((t) => t?.startsWith('/tmp')),
    `${name}: tmpfs /tmp`,
  ).toBe(true);
  // Without `user:` the image's final USER applies (the Dockerfile's).
  expect(s.user ?? IMAGE_USER, `${name}: user`).not.toMatch(/^(root|0)(:|$)/);
  expect(seconds(s.stop_grace_period ?? '10s'), 'stop_grace_period > SHUTDOWN_GRACE_SECONDS').toBeGreaterThan(
    Number(e.SHUTDOWN_GRACE_SECONDS || 30),
  );
  expect(JSON.stringify(s.healthcheck?.test)).toContain('/health');

  // The host, read-only, where HOST_PROC / HOST_SYS / HOST_ROOT point.
  const binds = new Map(
    volumes(s)
      .filter((v) => v.type === 'bind')
      .map((v) => [v.target, v]),
  );
  expect(binds.get(e.HOST_PROC ?? '')?.source).toBe('/proc');
  expect(binds.get(e.HOST_SYS ?? '')?.source).toBe('/sys');
  expect(binds.get(e.HOST_ROOT ?? '')?.source).toBe('/');
  expect(e.HOST_ROOT).not.toBe('/');
  // AUDIT_ALLOWED_PATHS are host paths resolved under HOST_ROOT: each is mounted there.
  const allowed = (e.AUDIT_ALLOWED_PATHS ?? '').split(',').filter(Boolean);
  expect(allowed).toEqual(['/var/log']);
  for (const a of allowed) expect(binds.get(posix.join(e.HOST_ROOT ?? '', a))?.source).toBe(a);

  // Listening on 0.0.0.0 in the container is only allowed with authentication configured.
  expect(isLoopbackHost(e.HOST ?? '127.0.0.1')).toBe(false);
  expect(e.AUTH_DISABLED ?? 'false').not.toBe('true');
  expect(e.AUTH_API_KEYS_FILE).toMatch(/^\/run\/secrets\//);
  const secret = posix.basename(e.AUTH_API_KEYS_FILE ?? '');
  const mounted = (s.secrets ?? []).map((x) => (typeof x === 'string' ? x : (x.target ?? x.source)));
  expect(mounted).toContain(secret);
  expect(p.secrets?.[secret]?.file).toBe(join(dir, 'secrets', 'api_keys'));

  const hosts = (e.ALLOWED_HOSTS ?? '').split(',');
  expect(hosts).toEqual(expect.arrayContaining(['localhost', '127.0.0.1']));
  expect(e.DATA_DIR).toBe('/data');
  // Every value is one the server's own schema accepts.
  const parsed = envSchema.safeParse(e);
  expect(parsed.success, parsed.error?.message).toBe(true);
  return e;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'compose-'));
  for (const f of ['compose.yml', 'compose.redis.yml', 'compose.agents.yml', 'Dockerfile', '.dockerignore'])
    cpSync(join(REPO, f), join(dir, f));
  mkdirSync(join(dir, 'deploy', 'haproxy'), { recursive: true });
  cpSync(HAPROXY_CFG, join(dir, 'deploy', 'haproxy', 'haproxy.cfg'));
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(join(dir, 'secrets', 'api_keys'), '# <name> <sha256-hex> <scopes>\n');
  writeFileSync(join(dir, 'secrets', 'agent_api_keys'), '# fleet <sha256-hex> audit:read,audit:logs\n');
  writeFileSync(join(dir, 'secrets', 'fleet_agent_key'), 'sam_placeholder\n');
  // What a user's .env may hold (.env.example's empty ALLOWED_HOSTS included): its settings
  // pass through, compose's own keys win over it.
  writeFileSync(
    join(dir, '.env'),
    'LOG_LEVEL=debug\nHOST=127.0.0.1\nAUDIT_ALLOWED_PATHS=/etc\nALLOWED_HOSTS=\n',
  );
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveCompose)('compose.yml: one instance', () => {
  let p: Project;
  beforeAll(async () => {
    p = await composeConfig(['compose.yml']);
  });

  it('runs one hardened server, published on 127.0.0.1:3000 only', () => {
    expect(Object.keys(active(p))).toEqual(['server-audit']);
    const s = p.services['server-audit'] as Service;
    expect(s.build).toBeTruthy();
    expect(ports(s)).toEqual([{ hostIp: '127.0.0.1', published: '3000', target: '3000' }]);
    const e = expectServer('server-audit', s, p);
    expect(e.PORT).toBe('3000');
    expect(e.ALLOWED_HOSTS?.split(',')).toContain('server-audit');
    // Baselines on a named volume, the one writable path.
    expect(volumes(s)).toContainEqual(
      expect.objectContaining({ type: 'volume', source: 'data', target: '/data' }),
    );
  });

  it('takes settings from .env, but not over the keys compose sets', () => {
    const e = env(p.services['server-audit'] as Service);
    expect(e.LOG_LEVEL).toBe('debug');
    expect(e.HOST).toBe('0.0.0.0');
    expect(e.AUDIT_ALLOWED_PATHS).toBe('/var/log');
  });
});

describe.skipIf(!haveCompose)('compose.redis.yml: Redis, replicas, HAProxy', () => {
  let p: Project;
  let single: Project;
  beforeAll(async () => {
    [p, single] = await Promise.all([
      composeConfig(['compose.yml', 'compose.redis.yml'], { REDIS_PASSWORD }),
      composeConfig(['compose.yml']),
    ]);
  });

  it('refuses to start without REDIS_PASSWORD', async () => {
    const err = await composeConfig(['compose.yml', 'compose.redis.yml']).catch(
      (e: { stderr?: string }) => e,
    );
    expect((err as { stderr?: string }).stderr).toContain('REDIS_PASSWORD');
  });

  it('starts Redis, two or more hardened server replicas with no published port, and HAProxy', () => {
    const svc = active(p);
    expect(Object.keys(svc).sort()).toEqual(['haproxy', 'redis', 'server-audit-replica']);
    for (const [name, s] of Object.entries(svc)) expectHardened(name, s);

    const replica = svc['server-audit-replica'] as Service;
    expect(replica.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(replica.ports ?? []).toEqual([]);
    const e = expectServer('server-audit-replica', replica, p);
    expect(e.REDIS_URL).toBe(`redis://:${REDIS_PASSWORD}@redis:6379`);
    expect(e.ALLOWED_HOSTS?.split(',')).toContain('haproxy');

    const lb = svc.haproxy as Service;
    expect(ports(lb)).toEqual([{ hostIp: '127.0.0.1', published: '3000', target: '3000' }]);
    expect(volumes(lb)).toContainEqual(
      expect.objectContaining({
        source: join(dir, 'deploy', 'haproxy', 'haproxy.cfg'),
        target: '/usr/local/etc/haproxy/haproxy.cfg',
        read_only: true,
      }),
    );
  });

  it('gives the replicas the same settings as the single instance (the overlay repeats them)', () => {
    const one = single.services['server-audit'] as Service;
    const replica = p.services['server-audit-replica'] as Service;
    const keys = [
      'image',
      'init',
      'read_only',
      'tmpfs',
      'cap_drop',
      'security_opt',
      'group_add',
      'pids_limit',
      'stop_grace_period',
      'healthcheck',
      'logging',
      'secrets',
    ] as const;
    for (const k of keys) expect(replica[k], k).toEqual(one[k]);
    expect(replica.deploy?.resources).toEqual(one.deploy?.resources);
    // The replicas differ only in what fleet mode needs: Redis, HAProxy's name, and trusting
    // HAProxy's X-Forwarded-For for the client IP.
    const { ALLOWED_HOSTS: _a, REDIS_URL: _r, TRUST_PROXY: trust, ...replicaEnv } = env(replica);
    const { ALLOWED_HOSTS: _b, ...oneEnv } = env(one);
    expect(replicaEnv).toEqual(oneEnv);
    expect(trust).toBe('1');
    const binds = (s: Service) =>
      volumes(s)
        .filter((v) => v.type === 'bind')
        .sort((a, b) => a.target.localeCompare(b.target));
    expect(binds(replica)).toEqual(binds(one));
  });

  it('runs Redis with a password kept out of its command line, and an append-only file', () => {
    const r = p.services.redis as Service;
    expect(r.image).toMatch(/^redis:\d+\.\d+(\.\d+)?(-[\w.]+)?(@sha256:[0-9a-f]{64})?$/);
    expect(r.user).toBe('redis');
    expect(env(r).REDIS_PASSWORD).toBe(REDIS_PASSWORD);
    const cmd = [r.command].flat().join(' ');
    expect(cmd).not.toContain(REDIS_PASSWORD);
    expect(cmd).toMatch(/requirepass \$\$?REDIS_PASSWORD/);
    expect(cmd).toContain('--appendonly yes');
    expect(volumes(r)).toContainEqual(expect.objectContaining({ type: 'volume', target: '/data' }));
  });
});

describe.skipIf(!haveCompose)('compose.agents.yml: two agents registering themselves in Redis', () => {
  const FILES = ['compose.yml', 'compose.redis.yml', 'compose.agents.yml'];
  let p: Project;
  let fleet: Project;
  beforeAll(async () => {
    [p, fleet] = await Promise.all([
      composeConfig(FILES, { REDIS_PASSWORD }),
      composeConfig(['compose.yml', 'compose.redis.yml'], { REDIS_PASSWORD }),
    ]);
  });

  it('refuses to start without REDIS_PASSWORD', async () => {
    const err = await composeConfig(FILES).catch((e: { stderr?: string }) => e);
    expect((err as { stderr?: string }).stderr).toContain('REDIS_PASSWORD');
  });

  it('adds two hardened agents beside the fleet, with no published port', () => {
    const svc = active(p);
    expect(Object.keys(svc).sort()).toEqual([
      'agent-web1',
      'agent-web2',
      'haproxy',
      'redis',
      'server-audit-replica',
    ]);
    for (const [name, s] of Object.entries(svc)) expectHardened(name, s);
    const names = new Set<string>();
    for (const name of ['agent-web1', 'agent-web2']) {
      const s = svc[name] as Service;
      expect(s.init, `${name}: init`).toBe(true);
      expect(s.user ?? IMAGE_USER, `${name}: user`).not.toMatch(/^(root|0)(:|$)/);
      expect(s.ports ?? [], `${name}: no published port`).toEqual([]);
      const e = env(s);
      expect(seconds(s.stop_grace_period ?? '10s')).toBeGreaterThan(Number(e.SHUTDOWN_GRACE_SECONDS || 30));
      // Every value is one the server's own schema accepts.
      const parsed = envSchema.safeParse(e);
      expect(parsed.success, parsed.error?.message).toBe(true);
      expect(isLoopbackHost(e.HOST ?? '127.0.0.1')).toBe(false);
      expect(e.AUTH_DISABLED ?? 'false').not.toBe('true');
      // Registration: a name of its own, the URL the replicas call on the Compose network, Redis.
      expect(e.AGENT_NAME).toMatch(/^[a-z0-9-]+$/);
      names.add(e.AGENT_NAME ?? '');
      expect(e.AGENT_URL).toBe(`http://${name}:3000/mcp`);
      expect(e.ALLOWED_HOSTS?.split(',')).toContain(name);
      expect(e.REDIS_URL).toBe(`redis://:${REDIS_PASSWORD}@redis:6379`);
      expect(Number(e.AGENT_HEARTBEAT_SECONDS)).toBeGreaterThan(0);
      // Rate limits live in the shared Redis per principal: on agents they would count the fleet
      // key's calls to all agents together. The replicas limit the callers.
      expect([e.RATE_LIMIT_PER_MINUTE, e.RATE_LIMIT_BURST]).toEqual(['0', '0']);
      // The agent accepts only the fleet agent key's line, never the clients' keys file, and
      // holds no key to call others with.
      expect(e.AUTH_API_KEYS_FILE).toBe('/run/secrets/agent_api_keys');
      expect(e.FLEET_AGENT_KEY_FILE).toBeUndefined();
      const mounted = (s.secrets ?? []).map((x) => (typeof x === 'string' ? x : (x.target ?? x.source)));
      expect(mounted).toEqual(['agent_api_keys']);
      // The audited host, read-only, as for the server.
      const binds = new Map(
        volumes(s)
          .filter((v) => v.type === 'bind')
          .map((v) => [v.target, v]),
      );
      expect(binds.get(e.HOST_PROC ?? '')?.source).toBe('/proc');
      expect(binds.get(e.HOST_SYS ?? '')?.source).toBe('/sys');
      expect(binds.get(e.HOST_ROOT ?? '')?.source).toBe('/');
    }
    expect(names.size).toBe(2);
    expect(p.secrets?.agent_api_keys?.file).toBe(join(dir, 'secrets', 'agent_api_keys'));
    expect(p.secrets?.fleet_agent_key?.file).toBe(join(dir, 'secrets', 'fleet_agent_key'));
  });

  it('gives the replicas the fleet agent key as a file, and changes nothing else about them', () => {
    const replica = p.services['server-audit-replica'] as Service;
    const before = fleet.services['server-audit-replica'] as Service;
    const { FLEET_AGENT_KEY_FILE: keyFile, ...rest } = env(replica);
    expect(keyFile).toBe('/run/secrets/fleet_agent_key');
    expect(rest).toEqual(env(before));
    const mounted = (replica.secrets ?? []).map((x) => (typeof x === 'string' ? x : (x.target ?? x.source)));
    expect(mounted.sort()).toEqual(['api_keys', 'fleet_agent_key']);
    expect(volumes(replica)).toEqual(volumes(before));
    expect(replica.deploy).toEqual(before.deploy);
  });
});

describe('deploy/haproxy/haproxy.cfg', () => {
  const cfg = readFileSync(HAPROXY_CFG, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);

  it('balances round-robin without stickiness and checks /ready', () => {
    expect(cfg).toContain('balance roundrobin');
    expect(cfg).toContain('option httpchk GET /ready');
    expect(cfg).toContain('http-check expect status 200');
    for (const l of cfg)
      expect(l).not.toMatch(/^(cookie|stick|stick-table|appsession|hash-type|balance (?!roundrobin))/);
    expect(cfg.find((l) => l.startsWith('server-template'))).toMatch(
      /^server-template \w+ 1-\d+ server-audit-replica:3000$/,
    );
    expect(cfg).toContain('bind :3000');
  });

  it('keeps GET streams (SSE) open for long and replays only what is safe to run twice', () => {
    const timeout = (name: string) => {
      const l = cfg.find((x) => x.startsWith(`timeout ${name} `));
      return seconds((l ?? '').split(/\s+/)[2] ?? 'x', 'ms');
    };
    for (const t of ['client', 'server', 'tunnel']) expect(timeout(t), t).toBeGreaterThanOrEqual(600);
    expect(timeout('connect')).toBeLessThanOrEqual(10);
    // Replays (issue 17): a request that died with its replica is sent again, with its body,
    // unless it may write: every 2025 POST (its tool is only in the body), and 2026-07-28 calls
    // of the tools that write.
    expect(cfg).toContain('option http-buffer-request');
    expect(cfg.find((l) => l.startsWith('retry-on'))).toMatch(/conn-failure/);
    expect(cfg).toContain('http-request disable-l7-retry if METH_POST !modern_request');
    expect(cfg).toContain('http-request disable-l7-retry if tool_call writing_tool');
    const writing = cfg.find((l) => l.startsWith('acl writing_tool')) ?? '';
    for (const tool of ['delete_baselines', 'run_health_check', 'check_database'])
      expect(writing).toContain(tool);
  });

  it.skipIf(!haveHaproxy)('passes haproxy -c offline (init-addr none, Docker DNS resolvers)', async () => {
    const { stdout, stderr } = await run('haproxy', ['-c', '-f', HAPROXY_CFG], { timeout: 10_000 });
    expect(stdout + stderr).toContain('Configuration file is valid');
    expect(stderr).not.toMatch(/\[WARNING\]|\[ALERT\]/);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
  const runtime = text.slice(text.lastIndexOf('\nFROM '));

  it('runs the built server as the non-root node user, with a health check and only /data writable', () => {
    expect(text).toMatch(/^FROM \S+ AS build$/m);
    expect(runtime).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/^USER (node|1000)(:(node|1000))?$/m);
    expect(IMAGE_USER).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime).toMatch(/^HEALTHCHECK .*\/health/ms);
    expect(runtime).toContain('CMD ["node", "dist/server.js"]');
    expect(runtime).toMatch(/chown node:node \/data/);
  });

  it('keeps secrets, .env and local state out of the build context', () => {
    const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['.git', 'node_modules', 'dist', 'data', 'secrets', '.env', 'tests', 'bench'])
      expect(ignored).toContain(p);
  });
});
