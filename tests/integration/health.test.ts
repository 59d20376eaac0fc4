import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHttp } from '../../src/runtime.js';
import { connectClient, FIXTURES, startInProcess } from '../helpers/servers.js';

let server: RunningHttp;
let client: Client;
const tree = (name: string) => ({
  HOST_PROC: `${FIXTURES}/health/${name}/proc`,
  HOST_SYS: `${FIXTURES}/health/${name}/sys`,
  HOST_ROOT: `${FIXTURES}/health/${name}/root`,
});

type Structured = Record<string, unknown> & {
  status: string;
  score: number;
  baselineId: string | null;
  findings: Array<{ id: string; severity: string }>;
  metrics: Record<string, number>;
  checks: Record<string, { state: string; notes: string[] }>;
};

async function check(args: Record<string, unknown> = {}): Promise<Structured> {
  const res = await client.callTool({ name: 'run_health_check', arguments: { cpuSampleMs: 0, ...args } });
  expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
  return res.structuredContent as Structured;
}

beforeAll(async () => {
  server = await startInProcess(tree('stressed'));
  client = await connectClient(server.url);
});

afterAll(async () => {
  await client?.close();
  await server?.shutdown('test done');
});

describe('run_health_check over MCP', () => {
  it('scores the stressed host critical, worst findings first, and saves a baseline', async () => {
    const r = await check();
    expect(r.status).toBe('critical');
    expect(r.score).toBeLessThan(50);
    expect(r.findings[0]?.severity).toBe('critical');
    expect(r.findings.map((f) => f.id)).toEqual(
      expect.arrayContaining(['processes.zombies', 'ssh.failed_logins']),
    );
    expect(r.metrics['processes.zombies']).toBe(250);
    expect(r.baselineId).toMatch(/\S+/);
    expect(r.checks.clock).toEqual({
      state: 'degraded',
      notes: ['clock: skipped: chronyc and timedatectl only query the local system, and HOST_ROOT is not /'],
    });
    expect(r.checks.resources?.state).toBe('degraded');
  });

  it('runs only the requested groups and honours threshold overrides and limit', async () => {
    const r = await check({
      checks: ['resources'],
      thresholds: { zombieProcesses: { high: 1000, critical: 5000 } },
      saveBaseline: false,
      limit: 2,
    });
    expect(r.baselineId).toBeNull();
    expect(r.checks.network).toEqual({ state: 'skipped', notes: ['not requested'] });
    expect(r.findings).toHaveLength(2);
    expect(r.truncated).toBe(true);
    // 250 zombies are below the raised limits: only "low".
    const all = await check({
      checks: ['resources'],
      thresholds: { zombieProcesses: { high: 1000, critical: 2000 } },
      saveBaseline: false,
    });
    expect(all.findings.find((f) => f.id === 'processes.zombies')?.severity).toBe('low');
  });

  it('refuses contradictory thresholds with a tool error', async () => {
    const res = await client.callTool({
      name: 'run_health_check',
      arguments: { thresholds: { diskUsedPercent: { high: 99 } } },
    });
    expect(res.isError).toBe(true);
    expect((res.content as Array<{ text: string }>)[0]?.text).toBe(
      'Invalid thresholds: diskUsedPercent: critical must be at least high',
    );
  });

  it('refuses an unknown check group and an unknown threshold name', async () => {
    const a = await client.callTool({ name: 'run_health_check', arguments: { checks: ['cpu'] } });
    expect(a.isError).toBe(true);
    const b = await client.callTool({ name: 'run_health_check', arguments: { thresholds: { diskFull: 1 } } });
    expect(b.isError).toBe(true);
    expect((b.content as Array<{ text: string }>)[0]?.text).toContain('diskFull');
  });
});

describe('compare_baselines and baseline resources over MCP', () => {
  it('compares previous and latest, and a baseline with the current state', async () => {
    const first = await check({ label: 'first' });
    const second = await check({ label: 'second' });
    const res = await client.callTool({ name: 'compare_baselines', arguments: { trendWindow: 5 } });
    expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
    const c = res.structuredContent as {
      from: { id: string; label?: string };
      to: { id: string };
      findings: { appeared: unknown[]; resolved: unknown[] };
    };
    expect(c.from.id).toBe(first.baselineId);
    expect(c.to.id).toBe(second.baselineId);
    expect(c.findings.appeared).toEqual([]);

    const now = await client.callTool({
      name: 'compare_baselines',
      arguments: { from: first.baselineId, to: 'current', onlyChanged: false, metrics: ['processes.'] },
    });
    expect(now.isError, JSON.stringify(now.content)).toBeFalsy();
    const n = now.structuredContent as {
      to: { id: string };
      metrics: Array<{ name: string; verdict: string }>;
    };
    expect(n.to.id).toBe('current');
    expect(n.metrics.find((m) => m.name === 'processes.zombies')?.verdict).toBe('unchanged');
  });

  it('answers an unknown baseline id with a tool error that says where to look', async () => {
    const res = await client.callTool({
      name: 'compare_baselines',
      arguments: { from: 'nope', to: 'latest' },
    });
    expect(res.isError).toBe(true);
    expect((res.content as Array<{ text: string }>)[0]?.text).toBe(
      'Baseline nope not found: list the saved ones with the audit://baselines resource.',
    );
  });

  it('lists baselines as resources and reads one', async () => {
    const saved = await check({ label: 'resource test' });
    const list = await client.readResource({ uri: 'audit://baselines' });
    const body = JSON.parse((list.contents[0] as { text: string }).text) as {
      baselines: Array<{ id: string }>;
    };
    expect(body.baselines[0]?.id).toBe(saved.baselineId);
    const templates = await client.listResourceTemplates();
    expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toContain('audit://baselines/{id}');
    const listed = await client.listResources();
    expect(listed.resources.map((r) => r.uri)).toContain(`audit://baselines/${saved.baselineId}`);
    const one = await client.readResource({ uri: `audit://baselines/${saved.baselineId}` });
    const b = JSON.parse((one.contents[0] as { text: string }).text) as {
      label: string;
      metrics: Record<string, number>;
    };
    expect(b.label).toBe('resource test');
    expect(b.metrics['processes.zombies']).toBe(250);
  });
});
