/**
 * deploy/prometheus (scrape config, alert rules and their promtool unit tests) and
 * deploy/grafana (the dashboard), checked for real:
 *   - promtool accepts the rules, their unit tests pass, and the config is valid;
 *   - Debian's Prometheus, configured from deploy/prometheus/prometheus.yml (same job, path and
 *     rules; the target is a live server on loopback), scrapes it (`up == 1`), sees a tool call
 *     (`mcp_tool_calls_total`) and loads every rule with health "ok";
 *   - every metric the dashboard and the rules query is on a live /metrics;
 *   - every rule's runbook_url names a section of docs/runbook.md.
 * prometheus and promtool come from Debian's `prometheus` package (.ci/run installs it); under
 * CI=true a missing one fails the suite, elsewhere those tests are skipped.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { RunningHttp } from '../../src/runtime.js';
import { freePort, type RedisPeer, requirePeer, startRedis } from '../helpers/peers.js';
import { connectClient, FIXTURES, rawRequest, ROOT, startInProcess } from '../helpers/servers.js';

const havePrometheus = requirePeer('prometheus', 'prometheus');
const havePromtool = requirePeer('promtool', 'prometheus');
const haveRedis = requirePeer('redis-server', 'redis-server');

const PROM_DIR = join(ROOT, 'deploy', 'prometheus');
const PROM_YML = join(PROM_DIR, 'prometheus.yml');
const ALERTS_YML = join(PROM_DIR, 'alerts.yml');
const ALERTS_TEST_YML = join(PROM_DIR, 'alerts.test.yml');
const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'server-audit-mcp.json');
const RUNBOOK = join(ROOT, 'docs', 'runbook.md');
const JOB = 'server-audit-mcp';
const run = promisify(execFile);

/** Series Prometheus makes up per target itself; they are never on /metrics. */
const PROMETHEUS_OWN = new Set(['up']);

/**
 * Metrics whose name (HELP and TYPE) is on /metrics but which have no series in this test, and
 * why. A labelled counter has no series before its first increment.
 */
const HELP_ONLY: Record<string, string> = {
  tool_calls_denied_total:
    'needs authentication and a credential lacking a scope (tests/integration/auth.test.ts)',
  mcp_tasks_started_total: 'needs a call run as a task (tests/integration/tasks.test.ts)',
  mcp_tasks_finished_total: 'needs a task that settled (tests/integration/tasks.test.ts)',
  mcp_task_duration_seconds: 'needs a task that settled (tests/integration/tasks.test.ts)',
};

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  scheme?: string;
  static_configs?: Array<{ targets: string[]; labels?: Record<string, string> }>;
  dns_sd_configs?: Array<{ names: string[]; type?: string; port?: number }>;
}
interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface DashboardPanel {
  title?: string;
  type: string;
  targets?: Array<{ expr?: string }>;
  panels?: DashboardPanel[];
}

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression selects: strings, label matchers, ranges, grouping
 * clauses and Grafana variables removed, then every identifier that is not a function,
 * aggregation (followed by "(") or keyword.
 */
function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/(?<![\w.:])[A-Za-z_:][\w:]*/g)) {
    if (/^\s*\(/.test(s.slice(m.index + m[0].length))) continue;
    if (PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** TYPE per metric family, and the names that have at least one sample. */
function parseExposition(text: string): { types: Map<string, string>; sampled: Set<string> } {
  const types = new Map<string, string>();
  const sampled = new Set<string>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t?.[1] && t[2]) types.set(t[1], t[2]);
    else if (line && !line.startsWith('#')) sampled.add(/^[^\s{]+/.exec(line)?.[0] ?? '');
  }
  return { types, sampled };
}

/** The exported family a queried name belongs to (histogram series map to their base name). */
function family(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : '';
    if (base && ['histogram', 'summary'].includes(types.get(base) ?? '')) return base;
  }
  return undefined;
}

function rules(): Rule[] {
  const doc = parse(readFileSync(ALERTS_YML, 'utf8')) as { groups: Array<{ rules: Rule[] }> };
  return doc.groups.flatMap((g) => g.rules);
}

function dashboardExprs(): Array<{ where: string; expr: string }> {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: DashboardPanel[];
    templating: { list: Array<{ name: string; type: string; query?: string | { query?: string } }> };
  };
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (panels: DashboardPanel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating.list) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
    // label_values(<selector>, label): the selector is PromQL.
    const sel = /^label_values\((.*),\s*\w+\)$/.exec(q)?.[1];
    if (sel) out.push({ where: `variable $${v.name}`, expr: sel });
  }
  return out;
}

/** The default ALLOWED_HOSTS compose.yml gives the single instance. */
function composeAllowedHosts(): string {
  const m = /ALLOWED_HOSTS: '\$\{ALLOWED_HOSTS:-([^}]+)\}'/.exec(
    readFileSync(join(ROOT, 'compose.yml'), 'utf8'),
  );
  if (!m?.[1]) throw new Error('compose.yml sets no default ALLOWED_HOSTS');
  return m[1];
}

function shippedJob(): ScrapeConfig {
  const cfg = parse(readFileSync(PROM_YML, 'utf8')) as { scrape_configs: ScrapeConfig[] };
  const job = cfg.scrape_configs.find((j) => j.job_name === JOB);
  if (!job) throw new Error(`prometheus.yml has no job ${JOB}`);
  return job;
}

/** Prometheus's GET API, unwrapped. */
async function api<T>(port: number, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${path}: ${body.error}`);
  return body.data;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('metric name extraction', () => {
  it('keeps metric names and drops functions, labels, ranges, grouping and variables', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{job="x", method="POST"}[$__rate_interval])))',
      ),
    ).toEqual(['a_bucket']);
    expect(metricNames('count(b{x=~"$instance"} >= 1) or vector(0)')).toEqual(['b']);
    expect(metricNames('sum(rate(c[5m] offset 1h)) / on(instance) group_left(x) d > 1e3')).toEqual([
      'c',
      'd',
    ]);
    expect(metricNames('absent(up{job="server-audit-mcp"})')).toEqual(['up']);
  });
});

describe('monitoring: Prometheus, alert rules, Grafana', () => {
  let server: RunningHttp;
  let base: string;
  let liveMetrics = '';
  let fleetMetrics = '';
  let redis: RedisPeer | undefined;
  let fleet: RunningHttp | undefined;

  beforeAll(async () => {
    // The single instance as compose.yml configures it (its ALLOWED_HOSTS), with an outbound
    // policy that makes one failing NTP target trip its breaker on the first call.
    server = await startInProcess({
      ALLOWED_HOSTS: composeAllowedHosts(),
      HOST_PROC: join(FIXTURES, 'health', 'healthy', 'proc'),
      HOST_SYS: join(FIXTURES, 'health', 'healthy', 'sys'),
      HOST_ROOT: join(FIXTURES, 'health', 'healthy', 'root'),
      OUTBOUND_TIMEOUT_MS: '200',
      RETRY_COUNT: '1',
      RETRY_MIN_MS: '1',
      RETRY_MAX_MS: '5',
      BREAKER_VOLUME: '1',
      BREAKER_ERROR_PERCENT: '1',
      BREAKER_RESET_MS: '600000',
    });
    base = server.url.replace(/\/mcp$/, '');
    const client: Client = await connectClient(server.url, 'monitoring-test');
    try {
      const detect = await client.callTool({ name: 'detect_system', arguments: {} });
      expect(detect.isError).toBeFalsy();
      // Nothing answers on this UDP port: outbound errors, a retry, an open breaker.
      const ntpPort = await freePort();
      await client.callTool({
        name: 'check_clock',
        arguments: { servers: [`127.0.0.1:${ntpPort}`], samples: 1 },
      });
    } finally {
      await client.close();
    }
    // A refused credential (tokens in the query string are refused even without auth).
    const refused = await rawRequest(`${server.url}?access_token=x`, { method: 'GET' });
    expect(refused.status).toBe(400);
    liveMetrics = await (await fetch(`${base}/metrics`)).text();

    // Fleet mode registers redis_up.
    if (haveRedis) {
      redis = await startRedis();
      fleet = await startInProcess({ REDIS_URL: redis.url, REDIS_PREFIX: `mon${Date.now()}:` });
      fleetMetrics = await (await fetch(fleet.url.replace(/\/mcp$/, '/metrics'))).text();
    }
  });

  afterAll(async () => {
    await fleet?.shutdown('test done');
    await redis?.stop();
    await server?.shutdown('test done');
  });

  it.skipIf(!havePromtool)(
    'promtool accepts the rules, passes their unit tests, and accepts the config',
    async () => {
      const rulesOut = await run('promtool', ['check', 'rules', ALERTS_YML]);
      expect(rulesOut.stdout).toMatch(/SUCCESS: \d+ rules found/);
      const unit = await run('promtool', ['test', 'rules', ALERTS_TEST_YML]);
      expect(unit.stdout).toContain('SUCCESS');
      // The shipped config as is, in a copy of its directory (rule_files are relative to it).
      const dir = mkdtempSync(join(tmpdir(), 'promtool-'));
      try {
        copyFileSync(PROM_YML, join(dir, 'prometheus.yml'));
        copyFileSync(ALERTS_YML, join(dir, 'alerts.yml'));
        const cfg = await run('promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
        expect(cfg.stdout).toContain('is valid prometheus config file syntax');
        expect(cfg.stdout).toMatch(/SUCCESS: \d+ rules found/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('the shipped scrape targets send a Host the server accepts', async () => {
    const job = shippedJob();
    expect(job.metrics_path ?? '/metrics').toBe('/metrics');
    expect(job.dns_sd_configs?.flatMap((d) => d.names)).toContain('server-audit-replica');
    const targets = (job.static_configs ?? []).flatMap((s) => s.targets);
    expect(targets).toContain('server-audit:3000');
    // Prometheus sends the target as Host; the server under test has compose.yml's ALLOWED_HOSTS.
    for (const target of targets) {
      const res = await rawRequest(`${base}/metrics`, { method: 'GET', headers: { host: target } });
      expect(res.status, `Host ${target}`).toBe(200);
    }
    // DNS service discovery and Kubernetes scrape by IP, which is never in ALLOWED_HOSTS: an IP
    // Host is accepted on /metrics (it cannot be a rebinding attack); an unknown name is not.
    const byIp = await rawRequest(`${base}/metrics`, { method: 'GET', headers: { host: '172.18.0.5:3000' } });
    expect(byIp.status).toBe(200);
    const byV6 = await rawRequest(`${base}/metrics`, { method: 'GET', headers: { host: '[fd00::5]:3000' } });
    expect(byV6.status).toBe(200);
    const byName = await rawRequest(`${base}/metrics`, {
      method: 'GET',
      headers: { host: 'evil.example:3000' },
    });
    expect(byName.status).toBe(403);
    // mcp_ready says what /ready says.
    expect((await rawRequest(`${base}/metrics`, { method: 'GET' })).body).toMatch(/^mcp_ready 1$/m);
  });

  it.skipIf(!havePrometheus)(
    'Prometheus scrapes a live server with the shipped job and loads every alert rule',
    async () => {
      const job = shippedJob();
      const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
      const port = await freePort();
      const target = new URL(server.url).host;
      writeFileSync(
        join(dir, 'prometheus.yml'),
        stringify({
          global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
          rule_files: [ALERTS_YML],
          scrape_configs: [
            {
              job_name: job.job_name,
              metrics_path: job.metrics_path ?? '/metrics',
              scheme: job.scheme ?? 'http',
              static_configs: [{ targets: [target] }],
            },
          ],
        }),
      );
      let log = '';
      const prom: ChildProcess = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=warn',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      prom.stderr?.on('data', (d) => {
        log += d;
      });
      const exited = once(prom, 'exit');
      try {
        const up = await until(`up{job="${JOB}"} == 1`, 30_000, async () => {
          if (prom.exitCode !== null) throw new Error(`prometheus exited: ${log}`);
          const r = await api<{ result: Array<{ value: [number, string] }> }>(
            port,
            `/api/v1/query?query=${encodeURIComponent(`up{job="${JOB}"}`)}`,
          );
          return r.result[0]?.value[1] === '1' ? r.result : undefined;
        });
        expect(up).toHaveLength(1);

        const calls = await until('mcp_tool_calls_total', 30_000, async () => {
          const r = await api<{ result: Array<{ metric: Record<string, string> }> }>(
            port,
            `/api/v1/query?query=${encodeURIComponent(`mcp_tool_calls_total{job="${JOB}"}`)}`,
          );
          return r.result.length > 0 ? r.result : undefined;
        });
        expect(calls.map((c) => c.metric)).toContainEqual(
          expect.objectContaining({ tool: 'detect_system', outcome: 'ok', instance: target }),
        );

        type RulesData = {
          groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>;
        };
        const loaded = await until('every rule evaluated', 30_000, async () => {
          const r = await api<RulesData>(port, '/api/v1/rules');
          const all = r.groups.flatMap((g) => g.rules);
          return all.length > 0 && all.every((x) => x.health !== 'unknown') ? all : undefined;
        });
        expect(loaded.map((r) => r.name).sort()).toEqual(
          rules()
            .map((r) => r.alert ?? r.record)
            .sort(),
        );
        for (const r of loaded)
          expect({ name: r.name, health: r.health, error: r.lastError ?? '' }).toEqual({
            name: r.name,
            health: 'ok',
            error: '',
          });
      } finally {
        prom.kill('SIGTERM');
        await exited;
        rmSync(dir, { recursive: true, force: true });
      }
    },
    90_000,
  );

  /** Checks every metric an expression names against the live /metrics texts. */
  function checkAgainstLive(exprs: Array<{ where: string; expr: string }>): string[] {
    const single = parseExposition(liveMetrics);
    const fleetMode = parseExposition(fleetMetrics);
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const { where, expr } of exprs) {
      const names = metricNames(expr);
      if (names.length === 0) problems.push(`${where}: no metric in ${expr}`);
      for (const name of names) {
        seen.add(name);
        if (PROMETHEUS_OWN.has(name)) continue;
        // redis_up is registered in fleet mode only (src/fleet/fleet.ts).
        const inSingle = family(name, single.types);
        const inFleet = family(name, fleetMode.types);
        const fam = inSingle ?? inFleet;
        if (!fam) {
          if (name === 'redis_up' && !haveRedis) continue; // outside CI without redis-server only
          problems.push(`${where}: ${name} is not exported (${expr})`);
          continue;
        }
        const hasSample = inSingle ? single.sampled.has(name) : fleetMode.sampled.has(name);
        if (!hasSample && !(fam in HELP_ONLY))
          problems.push(`${where}: ${name} has no series after a tool call`);
      }
    }
    return problems;
  }

  it('every dashboard query names a metric the server exports', () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      schemaVersion: number;
      panels: DashboardPanel[];
    };
    expect(dash.schemaVersion).toBeGreaterThanOrEqual(36);
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThan(15);
    expect(checkAgainstLive(exprs)).toEqual([]);
    // The panels the dashboard promises.
    const all = exprs.map((e) => e.expr).join('\n');
    for (const m of [
      'mcp_http_requests_total',
      'mcp_http_request_duration_seconds_bucket',
      'mcp_tool_calls_total',
      'mcp_tool_call_duration_seconds_bucket',
      'mcp_sessions_active',
      'circuit_breaker_state',
      'outbound_requests_total',
      'redis_up',
      'session_store_operations_total',
      'auth_failures_total',
      'tool_calls_denied_total',
    ])
      expect(all).toContain(m);
    // Every panel queries the data source variable, not a fixed uid.
    expect(readFileSync(DASHBOARD, 'utf8')).not.toMatch(
      /"uid": "(?!\$\{DS_PROMETHEUS\}|-- Grafana --|server-audit-mcp)/,
    );
  });

  it('every alert rule names exported metrics, and carries severity, summary, description and runbook', () => {
    const all = rules();
    expect(checkAgainstLive(all.map((r) => ({ where: `rule ${r.alert}`, expr: r.expr })))).toEqual([]);
    const runbook = readFileSync(RUNBOOK, 'utf8');
    // GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
    const anchors = new Set(
      [...runbook.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
        (m[1] ?? '')
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const r of all) {
      expect(r.alert, r.expr).toBeTruthy();
      expect(['critical', 'warning', 'info'], `${r.alert} severity`).toContain(r.labels?.severity);
      expect(r.annotations?.summary, `${r.alert} summary`).toBeTruthy();
      expect(r.annotations?.description, `${r.alert} description`).toBeTruthy();
      const anchor = /^docs\/runbook\.md#(.+)$/.exec(r.annotations?.runbook_url ?? '')?.[1];
      expect(anchor, `${r.alert} runbook_url`).toBeTruthy();
      expect(anchors.has(anchor ?? ''), `${r.alert}: docs/runbook.md has no section #${anchor}`).toBe(true);
    }
    // The alerts the operations runbook promises.
    const exprs = all.map((r) => r.expr).join('\n');
    expect(exprs).toContain('up{job="server-audit-mcp"} == 0');
    expect(exprs).toMatch(/mcp_http_requests_total\{[^}]*status=~"5\.\."/);
    expect(exprs).toMatch(/mcp_tool_calls_total\{[^}]*outcome="error"/);
    expect(exprs).toMatch(
      /histogram_quantile\(0\.99,[\s\S]*mcp_http_request_duration_seconds_bucket\{[^}]*method="POST"/,
    );
    expect(exprs).toContain('circuit_breaker_state');
    expect(exprs).toContain('redis_up{job="server-audit-mcp"} == 0');
    expect(exprs).toContain('auth_failures_total');
  });
});
