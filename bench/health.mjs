#!/usr/bin/env node
// Issue 3 cases, in process (no HTTP): run_health_check on a fixture tree and on this host, and
// compare_baselines over a 1,000-baseline window. Each case has a peer measured in the same run:
// the raw I/O floor, i.e. reading the same files with no parsing or analysis, so the ratio says
// what our work costs on top of the reads nobody can avoid.
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, statfs } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareBaselines, trends } from '../dist/audit/compareBaselines.js';
import { DEFAULT_THRESHOLDS } from '../dist/audit/health/thresholds.js';
import { FileBaselineStore } from '../dist/baselines/fileBaselineStore.js';
import { runHealthCheck } from '../dist/health/runHealthCheck.js';
import { runCommand } from '../dist/host/runCommand.js';

const ITER = Number(process.env.BENCH_ITERATIONS ?? 200);
const BASELINES = 1000;

async function time(fn, n) {
  for (let i = 0; i < Math.min(20, n); i++) await fn(); // warm-up
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: ms[Math.floor(n / 2)], p99: ms[Math.min(n - 1, Math.floor(n * 0.99))] };
}

const env = (proc, sys, root) => ({
  paths: { proc, sys, root },
  thresholds: DEFAULT_THRESHOLDS,
  run: runCommand,
  signal: new AbortController().signal,
  now: new Date(),
  allowedLogRoots: ['/var/log'],
});

/** The files the check reads, read raw: the floor any implementation pays. */
async function readFloor(proc, sys, root) {
  const files = [
    'meminfo',
    'loadavg',
    'cpuinfo',
    'stat',
    'vmstat',
    'uptime',
    'mdstat',
    'interrupts',
    'sys/fs/file-nr',
    'sys/kernel/tainted',
    '1/mountinfo',
    'pressure/cpu',
    'pressure/memory',
    'pressure/io',
    'net/dev',
    'net/snmp',
    'net/tcp',
    'net/tcp6',
  ].map((f) => join(proc, f));
  const pids = (await readdir(proc)).filter((n) => /^\d+$/.test(n));
  files.push(...pids.map((p) => join(proc, p, 'stat')));
  await Promise.all(files.map((f) => readFile(f).catch(() => undefined)));
  await Promise.all([readdir(join(sys, 'class/hwmon')).catch(() => []), statfs(root)]);
}

const results = [];
async function healthCase(name, proc, sys, root) {
  const ours = await time(() => runHealthCheck(env(proc, sys, root), { cpuSampleMs: 0 }), ITER);
  const peer = await time(() => readFloor(proc, sys, root), ITER);
  results.push({ name, ours, peer, target: 50 });
}

const fixture = join(import.meta.dirname, '..', 'tests', 'fixtures', 'health', 'stressed');
await healthCase(
  'run_health_check, fixture tree (stressed, 250 processes)',
  join(fixture, 'proc'),
  join(fixture, 'sys'),
  join(fixture, 'root'),
);
await healthCase('run_health_check, this host (/proc, /sys, /)', '/proc', '/sys', '/');

// compare_baselines over 1,000 baselines of one host, each with the metrics of a real check.
const dir = mkdtempSync(join(tmpdir(), 'bench-baselines-'));
try {
  const store = new FileBaselineStore({ dir, maxCount: BASELINES, maxBytes: 1024 ** 3 });
  const report = await runHealthCheck(
    env(join(fixture, 'proc'), join(fixture, 'sys'), join(fixture, 'root')),
    { cpuSampleMs: 0 },
  );
  const start = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < BASELINES; i++) {
    const metrics = Object.fromEntries(
      Object.entries(report.metrics).map(([k, v]) => [k, v * (1 + (i % 17) / 100)]),
    );
    metrics['disk./.used_percent'] = 40 + i * 0.05;
    await store.save({
      hostId: 'bench-host',
      createdAt: new Date(start + i * 3_600_000).toISOString(),
      status: report.status,
      score: report.score,
      metrics,
      findings: report.findings.map(({ id, severity, title }) => ({ id, severity, title })),
    });
  }
  await store.close();
  const metricCount = Object.keys(report.metrics).length;
  const hostDir = join(dir, 'baselines', (await readdir(join(dir, 'baselines')))[0]);
  // A fresh store each time: no warm cache, the files are read as a restarted server would.
  const ours = await time(async () => {
    const s = new FileBaselineStore({ dir, maxCount: BASELINES, maxBytes: 1024 ** 3 });
    const series = await s.recent('bench-host', BASELINES);
    compareBaselines(series[1], series[0], {});
    trends(series, { limit: 100 });
    await s.close();
  }, 20);
  // The running server's case: its store keeps parsed records, so only the first compare reads files.
  const warmStore = new FileBaselineStore({ dir, maxCount: BASELINES, maxBytes: 1024 ** 3 });
  const warm = await time(async () => {
    const series = await warmStore.recent('bench-host', BASELINES);
    compareBaselines(series[1], series[0], {});
    trends(series, { limit: 100 });
  }, 50);
  await warmStore.close();
  const peer = await time(async () => {
    const names = (await readdir(hostDir)).filter((n) => n.endsWith('.json'));
    await Promise.all(names.map(async (n) => JSON.parse(await readFile(join(hostDir, n), 'utf8'))));
  }, 20);
  const name = `compare_baselines, trendWindow ${BASELINES} (${metricCount} metrics each)`;
  results.push({ name: `${name}, cold store (first call after start)`, ours, peer, target: 100 });
  results.push({ name: `${name}, warm store (later calls)`, ours: warm, peer, target: 100 });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const cpu = cpus();
console.log(`\nmachine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, Node ${process.version}`);
console.log(
  'peer: the raw I/O floor (the same files read, no parsing or analysis); iowait sample interval excluded (cpuSampleMs 0)',
);
console.log('| case | ours p50/p99 ms | floor p50/p99 ms | ratio (p50) | target p50 |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of results) {
  const f = (x) => x.toFixed(1);
  console.log(
    `| ${r.name} | ${f(r.ours.p50)}/${f(r.ours.p99)} | ${f(r.peer.p50)}/${f(r.peer.p99)} | ${(r.ours.p50 / r.peer.p50).toFixed(2)}x | < ${r.target} ms: ${r.ours.p50 < r.target ? 'met' : 'NOT met'} |`,
  );
}
