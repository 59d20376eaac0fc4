#!/usr/bin/env node
// Issue 19: fleet_health over BENCH_AGENTS (50) agents on loopback (healthy fixture tree, all
// agents in one child process unless BENCH_AGENT_PROCS says more), through a serving instance (dist/server.js) with a HOSTS_FILE;
// and the cost of forwarding: run_health_check {host} through the serving instance against the
// same call made directly to the agent. Needs `npm run build` first.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { generateApiKey } from '../dist/auth/apiKeys.js';

const N = Number(process.env.BENCH_AGENTS ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ITER = Number(process.env.BENCH_ITERATIONS ?? 50);
const root = join(import.meta.dirname, '..');
const tree = join(root, 'tests', 'fixtures', 'health', 'healthy');
const dir = mkdtempSync(join(tmpdir(), 'bench-fleet-'));

const agentKey = generateApiKey('fleet', ['audit:read', 'audit:logs']);
const callerKey = generateApiKey('operator', ['audit:read']);
writeFileSync(join(dir, 'agent_keys'), `${agentKey.line}\n`);
writeFileSync(join(dir, 'caller_keys'), `${callerKey.line}\n`);

// BENCH_CPU_PROF=<dir>: the agents' and the serving instance's CPU profiles (node --cpu-prof).
const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
const children = [];
// A failed run must not leave its agents and server behind.
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill();
});
function firstLine(child, pick) {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      const v = pick(l);
      if (v !== undefined) resolve(v);
    });
    child.once('exit', (c) => reject(new Error(`child exited ${c}`)));
  });
}

// BENCH_AGENT_PROCS (1): the agents spread over this many processes (one is the default, so the
// figures compare with the first ones; with one agent per machine in a real fleet, more is closer).
const PROCS = Math.max(1, Math.min(N, Number(process.env.BENCH_AGENT_PROCS ?? 1)));
const urlLists = await Promise.all(
  Array.from({ length: PROCS }, (_, p) => {
    const count = Math.floor(N / PROCS) + (p < N % PROCS ? 1 : 0);
    const agentsProc = spawn(
      process.execPath,
      [
        ...prof,
        join(root, 'bench', 'fleetAgents.mjs'),
        String(count),
        join(tree, 'proc'),
        join(tree, 'sys'),
        join(tree, 'root'),
        join(dir, 'agent_keys'),
        join(dir, `p${p}`),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(agentsProc);
    return firstLine(agentsProc, (l) => (l.startsWith('[') ? JSON.parse(l) : undefined));
  }),
);
const urls = urlLists.flat();

writeFileSync(
  join(dir, 'hosts.yaml'),
  `hosts:\n${urls.map((u, i) => `  - name: h${i}\n    url: ${u}\n    apiKeyEnv: AGENT_KEY\n    labels: {bench: "yes"}\n`).join('')}`,
);
const servingInfo = spawn(process.execPath, [...prof, join(root, 'dist', 'server.js')], {
  env: {
    ...process.env,
    PORT: '0',
    LOG_LEVEL: 'info',
    DATA_DIR: join(dir, 'serving'),
    HOSTS_FILE: join(dir, 'hosts.yaml'),
    AGENT_KEY: agentKey.key,
    AUTH_API_KEYS_FILE: join(dir, 'caller_keys'),
    AUDIT_LOG_FILE: join(dir, 'audit.log'),
    RATE_LIMIT_PER_MINUTE: '100000',
    RATE_LIMIT_BURST: '100000',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
children.push(servingInfo);
const servingUrl = await firstLine(servingInfo, (l) => {
  try {
    const r = JSON.parse(l);
    return r.msg === 'listening' ? r.url : undefined;
  } catch {
    return undefined;
  }
});
servingInfo.stdout.resume();

async function client(url, key) {
  const c = new Client(
    { name: 'bench-fleet', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await c.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${key}` } },
    }),
  );
  return c;
}
const viaServing = await client(servingUrl, callerKey.key);
const direct = await client(urls[0], agentKey.key);

const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))];
async function timeIt(fn, n) {
  for (let i = 0; i < Math.min(5, n); i++) await fn();
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return { p50: pct(ms, 0.5), p90: pct(ms, 0.9) };
}

const check = { saveBaseline: false, cpuSampleMs: 0 };
const out = {
  agents: N,
  agentProcesses: PROCS,
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  node: process.version,
  fleet: {},
  forwarding: {},
};
for (const [label, args] of [
  ['cpuSampleMs 0, concurrency 8', { cpuSampleMs: 0, concurrency: 8 }],
  ['cpuSampleMs 0, concurrency 32', { cpuSampleMs: 0, concurrency: 32 }],
  ['defaults (cpuSampleMs 250; concurrency 32, before 8)', {}],
  ['cpuSampleMs 250 (default), concurrency 50', { concurrency: 50 }],
]) {
  let last;
  const t = await timeIt(async () => {
    last = await viaServing.callTool({ name: 'fleet_health', arguments: args });
    if (last.isError || last.structuredContent.hosts.length !== N)
      throw new Error(JSON.stringify(last).slice(0, 500));
  }, RUNS);
  out.fleet[label] = { ...t, partial: last.structuredContent.partial };
}
// Alternated call by call, so the shared machine's load swings hit both sides alike.
const viaHost = async () => {
  const r = await viaServing.callTool({ name: 'run_health_check', arguments: { host: 'h0', ...check } });
  if (r.isError) throw new Error(JSON.stringify(r));
};
const toAgent = async () => {
  const r = await direct.callTool({ name: 'run_health_check', arguments: check });
  if (r.isError) throw new Error(JSON.stringify(r));
};
for (let i = 0; i < 5; i++) {
  await viaHost();
  await toAgent();
}
// The floor of any call into the serving instance: list_hosts, which it answers itself.
const servingOnly = async () => {
  const r = await viaServing.callTool({ name: 'list_hosts', arguments: {} });
  if (r.isError) throw new Error(JSON.stringify(r));
};
const fwdMs = [];
const dirMs = [];
const localMs = [];
for (let i = 0; i < ITER; i++) {
  const order = [
    [viaHost, fwdMs],
    [toAgent, dirMs],
    [servingOnly, localMs],
  ];
  if (i % 2) order.reverse();
  for (const [fn, ms] of order) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
}
const fwd = { p50: pct(fwdMs, 0.5), p90: pct(fwdMs, 0.9) };
const dir0 = { p50: pct(dirMs, 0.5), p90: pct(dirMs, 0.9) };
out.forwarding = {
  'run_health_check via serving {host}': fwd,
  'run_health_check direct to agent': dir0,
  'list_hosts answered by the serving instance (one MCP call, no agent)': {
    p50: pct(localMs, 0.5),
    p90: pct(localMs, 0.9),
  },
  overheadMsP50: fwd.p50 - dir0.p50,
  overheadPercentP50: ((fwd.p50 - dir0.p50) / dir0.p50) * 100,
  // Each forwarded call against the direct call made next to it.
  overheadMsPairedMedian: pct(
    fwdMs.map((f, i) => f - dirMs[i]),
    0.5,
  ),
};
console.log(JSON.stringify(out, null, 2));
await viaServing.close();
await direct.close();
for (const c of children) c.kill();
rmSync(dir, { recursive: true, force: true });
