/**
 * Issue 19 with real processes: three agents (the built server, each with its own API keys file
 * and its own fixture host tree) on loopback ports, and a serving instance with a HOSTS_FILE.
 * A fourth registry entry points at a header-recording HTTP server, to prove which credential
 * leaves the serving instance.
 */
import { createWriteStream, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeysFile, authedClient } from '../helpers/authTestBed.js';
import { FIXTURES, type SpawnedServer, spawnServer, startInProcess } from '../helpers/servers.js';
import type { AuditRecord } from '../../src/observability/auditLog.js';
import type { RunningHttp } from '../../src/runtime.js';
import { rootWithId, threeHostTrees } from '../helpers/hostTrees.js';

interface Answer {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
}

const TREES = threeHostTrees();
type HostName = keyof typeof TREES;

const agents = {} as Record<HostName, SpawnedServer>;
const agentKeys = {} as Record<HostName, string>;
let serving: RunningHttp;
let callerKey: string;
let caller: Client;
let spy: Server;
const spyHeaders: IncomingHttpHeaders[] = [];
let hostsFile: string;
const spyKey = 'spy-agent-key-0123456789';
/** The serving instance's audit trail. */
const audited: AuditRecord[] = [];

async function call(name: string, args: Record<string, unknown>): Promise<Answer> {
  return (await caller.callTool({ name, arguments: args })) as Answer;
}

function text(a: Answer): string {
  return a.content.map((c) => c.text ?? '').join('\n');
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-'));
  // healthy and stressed keep their baselines in one store (as agents sharing Redis would), so
  // `latest`/`previous` must pick by host; raid has a store of its own.
  const sharedData = mkdtempSync(join(tmpdir(), 'fleet-data-'));
  await Promise.all(
    (Object.keys(TREES) as HostName[]).map(async (name) => {
      // Each agent accepts only its own key; the serving instance holds it in HOSTS_FILE.
      const keys = apiKeysFile({ fleet: ['audit:read', 'audit:logs'] });
      agentKeys[name] = keys.keys.fleet as string;
      writeFileSync(join(dir, `${name}.key`), `${agentKeys[name]}\n`, { mode: 0o600 });
      agents[name] = await spawnServer({
        ...TREES[name],
        AUTH_API_KEYS_FILE: keys.path,
        ...(name === 'raid' ? {} : { DATA_DIR: sharedData }),
      });
    }),
  );
  spy = createServer((req, res) => {
    spyHeaders.push(req.headers);
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_token"}');
  });
  await new Promise<void>((r) => spy.listen(0, '127.0.0.1', r));
  const spyUrl = `http://127.0.0.1:${(spy.address() as AddressInfo).port}/mcp`;
  process.env.FLEET_TEST_SPY_KEY = spyKey;
  hostsFile = join(dir, 'hosts.yaml');
  writeFileSync(
    hostsFile,
    [
      'hosts:',
      ...(Object.keys(TREES) as HostName[]).flatMap((n) => [
        `  - name: ${n}`,
        `    url: ${agents[n].url}`,
        `    apiKeyFile: ${join(dir, `${n}.key`)}`,
        `    labels: {role: ${n === 'raid' ? 'db' : 'web'}, env: test}`,
      ]),
      '  - name: spy',
      `    url: ${spyUrl}`,
      '    apiKeyEnv: FLEET_TEST_SPY_KEY',
      '    labels: {role: spy}',
    ].join('\n'),
  );
  const callerKeys = apiKeysFile({ operator: ['audit:read', 'audit:logs'] });
  callerKey = callerKeys.keys.operator as string;
  serving = await startInProcess(
    {
      HOSTS_FILE: hostsFile,
      FLEET_TEST_SPY_KEY: spyKey,
      AUTH_API_KEYS_FILE: callerKeys.path,
      // Small numbers so a dead agent trips its breaker within the test.
      RETRY_COUNT: '1',
      RETRY_MIN_MS: '50',
      RETRY_MAX_MS: '100',
      BREAKER_VOLUME: '2',
      BREAKER_ERROR_PERCENT: '50',
      BREAKER_RESET_MS: '600000',
      TOOL_DEADLINE_SECONDS: '30',
    },
    { audit: (r) => audited.push(r) },
  );
  caller = await authedClient(serving.url, callerKey);
}, 120_000);

afterAll(async () => {
  await caller?.close();
  await serving?.shutdown('test done');
  for (const a of Object.values(agents)) if (a.child.exitCode === null) a.child.kill();
  await Promise.all(Object.values(agents).map((a) => a.exit));
  spy?.close();
  delete process.env.FLEET_TEST_SPY_KEY;
});

describe('host registry and forwarding (issue 19)', () => {
  it('run_health_check {host} returns each host its own findings and hostId', async () => {
    const ids = new Set<string>();
    const byHost: Record<string, Answer> = {};
    for (const name of Object.keys(TREES) as HostName[]) {
      const a = await call('run_health_check', { host: name, saveBaseline: false, cpuSampleMs: 0 });
      expect(a.isError, text(a)).toBeFalsy();
      expect(text(a)).toContain(`[host ${name}]`);
      byHost[name] = a;
      ids.add(a.structuredContent?.hostId as string);
    }
    expect(ids).toEqual(
      new Set([
        '11111111111111111111111111111111',
        '22222222222222222222222222222222',
        '33333333333333333333333333333333',
      ]),
    );
    const findingIds = (a: Answer) =>
      (a.structuredContent?.findings as Array<{ id: string }>).map((f) => f.id);
    expect(byHost.stressed?.structuredContent?.status).toBe('critical');
    expect(findingIds(byHost.stressed!)).toEqual(
      expect.arrayContaining(['memory.oom_kills', 'processes.zombies']),
    );
    // node_exporter's md arrays (md9, md11 with failed members) are only on the raid host.
    expect(findingIds(byHost.raid!).some((id) => id.startsWith('raid.failed_device:'))).toBe(true);
    for (const other of [byHost.healthy!, byHost.stressed!])
      expect(findingIds(other).some((id) => id.startsWith('raid.failed_device:'))).toBe(false);
    expect(findingIds(byHost.healthy!)).not.toContain('memory.oom_kills');
    expect(byHost.healthy!.structuredContent?.score as number).toBeGreaterThan(
      byHost.stressed!.structuredContent?.score as number,
    );
  });

  it('host tools list the host argument; an omitted host with several hosts names them', async () => {
    const { tools } = await caller.listTools();
    for (const name of ['detect_system', 'run_health_check', 'scan_secrets', 'analyze_bots']) {
      const t = tools.find((x) => x.name === name);
      expect(Object.keys((t?.inputSchema as { properties: object }).properties)).toContain('host');
    }
    expect(
      Object.keys(
        (tools.find((x) => x.name === 'list_hosts')?.inputSchema as { properties: object }).properties,
      ),
    ).not.toContain('host');
    const a = await call('detect_system', {});
    expect(a.isError).toBe(true);
    expect(text(a)).toMatch(/several hosts.*healthy, stressed, raid, spy/);
  });

  it('refuses a host outside the registry, addresses included', async () => {
    for (const host of ['web9', '127.0.0.1', agents.healthy.url]) {
      const a = await call('detect_system', { host });
      expect(a.isError).toBe(true);
      expect(text(a)).toMatch(/Unknown host|too_big|at most|Invalid/i);
    }
    const a = await call('detect_system', { host: '127.0.0.1' });
    expect(text(a)).toContain('must be a name from HOSTS_FILE');
  });

  it("an agent refuses calls without its key; the caller's token never reaches an agent", async () => {
    const anon = new Client(
      { name: 'no-key', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    const attempt = (async () => {
      await anon.connect(new StreamableHTTPClientTransport(new URL(agents.healthy.url)));
      return anon.callTool({ name: 'detect_system', arguments: {} });
    })();
    await expect(attempt).rejects.toThrow(/401|nauthori/);
    await anon.close().catch(() => undefined);
    // The caller's own key is not an agent key either.
    const wrong = new Client(
      { name: 'caller-key', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    const attempt2 = (async () => {
      await wrong.connect(
        new StreamableHTTPClientTransport(new URL(agents.healthy.url), {
          requestInit: { headers: { Authorization: `Bearer ${callerKey}` } },
        }),
      );
      return wrong.callTool({ name: 'detect_system', arguments: {} });
    })();
    await expect(attempt2).rejects.toThrow(/401|nauthori/);
    await wrong.close().catch(() => undefined);

    spyHeaders.length = 0;
    const a = await call('detect_system', { host: 'spy' });
    expect(a.isError).toBe(true);
    expect(text(a)).toContain('host spy: agent unreachable');
    expect(spyHeaders.length).toBeGreaterThan(0);
    for (const h of spyHeaders) {
      expect(h.authorization).toBe(`Bearer ${spyKey}`);
      expect(JSON.stringify(h)).not.toContain(callerKey);
    }
  });

  it('list_hosts shows the registry with labels and what is known of each agent', async () => {
    const a = await call('list_hosts', { labels: { role: 'web' } });
    expect(a.isError, text(a)).toBeFalsy();
    const hosts = a.structuredContent?.hosts as Array<Record<string, unknown>>;
    expect(hosts.map((h) => h.name).sort()).toEqual(['healthy', 'stressed']);
    for (const h of hosts) {
      expect(h.lastContact).toEqual(expect.any(String));
      expect(h.agentVersion).toEqual(expect.any(String));
      expect(h.breaker).toBe('closed');
      expect(JSON.stringify(h)).not.toContain(agentKeys.healthy);
    }
    expect(hosts.find((h) => h.name === 'stressed')?.lastHealth).toMatchObject({ status: 'critical' });
  });

  it('fleet_health ranks hosts worst first, unreachable ones as findings', async () => {
    const a = await call('fleet_health', { labels: { env: 'test' }, cpuSampleMs: 0 });
    expect(a.isError, text(a)).toBeFalsy();
    const s = a.structuredContent as {
      hosts: Array<{ host: string; status: string; score: number | null; topFindings: unknown[] }>;
      partial: boolean;
    };
    expect(s.partial).toBe(false);
    expect(s.hosts.map((h) => h.host)).toHaveLength(3);
    // Both troubled hosts are critical (OOM kills and zombies; failed RAID members), ranked by
    // score among themselves; the healthy one comes last.
    expect(
      s.hosts
        .slice(0, 2)
        .map((h) => h.host)
        .sort(),
    ).toEqual(['raid', 'stressed']);
    expect(s.hosts.slice(0, 2).map((h) => h.status)).toEqual(['critical', 'critical']);
    expect(s.hosts.at(-1)?.host).toBe('healthy');
    expect(s.hosts.at(-1)?.status).not.toBe('critical');
    const scores = s.hosts.map((h) => h.score as number);
    expect(scores[0]).toBeLessThanOrEqual(scores[1] as number);
    expect(scores[1]).toBeLessThan(scores[2] as number);
    expect(s.hosts[0]?.topFindings.length).toBeGreaterThan(0);
    // The stressed tree's retransmits (6.2 % against 0.05 % and 0 %), per-core load and zombies
    // stand out from the other two agents' figures; nothing of the healthy host does.
    const outliers = (
      a.structuredContent as {
        outliers: Array<{ host: string; metric: string; value: number; median: number; deviations: number }>;
      }
    ).outliers;
    const named = outliers.map((o) => `${o.host} ${o.metric}`);
    expect(named).toEqual(
      expect.arrayContaining([
        'stressed tcp.retrans_percent',
        'stressed load.per_core.5',
        'stressed processes.zombies',
      ]),
    );
    expect(outliers.filter((o) => o.host === 'healthy')).toEqual([]);
    const retrans = outliers.find((o) => o.metric === 'tcp.retrans_percent')!;
    expect(retrans.value).toBeGreaterThan(10 * retrans.median);
    expect(retrans.deviations).toBeGreaterThanOrEqual(3.5);
    expect(text(a)).toMatch(/Outliers: stressed /);
    // Two hosts are no fleet to compare against.
    const two = await call('fleet_health', { labels: { role: 'web' }, cpuSampleMs: 0 });
    expect((two.structuredContent as { hosts: unknown[] }).hosts).toHaveLength(2);
    expect((two.structuredContent as { outliers: unknown[] }).outliers).toEqual([]);

    const all = await call('fleet_health', { cpuSampleMs: 0 });
    const t = all.structuredContent as {
      hosts: Array<{ host: string; status: string }>;
      findings: Array<{ id: string }>;
    };
    expect(t.hosts.find((h) => h.host === 'spy')?.status).toBe('unreachable');
    expect(t.findings.map((f) => f.id)).toContain('fleet.host_unreachable:spy');
  });

  it('baselines are per host: latest/previous never interleave hosts sharing a store', async () => {
    const save = async (host: HostName) => {
      const a = await call('run_health_check', { host, saveBaseline: true, cpuSampleMs: 0 });
      expect(a.isError, text(a)).toBeFalsy();
      const id = a.structuredContent?.baselineId as string;
      expect(id).toEqual(expect.any(String));
      return id;
    };
    // Interleaved saves of two hosts into one store.
    const h1 = await save('healthy');
    const s1 = await save('stressed');
    const h2 = await save('healthy');
    const s2 = await save('stressed');
    type Cmp = { from: { id: string; hostId: string }; to: { id: string; hostId: string } };
    const healthy = await call('compare_baselines', { host: 'healthy' });
    expect(healthy.isError, text(healthy)).toBeFalsy();
    expect(healthy.structuredContent as Cmp).toMatchObject({
      from: { id: h1, hostId: '11111111111111111111111111111111' },
      to: { id: h2, hostId: '11111111111111111111111111111111' },
    });
    const stressed = await call('compare_baselines', { host: 'stressed' });
    expect(stressed.structuredContent as Cmp).toMatchObject({
      from: { id: s1, hostId: '22222222222222222222222222222222' },
      to: { id: s2, hostId: '22222222222222222222222222222222' },
    });
    // Another host's baseline by id (the store is shared): refused unless allowCrossHost.
    const refused = await call('compare_baselines', { host: 'healthy', from: s2, to: 'latest' });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/different hosts is refused; set allowCrossHost/);
    const allowed = await call('compare_baselines', {
      host: 'healthy',
      from: s2,
      to: 'latest',
      allowCrossHost: true,
    });
    expect(allowed.isError, text(allowed)).toBeFalsy();
    expect((allowed.structuredContent as Cmp).from.hostId).toBe('22222222222222222222222222222222');
    expect((allowed.structuredContent as Cmp).to.id).toBe(h2);
    const resolved = (allowed.structuredContent?.findings as { resolved: Array<{ id: string }> }).resolved;
    expect(resolved.map((f) => f.id)).toContain('memory.oom_kills');
  });

  it('fromHost compares two agents each with its own store, only with allowCrossHost', async () => {
    const saved = await call('run_health_check', { host: 'raid', saveBaseline: true, cpuSampleMs: 0 });
    const raidId = saved.structuredContent?.baselineId as string;
    expect(raidId).toEqual(expect.any(String));
    // raid's agent has its own DATA_DIR: healthy's agent cannot see that baseline at all.
    const unseen = await call('compare_baselines', { host: 'healthy', from: raidId, allowCrossHost: true });
    expect(unseen.isError).toBe(true);
    expect(text(unseen)).toContain('not found');

    const refused = await call('compare_baselines', { host: 'healthy', fromHost: 'raid', from: 'latest' });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/"from" is on raid and "to" on healthy.*allowCrossHost: true/);
    type Cmp = { from: { id: string; hostId: string }; to: { id: string; hostId: string } };
    const across = await call('compare_baselines', {
      host: 'healthy',
      fromHost: 'raid',
      from: 'latest',
      to: 'latest',
      allowCrossHost: true,
    });
    expect(across.isError, text(across)).toBeFalsy();
    expect(text(across)).toContain('[raid -> healthy]');
    const c = across.structuredContent as Cmp & { findings: { resolved: Array<{ id: string }> } };
    expect(c.from).toMatchObject({ id: raidId, hostId: '33333333333333333333333333333333' });
    expect(c.to.hostId).toBe('11111111111111111111111111111111');
    expect(c.findings.resolved.some((f) => f.id.startsWith('raid.failed_device:'))).toBe(true);

    // "current" on the other host: a fresh check there, not saved.
    const current = await call('compare_baselines', {
      host: 'raid',
      fromHost: 'stressed',
      from: 'current',
      to: 'latest',
      allowCrossHost: true,
    });
    expect(current.isError, text(current)).toBeFalsy();
    expect((current.structuredContent as Cmp).from).toMatchObject({
      id: 'current',
      hostId: '22222222222222222222222222222222',
    });
    expect((current.structuredContent as Cmp).to.id).toBe(raidId);

    // Same host named twice: an ordinary comparison; an unknown host: the registry's names.
    const same = await call('compare_baselines', { host: 'healthy', fromHost: 'healthy' });
    expect(same.isError, text(same)).toBeFalsy();
    const unknown = await call('compare_baselines', {
      host: 'healthy',
      fromHost: 'web9',
      allowCrossHost: true,
    });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toContain('Unknown host "web9"');
  });

  it('the audit trail records caller, host and tool for forwarded calls', async () => {
    audited.length = 0;
    await call('detect_system', { host: 'stressed' });
    await call('list_hosts', {});
    const forwarded = audited.find((r) => r.tool === 'detect_system');
    expect(forwarded).toMatchObject({ host: 'stressed', outcome: 'ok' });
    expect(forwarded?.principal).toMatch(/operator/);
    expect(audited.find((r) => r.tool === 'list_hosts')).not.toHaveProperty('host');
  });

  it('a killed agent trips its breaker; fleet_health answers promptly with it unreachable', async () => {
    agents.raid.child.kill('SIGKILL');
    await agents.raid.exit;
    // Failures count against earlier successes in the breaker's rolling window: a few calls open it.
    let row: Record<string, unknown> | undefined;
    for (let i = 0; i < 10 && row?.breaker !== 'open'; i++) {
      const a = await call('detect_system', { host: 'raid' });
      expect(a.isError).toBe(true);
      const listed = await call('list_hosts', { labels: { role: 'db' } });
      row = (listed.structuredContent?.hosts as Array<Record<string, unknown>>)[0];
    }
    expect(row?.breaker).toBe('open');
    expect(String(row?.lastError)).toMatch(/ECONNREFUSED|fetch failed|paused/);

    const t0 = Date.now();
    const a = await call('fleet_health', { labels: { env: 'test' }, cpuSampleMs: 0 });
    const elapsed = Date.now() - t0;
    const s = a.structuredContent as { hosts: Array<{ host: string; status: string; error: string | null }> };
    expect(s.hosts.find((h) => h.host === 'raid')).toMatchObject({ status: 'unreachable' });
    expect(s.hosts.find((h) => h.host === 'raid')?.error).toMatch(/paused/);
    expect(s.hosts.filter((h) => h.status !== 'unreachable')).toHaveLength(2);
    // The open breaker fails fast: far below the 30 s deadline even on a loaded machine.
    expect(elapsed).toBeLessThan(15_000);
  });

  it('fleet_health answers at the deadline with partial: true when an agent hangs', async () => {
    // An "agent" that accepts the request and never answers, beside a real one.
    const hung = createServer(() => undefined);
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const dir = mkdtempSync(join(tmpdir(), 'fleet-partial-'));
    const file = join(dir, 'hosts.yaml');
    writeFileSync(
      file,
      [
        'hosts:',
        '  - name: healthy',
        `    url: ${agents.healthy.url}`,
        '    apiKeyEnv: HEALTHY_KEY',
        '  - name: hung',
        `    url: http://127.0.0.1:${(hung.address() as AddressInfo).port}/mcp`,
        '    apiKeyEnv: HEALTHY_KEY',
      ].join('\n'),
    );
    const keys = apiKeysFile({ operator: ['audit:read'] });
    const second = await startInProcess({
      HOSTS_FILE: file,
      HEALTHY_KEY: agentKeys.healthy,
      AUTH_API_KEYS_FILE: keys.path,
      // Generous: the healthy agent must finish its check well within it on a busy machine.
      TOOL_DEADLINE_SECONDS: '15',
    });
    const client = await authedClient(second.url, keys.keys.operator as string);
    try {
      const t0 = Date.now();
      const a = (await client.callTool({ name: 'fleet_health', arguments: { cpuSampleMs: 0 } })) as Answer;
      const elapsed = Date.now() - t0;
      expect(a.isError, text(a)).toBeFalsy();
      const s = a.structuredContent as {
        partial: boolean;
        notChecked: string[];
        hosts: Array<{ host: string }>;
      };
      expect(s.partial).toBe(true);
      expect(s.notChecked).toEqual(['hung']);
      expect(s.hosts.map((h) => h.host)).toEqual(['healthy']);
      expect(elapsed).toBeGreaterThanOrEqual(14_000);
      expect(elapsed).toBeLessThan(120_000);
    } finally {
      await client.close();
      await second.shutdown('test done');
      hung.closeAllConnections();
      hung.close();
    }
  });

  it('an agent restarted on its port is called again once its breaker lets a trial call through', async () => {
    const keys = apiKeysFile({ fleet: ['audit:read'] });
    const env = { ...TREES.healthy, AUTH_API_KEYS_FILE: keys.path };
    let agent = await spawnServer(env);
    const url = agent.url;
    const dir = mkdtempSync(join(tmpdir(), 'fleet-recover-'));
    const file = join(dir, 'hosts.yaml');
    writeFileSync(
      file,
      [
        'hosts:',
        '  - name: phoenix',
        `    url: ${url}`,
        '    apiKeyEnv: PHOENIX_KEY',
        '  - name: healthy',
        `    url: ${agents.healthy.url}`,
        '    apiKeyEnv: HEALTHY_KEY',
      ].join('\n'),
    );
    const callerKeys = apiKeysFile({ operator: ['audit:read'] });
    const second = await startInProcess({
      HOSTS_FILE: file,
      PHOENIX_KEY: keys.keys.fleet as string,
      HEALTHY_KEY: agentKeys.healthy,
      AUTH_API_KEYS_FILE: callerKeys.path,
      RETRY_COUNT: '1',
      RETRY_MIN_MS: '50',
      RETRY_MAX_MS: '100',
      BREAKER_VOLUME: '2',
      BREAKER_ERROR_PERCENT: '50',
      // Short, so the open breaker lets a trial call through within the test.
      BREAKER_RESET_MS: '2000',
      TOOL_DEADLINE_SECONDS: '30',
    });
    const client = await authedClient(second.url, callerKeys.keys.operator as string);
    const detect = async () =>
      (await client.callTool({ name: 'detect_system', arguments: { host: 'phoenix' } })) as Answer;
    const row = async () =>
      (
        (await client.callTool({ name: 'list_hosts', arguments: {} })).structuredContent as {
          hosts: Array<Record<string, unknown>>;
        }
      ).hosts.find((h) => h.name === 'phoenix');
    try {
      const before = await detect();
      expect(before.isError, text(before)).toBeFalsy();
      agent.child.kill('SIGKILL');
      await agent.exit;
      let seen: Record<string, unknown> | undefined;
      for (let i = 0; i < 10 && seen?.breaker !== 'open'; i++) {
        expect((await detect()).isError).toBe(true);
        seen = await row();
      }
      expect(seen?.breaker).toBe('open');

      // The same agent back on the same address.
      agent = await spawnServer({ ...env, PORT: new URL(url).port });
      expect(agent.url).toBe(url);
      let back: Answer | undefined;
      const until = Date.now() + 60_000;
      while (Date.now() < until) {
        const a = await detect();
        if (!a.isError) {
          back = a;
          break;
        }
        // Before the reset the breaker answers at once ("paused"); never a hang.
        expect(text(a)).toMatch(/paused|unreachable/);
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(back, 'the restarted agent answered through the serving instance').toBeDefined();
      expect(text(back!)).toContain('[host phoenix]');
      const after = await row();
      expect(after).toMatchObject({ breaker: 'closed', lastError: null });
      const check = (await client.callTool({
        name: 'run_health_check',
        arguments: { host: 'phoenix', saveBaseline: false, cpuSampleMs: 0 },
      })) as Answer;
      expect(check.isError, text(check)).toBeFalsy();
      expect(check.structuredContent?.hostId).toBe('11111111111111111111111111111111');
    } finally {
      await client.close();
      await second.shutdown('test done');
      if (agent.child.exitCode === null) agent.child.kill();
      await agent.exit;
    }
  }, 120_000);

  it('cancelling a forwarded call cancels it on the agent: the agent-side handler stops', async () => {
    // A large access log on the agent (under its HOST_ROOT): analyze_bots takes seconds over it.
    const root = rootWithId(join(FIXTURES, 'health', 'healthy', 'root'), '44444444444444444444444444444444');
    const logDir = join(root, 'var', 'log', 'fleetbig');
    mkdirSync(logDir, { recursive: true });
    const logFile = join(logDir, 'access.log');
    const chunk = Array.from(
      { length: 10_000 },
      (_, i) =>
        `10.${(i >> 8) & 255}.${i & 255}.7 - - [06/Dec/2026:01:00:${String(i % 60).padStart(2, '0')} +0000] ` +
        `"GET /page/${i % 500}?q=${i} HTTP/1.1" 200 ${1000 + i} "-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"\n`,
    ).join('');
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(logFile);
      out.on('error', reject);
      let n = 0;
      const more = () => {
        while (n < 150) {
          n++;
          if (!out.write(chunk)) return void out.once('drain', more);
        }
        out.end(resolve);
      };
      more();
    });
    const keys = apiKeysFile({ fleet: ['audit:read', 'audit:logs'] });
    const agent = await spawnServer({
      ...TREES.healthy,
      HOST_ROOT: root,
      AUTH_API_KEYS_FILE: keys.path,
      AUDIT_ALLOWED_PATHS: '/var/log/fleetbig',
    });
    let agentOut = '';
    agent.child.stdout?.on('data', (d) => (agentOut += String(d)));
    const agentLines = () =>
      agentOut
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const dir = mkdtempSync(join(tmpdir(), 'fleet-cancel-'));
    const file = join(dir, 'hosts.yaml');
    writeFileSync(
      file,
      ['hosts:', '  - name: slow', `    url: ${agent.url}`, '    apiKeyEnv: SLOW_KEY'].join('\n'),
    );
    const callerKeys = apiKeysFile({ operator: ['audit:read', 'audit:logs'] });
    const second = await startInProcess({
      HOSTS_FILE: file,
      SLOW_KEY: keys.keys.fleet as string,
      AUTH_API_KEYS_FILE: callerKeys.path,
      TOOL_DEADLINE_SECONDS: '300',
    });
    const client = await authedClient(second.url, callerKeys.keys.operator as string);
    try {
      const ac = new AbortController();
      const pending = client.callTool(
        { name: 'analyze_bots', arguments: { host: 'slow', paths: ['/var/log/fleetbig/access.log'] } },
        { signal: ac.signal, timeout: 300_000 },
      );
      setTimeout(() => ac.abort(new Error('operator cancelled')), 2000);
      await expect(pending).rejects.toThrow(/cancelled/);
      // The agent's own records: the handler saw the abort and stopped (a refusal, not a result),
      // and its audit trail has the call as cancelled.
      const until = Date.now() + 60_000;
      let ended: Record<string, unknown> | undefined;
      while (!ended && Date.now() < until) {
        ended = agentLines().find((l) => l.tool === 'analyze_bots' && l.msg === 'tool call refused');
        if (!ended) await new Promise((r) => setTimeout(r, 200));
      }
      expect(ended, agentOut.slice(-2000)).toBeDefined();
      expect(String(ended?.err)).toContain('Cancelled');
      const records = agentLines().filter((l) => l.log === 'audit' && l.tool === 'analyze_bots');
      expect(records.map((r) => r.outcome)).toEqual(['cancelled']);
    } finally {
      await client.close();
      await second.shutdown('test done');
      agent.child.kill();
      await agent.exit;
    }
  }, 180_000);
});
