/**
 * Issue 19, fleet mode, with real processes: a real redis-server, two serving instances (the
 * built server) behind the shipped HAProxy configuration, and two agents that register
 * themselves in Redis (AGENT_NAME, AGENT_URL, a short heartbeat), each auditing its own fixture
 * host tree. No HOSTS_FILE anywhere: every route comes from Redis.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentDirectory, AgentHeartbeat } from '../../src/hosts/agentDirectory.js';
import { apiKeysFile } from '../helpers/authTestBed.js';
import { freePort, type RedisPeer, requirePeer, startRedis, startShippedHaproxy } from '../helpers/peers.js';
import { type SpawnedServer, spawnServer, startInProcess } from '../helpers/servers.js';
import { healthTree } from '../helpers/hostTrees.js';

const haveRedis = requirePeer('redis-server', 'redis-server');
const haveHaproxy = requirePeer('haproxy', 'haproxy');

interface Answer {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
}
interface HostRow {
  name: string;
  source: string;
  lastHeartbeat: string | null;
  labels: Record<string, string>;
  url: string;
}

const ALPHA_ID = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const BETA_ID = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const SERVING_ID = 'cccccccccccccccccccccccccccccccc';
const tree = healthTree;

let redis: RedisPeer;
let rc: Redis;
const prefix = `reg${Date.now()}:`;
const spawned: SpawnedServer[] = [];
let alpha: SpawnedServer;
let beta: SpawnedServer;
let servingA: SpawnedServer;
let servingB: SpawnedServer;
let lb: { port: number; stop(): Promise<void> } | undefined;
let operatorKey: string;
let fleetKey: string;
let agentKeysPath: string;
const clients: Client[] = [];

async function client(url: string): Promise<Client> {
  // 2026-07-28: stateless, so HAProxy may send each request to either instance.
  const c = new Client(
    { name: 'reg-test', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await c.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${operatorKey}` } },
    }),
  );
  clients.push(c);
  return c;
}

async function call(c: Client, name: string, args: Record<string, unknown>): Promise<Answer> {
  return (await c.callTool({ name, arguments: args })) as Answer;
}

const text = (a: Answer) => a.content.map((c) => c.text ?? '').join('\n');

async function listed(c: Client): Promise<HostRow[]> {
  const a = await call(c, 'list_hosts', {});
  expect(a.isError, text(a)).toBeFalsy();
  return a.structuredContent?.hosts as HostRow[];
}

async function agent(name: string, t: ReturnType<typeof tree>, keysPath: string, heartbeat: string) {
  const port = await freePort();
  const s = await spawnServer({
    ...t,
    PORT: String(port),
    REDIS_URL: redis.url,
    REDIS_PREFIX: prefix,
    REDIS_COMMAND_TIMEOUT_MS: '5000',
    AUTH_API_KEYS_FILE: keysPath,
    AGENT_NAME: name,
    AGENT_URL: `http://127.0.0.1:${port}/mcp`,
    AGENT_LABELS: `role=${name === 'alpha' ? 'web' : 'db'},env=test`,
    AGENT_HEARTBEAT_SECONDS: heartbeat,
    // As compose.agents.yml: limits in the shared Redis would count all agents' calls together.
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_BURST: '0',
  });
  spawned.push(s);
  return s;
}

beforeAll(async () => {
  if (!haveRedis || !haveHaproxy) return;
  redis = await startRedis();
  rc = new Redis(redis.url);
  // One fleet-wide agent key: its hash line in each agent's keys file, the key itself only in
  // the serving instances' FLEET_AGENT_KEY_FILE. Never in Redis.
  const agentKeys = apiKeysFile({ fleet: ['audit:read', 'audit:logs'] });
  fleetKey = agentKeys.keys.fleet as string;
  agentKeysPath = agentKeys.path;
  const dir = mkdtempSync(join(tmpdir(), 'reg-'));
  const fleetKeyFile = join(dir, 'fleet.key');
  writeFileSync(fleetKeyFile, `${fleetKey}\n`, { mode: 0o600 });
  const callerKeys = apiKeysFile({ operator: ['audit:read', 'audit:logs'] });
  operatorKey = callerKeys.keys.operator as string;

  // alpha beats every 2 s (TTL 6 s), beta every 3 s (TTL 9 s): generous for a busy event loop.
  [alpha, beta] = await Promise.all([
    agent('alpha', tree('healthy', ALPHA_ID), agentKeys.path, '2'),
    agent('beta', tree('stressed', BETA_ID), agentKeys.path, '3'),
  ]);
  const serving = {
    ...tree('healthy', SERVING_ID),
    REDIS_URL: redis.url,
    REDIS_PREFIX: prefix,
    REDIS_COMMAND_TIMEOUT_MS: '5000',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_BURST: '0',
    AUTH_API_KEYS_FILE: callerKeys.path,
    FLEET_AGENT_KEY_FILE: fleetKeyFile,
    FLEET_AGENTS_REFRESH_SECONDS: '1',
    TOOL_DEADLINE_SECONDS: '30',
  };
  [servingA, servingB] = await Promise.all([spawnServer(serving), spawnServer(serving)]);
  spawned.push(servingA, servingB);
  lb = await startShippedHaproxy([servingA, servingB].map((s) => Number(new URL(s.url).port)));
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await lb?.stop();
  for (const s of spawned) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  await Promise.all(spawned.map((s) => s.exit));
  rc?.disconnect();
  await redis?.stop();
});

describe.skipIf(!haveRedis || !haveHaproxy)('agents registered in Redis (issue 19, fleet mode)', () => {
  it('Redis holds each registration with a TTL and no credential', async () => {
    const raw = await rc.get(`${prefix}{agents}:a:alpha`);
    const rec = JSON.parse(raw as string) as Record<string, unknown>;
    expect(rec).toMatchObject({
      v: 1,
      name: 'alpha',
      url: alpha.url,
      labels: { role: 'web', env: 'test' },
      heartbeatSeconds: 2,
    });
    const ttl = await rc.pttl(`${prefix}{agents}:a:alpha`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(6000);
    // No key, no hash of one, anywhere in what the fleet stored.
    const keys = await rc.keys(`${prefix}*`);
    for (const k of keys) {
      const type = await rc.type(k);
      const dump = type === 'string' ? await rc.get(k) : JSON.stringify(await rc.zrange(k, 0, -1));
      expect(dump ?? '').not.toContain(fleetKey);
      expect(dump ?? '').not.toContain(operatorKey);
    }
  });

  it('list_hosts on either instance, through HAProxy, shows both agents as registered', async () => {
    const viaLb = await client(`http://127.0.0.1:${lb?.port}/mcp`);
    for (const c of [viaLb, viaLb, viaLb, await client(servingA.url), await client(servingB.url)]) {
      const hosts = await listed(c);
      expect(hosts.map((h) => h.name)).toEqual(['alpha', 'beta']);
      for (const h of hosts) {
        expect(h.source).toBe('registered');
        expect(Date.parse(h.lastHeartbeat ?? '')).toBeGreaterThan(Date.now() - 60_000);
      }
      expect(hosts[0]?.labels).toEqual({ role: 'web', env: 'test' });
      expect(hosts[1]?.url).toBe(beta.url);
    }
  });

  it('routes `host` to the right agent whichever instance answers', async () => {
    const viaLb = await client(`http://127.0.0.1:${lb?.port}/mcp`);
    const direct = [await client(servingA.url), await client(servingB.url)];
    // Round-robin: consecutive calls through HAProxy land on both instances.
    for (const c of [viaLb, viaLb, viaLb, viaLb, ...direct]) {
      const a = await call(c, 'run_health_check', { host: 'alpha', saveBaseline: false, cpuSampleMs: 0 });
      const b = await call(c, 'run_health_check', { host: 'beta', saveBaseline: false, cpuSampleMs: 0 });
      expect(a.isError, text(a)).toBeFalsy();
      expect(b.isError, text(b)).toBeFalsy();
      expect(text(a)).toContain('[host alpha]');
      expect(text(b)).toContain('[host beta]');
      expect(a.structuredContent?.hostId).toBe(ALPHA_ID);
      expect(b.structuredContent?.hostId).toBe(BETA_ID);
      const ids = (x: Answer) => (x.structuredContent?.findings as Array<{ id: string }>).map((f) => f.id);
      // beta audits the stressed tree (OOM kills, zombies), alpha the healthy one.
      expect(ids(b)).toEqual(expect.arrayContaining(['memory.oom_kills', 'processes.zombies']));
      expect(ids(a)).not.toContain('memory.oom_kills');
      expect(b.structuredContent?.status).toBe('critical');
    }
    // Without `host` each instance audits itself; an unknown name is refused, naming the source.
    const local = await call(direct[0] as Client, 'detect_system', {});
    expect(local.isError).toBe(true);
    expect(text(local)).toMatch(/several hosts \(agents registered in Redis\).*alpha, beta/);
    const unknown = await call(viaLb, 'detect_system', { host: 'gamma' });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toContain('must be a name from agents registered in Redis');
  });

  it('fleet_health covers the registered agents, worst first', async () => {
    const viaLb = await client(`http://127.0.0.1:${lb?.port}/mcp`);
    const a = await call(viaLb, 'fleet_health', { labels: { env: 'test' }, cpuSampleMs: 0 });
    expect(a.isError, text(a)).toBeFalsy();
    const hosts = a.structuredContent?.hosts as Array<{ host: string; status: string }>;
    expect(hosts.map((h) => h.host)).toEqual(['beta', 'alpha']);
    expect(hosts[0]?.status).toBe('critical');
  });

  it('a HOSTS_FILE entry wins over a registration of the same name', async () => {
    // A serving instance whose HOSTS_FILE calls "alpha" what is really beta's agent.
    const dir = mkdtempSync(join(tmpdir(), 'reg-clash-'));
    const hostsFile = join(dir, 'hosts.yaml');
    writeFileSync(
      hostsFile,
      [
        'hosts:',
        '  - name: alpha',
        `    url: ${beta.url}`,
        '    apiKeyEnv: CLASH_KEY',
        '    labels: {from: file}',
      ].join('\n'),
    );
    const keys = apiKeysFile({ operator: ['audit:read'] });
    const third = await startInProcess({
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      REDIS_COMMAND_TIMEOUT_MS: '5000',
      HOSTS_FILE: hostsFile,
      CLASH_KEY: fleetKey,
      FLEET_AGENT_KEY: fleetKey,
      AUTH_API_KEYS_FILE: keys.path,
    });
    const c = new Client(
      { name: 'reg-clash', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    try {
      await c.connect(
        new StreamableHTTPClientTransport(new URL(third.url), {
          requestInit: { headers: { Authorization: `Bearer ${keys.keys.operator}` } },
        }),
      );
      const hosts = await listed(c);
      expect(hosts.map((h) => [h.name, h.source])).toEqual([
        ['alpha', 'file'],
        ['beta', 'registered'],
      ]);
      expect(hosts[0]).toMatchObject({ url: beta.url, labels: { from: 'file' }, lastHeartbeat: null });
      const a = await call(c, 'run_health_check', { host: 'alpha', saveBaseline: false, cpuSampleMs: 0 });
      expect(a.isError, text(a)).toBeFalsy();
      expect(a.structuredContent?.hostId).toBe(BETA_ID);
    } finally {
      await c.close().catch(() => undefined);
      await third.shutdown('test done');
    }
  });

  it('ignores garbage in Redis registration keys, and keeps serving', async () => {
    const k = (n: string) => `${prefix}{agents}:a:${n}`;
    const future = Date.now() + 600_000;
    await rc.set(k('gamma'), 'not json {');
    await rc.set(k('delta'), JSON.stringify({ v: 1, name: 'alpha', url: 'http://203.0.113.9/mcp' }));
    await rc.set(k('huge'), 'x'.repeat(100_000));
    await rc.hset(k('hashy'), 'url', 'http://203.0.113.9/mcp');
    // A record copied from a real one under another name, and a valid-looking one with user info.
    const alphaRec = JSON.parse((await rc.get(k('alpha'))) as string) as Record<string, unknown>;
    await rc.set(k('copy'), JSON.stringify(alphaRec));
    await rc.set(
      k('creds'),
      JSON.stringify({ ...alphaRec, name: 'creds', url: 'http://u:p@127.0.0.1:1/mcp' }),
    );
    for (const n of ['gamma', 'delta', 'huge', 'hashy', 'copy', 'creds', 'Not A Name'])
      await rc.zadd(`${prefix}{agents}:index`, future, n);

    const viaLb = await client(`http://127.0.0.1:${lb?.port}/mcp`);
    for (let i = 0; i < 4; i++) expect((await listed(viaLb)).map((h) => h.name)).toEqual(['alpha', 'beta']);
    for (const host of ['gamma', 'delta', 'copy', 'creds']) {
      const a = await call(viaLb, 'detect_system', { host });
      expect(a.isError).toBe(true);
      expect(text(a)).toContain('Unknown host');
    }
    for (const s of [servingA, servingB]) {
      expect(s.child.exitCode).toBeNull();
      expect((await fetch(new URL('/health', s.url))).status).toBe(200);
    }
    expect(servingA.stderr() + servingB.stderr()).not.toMatch(/uncaught|unhandled/i);
    await rc.del(k('gamma'), k('delta'), k('huge'), k('hashy'), k('copy'), k('creds'));
    await rc.zrem(
      `${prefix}{agents}:index`,
      'gamma',
      'delta',
      'huge',
      'hashy',
      'copy',
      'creds',
      'Not A Name',
    );
  });

  it('reads at most FLEET_AGENTS_MAX registrations, and none planted with an expiry beyond any TTL', async () => {
    const k = (n: string) => `${prefix}{agents}:a:${n}`;
    const alphaRec = JSON.parse((await rc.get(k('alpha'))) as string) as Record<string, unknown>;
    const planted = ['p1', 'p2', 'p3'];
    for (const [i, n] of planted.entries()) {
      await rc.set(k(n), JSON.stringify({ ...alphaRec, name: n }), 'EX', 60);
      // Beyond any TTL (at most 3 x 300 s): just under an hour ahead, and ten hours ahead.
      await rc.zadd(`${prefix}{agents}:index`, Date.now() + (i === 0 ? 3_500_000 : 36_000_000), n);
    }
    const quiet = { info() {}, warn() {}, debug() {} };
    try {
      const all = new AgentDirectory(rc, prefix, { max: 1000, refreshSeconds: 60 }, quiet);
      await all.refresh();
      expect(all.agents.map((r) => r.name)).toEqual(['alpha', 'beta']);
      const bounded = new AgentDirectory(rc, prefix, { max: 1, refreshSeconds: 60 }, quiet);
      await bounded.refresh();
      expect(bounded.agents).toHaveLength(1);
      expect(['alpha', 'beta']).toContain(bounded.agents[0]?.name);
    } finally {
      await rc.del(...planted.map(k));
      await rc.zrem(`${prefix}{agents}:index`, ...planted);
    }
  });

  it('never follows a redirect from a registered URL (the fleet key stays put)', async () => {
    const spied: string[] = [];
    const spy = createServer((req, res) => {
      spied.push(String(req.headers.authorization));
      res.writeHead(500).end();
    });
    await new Promise<void>((r) => spy.listen(0, '127.0.0.1', r));
    const spyUrl = `http://127.0.0.1:${(spy.address() as AddressInfo).port}/mcp`;
    const bouncer = createServer((_req, res) => res.writeHead(307, { location: spyUrl }).end());
    await new Promise<void>((r) => bouncer.listen(0, '127.0.0.1', r));
    const hb = new AgentHeartbeat(
      rc,
      prefix,
      {
        name: 'bouncer',
        url: `http://127.0.0.1:${(bouncer.address() as AddressInfo).port}/mcp`,
        labels: {},
        version: '0',
        heartbeatSeconds: 30,
      },
      { info() {}, warn() {}, debug() {} },
    );
    try {
      expect(await hb.beat()).toBe(true);
      const viaLb = await client(`http://127.0.0.1:${lb?.port}/mcp`);
      const a = await call(viaLb, 'detect_system', { host: 'bouncer' });
      expect(a.isError).toBe(true);
      expect(text(a)).toContain('host bouncer: agent unreachable');
      expect(spied).toEqual([]);
    } finally {
      await hb.stop();
      spy.close();
      bouncer.close();
    }
  });

  it('a cleanly stopped agent disappears at once', async () => {
    const viaLb = await client(`http://127.0.0.1:${lb?.port}/mcp`);
    beta.child.kill('SIGTERM');
    expect(await beta.exit).toBe(0);
    expect(await rc.exists(`${prefix}{agents}:a:beta`)).toBe(0);
    // list_hosts reads Redis on each call: gone on both instances, no TTL to wait for.
    for (let i = 0; i < 4; i++) expect((await listed(viaLb)).map((h) => h.name)).toEqual(['alpha']);
    const a = await call(viaLb, 'run_health_check', { host: 'beta', cpuSampleMs: 0 });
    expect(a.isError).toBe(true);
    expect(text(a)).toContain('Unknown host "beta"');
  });

  it('an agent that comes back on another port is routed to at once', async () => {
    const viaLb = await client(`http://127.0.0.1:${lb?.port}/mcp`);
    // A new process under the same name, with a new URL, accepting the same fleet key.
    const again = await agent('beta', tree('stressed', BETA_ID), agentKeysPath, '3');
    try {
      expect(again.url).not.toBe(beta.url);
      // "listening" is logged just before the first heartbeat: wait for the registration itself.
      for (let i = 0; i < 100 && !(await rc.get(`${prefix}{agents}:a:beta`))?.includes(again.url); i++)
        await new Promise((r) => setTimeout(r, 50));
      for (let i = 0; i < 4; i++) {
        const a = await call(viaLb, 'run_health_check', {
          host: 'beta',
          saveBaseline: false,
          cpuSampleMs: 0,
        });
        expect(a.isError, text(a)).toBeFalsy();
        expect(a.structuredContent?.hostId).toBe(BETA_ID);
      }
      const row = (await listed(viaLb)).find((h) => h.name === 'beta');
      expect(row?.url).toBe(again.url);
    } finally {
      again.child.kill('SIGTERM');
      const code = await again.exit;
      expect(code, again.stderr()).toBe(0);
    }
    expect((await listed(viaLb)).map((h) => h.name)).toEqual(['alpha']);
  });

  it('an agent stopped while it starts still leaves Redis cleanly (exit 0, no registration left)', async () => {
    // SIGTERM as soon as the port is open: the signal is answered once start-up is done.
    const early = await agent('early', tree('healthy', ALPHA_ID), agentKeysPath, '3');
    early.child.kill('SIGTERM');
    const code = await early.exit;
    expect(code, early.stderr()).toBe(0);
    expect(await rc.exists(`${prefix}{agents}:a:early`)).toBe(0);
  });

  it('a stopping agent deletes only its own registration, not a newer one of the same name', async () => {
    const quiet = { info() {}, warn() {}, debug() {} };
    const opts = {
      name: 'twin',
      url: 'http://127.0.0.1:9/mcp',
      labels: {},
      version: '0',
      heartbeatSeconds: 5,
    };
    const older = new AgentHeartbeat(rc, prefix, opts, quiet);
    const newer = new AgentHeartbeat(rc, prefix, { ...opts, url: 'http://127.0.0.1:10/mcp' }, quiet);
    expect(await older.beat()).toBe(true);
    expect(await newer.beat()).toBe(true);
    await older.stop();
    const left = JSON.parse((await rc.get(`${prefix}{agents}:a:twin`)) as string) as { url: string };
    expect(left.url).toBe('http://127.0.0.1:10/mcp');
    await newer.stop();
    expect(await rc.exists(`${prefix}{agents}:a:twin`)).toBe(0);
    expect(await rc.zscore(`${prefix}{agents}:index`, 'twin')).toBeNull();
  });

  it('an agent killed with SIGKILL disappears after its TTL', async () => {
    const viaLb = await client(`http://127.0.0.1:${lb?.port}/mcp`);
    alpha.child.kill('SIGKILL');
    await alpha.exit;
    const killedAt = Date.now();
    // Still registered: nothing removed it, its TTL (3 x 2 s) runs.
    expect(await rc.exists(`${prefix}{agents}:a:alpha`)).toBe(1);
    let names = (await listed(viaLb)).map((h) => h.name);
    const stillListedAfter = Date.now() - killedAt;
    if (stillListedAfter < 4000) expect(names).toEqual(['alpha']);
    while (names.includes('alpha') && Date.now() - killedAt < 60_000) {
      await new Promise((r) => setTimeout(r, 500));
      names = (await listed(viaLb)).map((h) => h.name);
    }
    expect(names).toEqual([]);
    // The TTL, not the kill, removed it.
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(2000);
    for (const c of [await client(servingA.url), await client(servingB.url)])
      expect(await listed(c)).toEqual([]);
  });
});
