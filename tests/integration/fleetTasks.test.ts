/**
 * fleet_health as a task (issues 19 and 20) with real processes: three agents (the built server,
 * each with its own key and fixture host tree) and a serving instance with a HOSTS_FILE. Each
 * agent's health check samples the CPU for seconds (`cpuSampleMs`), longer than the serving
 * instance's TOOL_DEADLINE_SECONDS: a plain call answers partial, a task (2026-07-28 client
 * declaring the tasks extension) runs to the end under TASK_DEADLINE_SECONDS, and a cancelled
 * task cancels the calls in flight on the agents.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/observability/auditLog.js';
import type { RunningHttp } from '../../src/runtime.js';
import { apiKeysFile } from '../helpers/authTestBed.js';
import { freePort, requirePeer, startRedis } from '../helpers/peers.js';
import { connectClient, type SpawnedServer, spawnServer, startInProcess } from '../helpers/servers.js';
import { cancelTask, getTask, pollTask, rawCall, settled, startTask, tasksClient } from '../helpers/tasks.js';
import { threeHostTrees } from '../helpers/hostTrees.js';

const TREES = threeHostTrees();
type HostName = keyof typeof TREES;
const NAMES = Object.keys(TREES) as HostName[];

const agents = {} as Record<HostName, SpawnedServer>;
/** Each agent's stdout: its JSON log lines, audit records included. */
const agentOut = {} as Record<HostName, string>;
let serving: RunningHttp;
let callerKey: string;
const audited: AuditRecord[] = [];

function agentAudit(name: HostName, from = 0): Array<Record<string, unknown>> {
  return agentOut[name]
    .slice(from)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.log === 'audit');
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-task-'));
  await Promise.all(
    NAMES.map(async (name) => {
      const keys = apiKeysFile({ fleet: ['audit:read'] });
      writeFileSync(join(dir, `${name}.key`), `${keys.keys.fleet}\n`, { mode: 0o600 });
      agents[name] = await spawnServer({ ...TREES[name], AUTH_API_KEYS_FILE: keys.path });
      agentOut[name] = '';
      agents[name].child.stdout?.on('data', (d) => (agentOut[name] += String(d)));
    }),
  );
  const hostsFile = join(dir, 'hosts.yaml');
  writeFileSync(
    hostsFile,
    [
      'hosts:',
      ...NAMES.flatMap((n) => [
        `  - name: ${n}`,
        `    url: ${agents[n].url}`,
        `    apiKeyFile: ${join(dir, `${n}.key`)}`,
        '    labels: {env: test}',
      ]),
    ].join('\n'),
  );
  const callerKeys = apiKeysFile({ operator: ['audit:read'] });
  callerKey = callerKeys.keys.operator as string;
  serving = await startInProcess(
    {
      HOSTS_FILE: hostsFile,
      AUTH_API_KEYS_FILE: callerKeys.path,
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_BURST: '0',
      // Shorter than one agent's health check (cpuSampleMs below): a plain call cannot finish.
      TOOL_DEADLINE_SECONDS: '2',
      TASK_DEADLINE_SECONDS: '300',
      TASK_HEARTBEAT_SECONDS: '1',
    },
    { audit: (r) => audited.push(r) },
  );
}, 120_000);

afterAll(async () => {
  await serving?.shutdown('test done');
  for (const a of Object.values(agents)) if (a.child.exitCode === null) a.child.kill();
  await Promise.all(Object.values(agents).map((a) => a.exit));
});

describe('fleet_health as a task', () => {
  it('is offered as a task (2025-11-25 tools/list: execution.taskSupport)', async () => {
    const client = new Client({ name: 'legacy-list', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(serving.url), {
        requestInit: { headers: { authorization: `Bearer ${callerKey}` } },
      }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.find((t) => t.name === 'fleet_health')?.execution).toEqual({ taskSupport: 'optional' });
    } finally {
      await client.close();
    }
  });

  it('a plain call stops at TOOL_DEADLINE_SECONDS; the task runs to the end, counting hosts, and ranks them', async () => {
    const args = { cpuSampleMs: 2500, concurrency: 1 };
    const plain = await rawCall(serving.url, 'fleet_health', args, { credential: callerKey, tasks: false });
    const sync = plain.result?.structuredContent as { partial: boolean; notChecked: string[] };
    expect(sync.partial, JSON.stringify(plain).slice(0, 500)).toBe(true);
    expect(sync.notChecked.length).toBeGreaterThan(0);

    const created = await startTask(serving.url, 'fleet_health', args, callerKey);
    expect(created).toMatchObject({ resultType: 'task', status: 'working' });
    const client = await tasksClient(serving.url, callerKey);
    const messages = new Set<string>();
    try {
      const done = await pollTask(
        client,
        created.taskId,
        (t) => {
          if (t.status === 'working' && t.statusMessage) messages.add(t.statusMessage);
          return settled(t);
        },
        180_000,
        200,
      );
      expect(done.status, JSON.stringify(done).slice(0, 800)).toBe('completed');
      // One host at a time, each taking seconds: the count moved while it ran.
      expect(
        [...messages].some((m) => /^[12] of 3 hosts checked \(\d+%\)$/.test(m)),
        [...messages].join(' | '),
      ).toBe(true);
      const result = done.result as {
        isError?: boolean;
        content: Array<{ text: string }>;
        structuredContent: {
          hosts: Array<{ host: string; status: string; score: number; hostId: string }>;
          partial: boolean;
          notChecked: string[];
        };
      };
      expect(result.isError).toBeFalsy();
      const s = result.structuredContent;
      expect(s.partial).toBe(false);
      expect(s.notChecked).toEqual([]);
      // Worst first: the two troubled hosts (OOM kills and zombies; failed RAID members) are
      // critical, ordered by score, and the healthy one comes last.
      expect(
        s.hosts
          .map((h) => h.host)
          .slice(0, 2)
          .sort(),
      ).toEqual(['raid', 'stressed']);
      expect(s.hosts.slice(0, 2).map((h) => h.status)).toEqual(['critical', 'critical']);
      expect(s.hosts[0]!.score).toBeLessThanOrEqual(s.hosts[1]!.score);
      expect(s.hosts[2]).toMatchObject({ host: 'healthy', hostId: '11111111111111111111111111111111' });
      expect(s.hosts[2]!.status).not.toBe('critical');
      expect(s.hosts[1]!.score).toBeLessThan(s.hosts[2]!.score);
      expect(result.content[0]?.text).toMatch(/^3 host\(s\): 2 critical/);
    } finally {
      await client.close();
    }
    // One audit record for the task, written when it settled.
    expect(audited.filter((r) => r.task === created.taskId)).toMatchObject([
      { outcome: 'ok', tool: 'fleet_health' },
    ]);
  }, 240_000);

  it('cancelling the task settles it cancelled and cancels the health checks in flight on the agents', async () => {
    const marks = Object.fromEntries(NAMES.map((n) => [n, agentOut[n].length])) as Record<HostName, number>;
    // Long enough that every check still runs when the cancel comes, even on a busy machine.
    const created = await startTask(serving.url, 'fleet_health', { cpuSampleMs: 5000 }, callerKey);
    const client = await tasksClient(serving.url, callerKey);
    try {
      // The count is reported as the calls go out to the agents; give them a moment to arrive.
      const started = await pollTask(
        client,
        created.taskId,
        (t) => /hosts checked/.test(t.statusMessage ?? ''),
        30_000,
        100,
      );
      expect(started.statusMessage).toMatch(/^0 of 3 hosts checked/);
      await new Promise((r) => setTimeout(r, 1500));
      const before = await getTask(client, created.taskId);
      expect(before.status).toBe('working');
      await cancelTask(client, created.taskId);
      const after = await pollTask(client, created.taskId, settled, 30_000);
      expect(after.status).toBe('cancelled');
      // Still cancelled later: the runner's end does not overwrite it.
      await new Promise((r) => setTimeout(r, 1500));
      expect((await getTask(client, created.taskId)).status).toBe('cancelled');
    } finally {
      await client.close();
    }
    // Each agent's own audit trail: its run_health_check ended as cancelled, not as an answer.
    const deadline = Date.now() + 60_000;
    const outcomes = () =>
      NAMES.map((n) =>
        agentAudit(n, marks[n])
          .filter((r) => r.tool === 'run_health_check')
          .map((r) => r.outcome),
      );
    while (outcomes().some((o) => o.length === 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(
      outcomes(),
      NAMES.map((n) => agentOut[n].slice(marks[n]))
        .join('\n')
        .slice(-3000),
    ).toEqual([['cancelled'], ['cancelled'], ['cancelled']]);
  }, 180_000);
});

describe('fleet_health without hosts', () => {
  const haveRedis = requirePeer('redis-server', 'redis-server');

  const fleetHealthError = async (url: string) => {
    const client = await connectClient(url);
    try {
      const a = (await client.callTool({ name: 'fleet_health', arguments: {} })) as {
        isError?: boolean;
        content: Array<{ text?: string }>;
      };
      expect(a.isError).toBe(true);
      return a.content.map((c) => c.text ?? '').join('\n');
    } finally {
      await client.close();
    }
  };

  it('with no registry, names both sources of hosts and their settings', async () => {
    const server = await startInProcess({});
    try {
      const text = await fleetHealthError(server.url);
      expect(text).toContain('HOSTS_FILE');
      expect(text).toContain('FLEET_AGENT_KEY_FILE');
      expect(text).toMatch(/register themselves in Redis \(AGENT_NAME, AGENT_URL/);
    } finally {
      await server.shutdown('test done');
    }
  });

  it.skipIf(!haveRedis)(
    'with a fleet agent key but no agent yet, says so; an agent named from its node (AGENT_NODE_NAME) is then checked',
    async () => {
      const redis = await startRedis();
      const prefix = `ftask${Date.now()}:`;
      const keys = apiKeysFile({ fleet: ['audit:read'] });
      const server = await startInProcess({
        REDIS_URL: redis.url,
        REDIS_PREFIX: prefix,
        RATE_LIMIT_PER_MINUTE: '0',
        RATE_LIMIT_BURST: '0',
        FLEET_AGENT_KEY: keys.keys.fleet as string,
        // Far beyond the test: only a read at call time can find the agent.
        FLEET_AGENTS_REFRESH_SECONDS: '300',
      });
      let agent: SpawnedServer | undefined;
      try {
        const text = await fleetHealthError(server.url);
        expect(text).toMatch(/No hosts yet: .*no agent has registered in Redis/);

        // As the Kubernetes self-register component starts it: the node name has dots.
        const port = await freePort();
        agent = await spawnServer({
          ...TREES.stressed,
          PORT: String(port),
          REDIS_URL: redis.url,
          REDIS_PREFIX: prefix,
          RATE_LIMIT_PER_MINUTE: '0',
          RATE_LIMIT_BURST: '0',
          AUTH_API_KEYS_FILE: keys.path,
          AGENT_NODE_NAME: 'ip-10-0-1-5.ec2.internal',
          AGENT_URL: `http://127.0.0.1:${port}/mcp`,
          AGENT_LABELS: 'role=node',
        });
        const client = await connectClient(server.url);
        try {
          // Once it listens the agent registers under the derived name (read here from Redis);
          // fleet_health then reads Redis afresh instead of waiting for the periodic re-read.
          const rc = new Redis(redis.url);
          try {
            const key = `${prefix}{agents}:a:ip-10-0-1-5-ec2-internal`;
            const until = Date.now() + 30_000;
            while (!(await rc.exists(key)) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
            expect(await rc.exists(key)).toBe(1);
          } finally {
            rc.disconnect();
          }
          const a = (await client.callTool({
            name: 'fleet_health',
            arguments: { labels: { role: 'node' }, cpuSampleMs: 0 },
          })) as {
            isError?: boolean;
            content: Array<{ text?: string }>;
            structuredContent?: Record<string, unknown>;
          };
          expect(a.isError, JSON.stringify(a.content)).toBeFalsy();
          expect((a.structuredContent as { hosts: unknown[] }).hosts).toEqual([
            expect.objectContaining({
              host: 'ip-10-0-1-5-ec2-internal',
              status: 'critical',
              hostId: '22222222222222222222222222222222',
            }),
          ]);
        } finally {
          await client.close();
        }
      } finally {
        if (agent && agent.child.exitCode === null) agent.child.kill();
        await agent?.exit;
        await server.shutdown('test done');
        await redis.stop();
      }
    },
    120_000,
  );
});
