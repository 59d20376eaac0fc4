import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { EXTENSION_ID, RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileBaselineStore } from '../../src/baselines/fileBaselineStore.js';
import type { RunningHttp } from '../../src/runtime.js';
import { type DnsStub, startDnsStub } from '../helpers/dnsStub.js';
import { FIXTURES, ROOT, startInProcess, tempDataDir } from '../helpers/servers.js';
import { serveTls, TlsTestBed } from '../helpers/tlsTestBed.js';
import { ARTIFACTS, requireChromium, startViewHost, type ViewHost } from '../helpers/viewHost.js';

/**
 * MCP Apps views (issue 21): offered only to clients declaring the extension, served as
 * self-contained pages, and rendering real tool results in a real browser through ext-apps'
 * host bridge. Screenshots land in test-artifacts/views/.
 */
const MODERN = '2026-07-28';
const APPS = { extensions: { [EXTENSION_ID]: { mimeTypes: [RESOURCE_MIME_TYPE] } } };

async function appsClient(url: string, modern: boolean): Promise<Client> {
  const client = new Client(
    { name: 'apps-host', version: '1.0.0' },
    { capabilities: APPS, ...(modern ? { versionNegotiation: { mode: { pin: MODERN } } } : {}) },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

interface ListedTool {
  name: string;
  _meta?: Record<string, unknown> & { ui?: { resourceUri?: string; visibility?: string[] } };
}

const root = mkdtempSync(join(tmpdir(), 'views-it-'));
const tlsServers: Server[] = [];
const port: Record<string, number> = {};
let dns: DnsStub;
let tlsServer: RunningHttp;
let healthServer: RunningHttp;
let slowServer: RunningHttp;
let botsServer: RunningHttp;
let trendServer: RunningHttp | undefined;
const botsLog = join(root, 'web', 'access.log');
const slowDir = join(root, 'mysql');
const clients: Client[] = [];
const hasChromium = requireChromium();
let host: ViewHost | undefined;

beforeAll(async () => {
  const bed = new TlsTestBed(join(root, 'ca'));
  mkdirSync(join(root, 'certs'));
  writeFileSync(join(root, 'certs', 'root.pem'), bed.rootPem);
  const full = (spec: Parameters<TlsTestBed['leaf']>[0]) => {
    const l = bed.leaf(spec);
    return { key: l.key, cert: bed.fullChain(l) };
  };
  for (const [name, spec, extra] of [
    ['valid', { toDays: 200 }, {}],
    ['soon', { toDays: 5 }, {}],
    ['old', { toDays: 40 }, { minVersion: 'TLSv1' as const }],
  ] as const) {
    const s = await serveTls({
      ...full({ name: `${name}.tls.test`, sans: [`${name}.tls.test`], ...spec }),
      ...extra,
    });
    tlsServers.push(s.server);
    port[name] = s.port;
  }
  dns = await startDnsStub({
    a: Object.fromEntries(Object.keys(port).map((n) => [`${n}.tls.test`, ['127.0.0.1']])),
  });
  tlsServer = await startInProcess({
    HOST_ROOT: root,
    AUDIT_ALLOWED_PATHS: '/certs',
    DNS_SERVERS: dns.server,
    OUTBOUND_TIMEOUT_MS: '2000',
    RETRY_COUNT: '0',
  });
  healthServer = await startInProcess({
    HOST_PROC: `${FIXTURES}/health/stressed/proc`,
    HOST_SYS: `${FIXTURES}/health/stressed/sys`,
    HOST_ROOT: `${FIXTURES}/health/stressed/root`,
  });
  // A MariaDB slow log as mariadbd writes it: one heavy scan fingerprint, one cheap lookup.
  mkdirSync(slowDir);
  const entry = (t: number, sql: string, qt: number, examined: number) =>
    [
      '# User@Host: app[app] @ web1 [192.0.2.7]',
      '# Thread_id: 31  Schema: shop  QC_hit: No',
      `# Query_time: ${qt.toFixed(6)}  Lock_time: 0.000010  Rows_sent: 1  Rows_examined: ${examined}`,
      '# Rows_affected: 0  Bytes_sent: 100',
      `SET timestamp=${t};`,
      `${sql};`,
    ].join('\n');
  const T0 = 1795168801;
  const lines = ['/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-log (Debian 12). started with:'];
  for (let i = 0; i < 30; i++)
    lines.push(
      entry(
        T0 + i * 60,
        `SELECT * FROM orders WHERE customer_email = 'u${i}@example.org'`,
        0.5 + i / 100,
        250_000,
      ),
    );
  for (let i = 0; i < 12; i++)
    lines.push(entry(T0 + 2000 + i, `SELECT id FROM products WHERE id = ${i}`, 0.2, 1));
  writeFileSync(join(slowDir, 'mariadb-slow.log'), `${lines.join('\n')}\n`);
  slowServer = await startInProcess({ AUDIT_ALLOWED_PATHS: root, HOST_ROOT: '/' });
  // The real Apache sample (elastic, May 2015) with a wp-login flood from one address at 12:30.
  mkdirSync(join(root, 'web'));
  const flood = Array.from(
    { length: 150 },
    (_, i) =>
      `203.0.113.66 - - [18/May/2015:12:30:${String(i % 60).padStart(2, '0')} +0000] "POST /wp-login.php HTTP/1.1" 200 1200 "-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"`,
  );
  writeFileSync(
    botsLog,
    `${readFileSync(join(FIXTURES, 'logs', 'elastic-apache-10k.log'), 'utf8').trimEnd()}\n${flood.join('\n')}\n`,
  );
  botsServer = await startInProcess({ AUDIT_ALLOWED_PATHS: root, HOST_ROOT: '/' });
  if (hasChromium) host = await startViewHost({ width: 420 });
}, 60_000);

afterAll(async () => {
  await host?.close();
  for (const c of clients) await c.close().catch(() => undefined);
  await tlsServer?.shutdown('test done');
  await healthServer?.shutdown('test done');
  await slowServer?.shutdown('test done');
  await botsServer?.shutdown('test done');
  await trendServer?.shutdown('test done');
  await dns?.close();
  for (const s of tlsServers) s.close();
  rmSync(root, { recursive: true, force: true });
});

const track = <T extends Client>(c: T): T => (clients.push(c), c);

describe.each([
  ['2025-11-25', false],
  [MODERN, true],
])('MCP Apps negotiation on %s', (_era, modern) => {
  it('a client declaring the extension sees the views on their tools, and reads them', async () => {
    const client = track(await appsClient(healthServer.url, modern));
    const { tools } = (await client.listTools()) as { tools: ListedTool[] };
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect(byName.get('check_tls')?._meta?.ui?.resourceUri).toBe('ui://server-audit/tls.html');
    expect(byName.get('check_tls')?._meta?.['ui/resourceUri']).toBe('ui://server-audit/tls.html');
    expect(byName.get('check_tls')?._meta?.ui?.visibility).toEqual(['model', 'app']);
    expect(byName.get('run_health_check')?._meta?.ui?.resourceUri).toBe('ui://server-audit/health.html');
    // Views are read-only: a tool that writes is the model's only.
    expect(byName.get('run_health_check')?._meta?.ui?.visibility).toEqual(['model']);
    expect(byName.get('delete_baselines')?._meta?.ui?.visibility).toEqual(['model']);

    const { resources } = await client.listResources();
    const views = resources.filter((r) => r.uri.startsWith('ui://'));
    expect(views.map((r) => r.uri).sort()).toEqual([
      'ui://server-audit/bots.html',
      'ui://server-audit/health.html',
      'ui://server-audit/slow-queries.html',
      'ui://server-audit/tls.html',
    ]);
    expect(byName.get('analyze_slow_queries')?._meta?.ui?.resourceUri).toBe(
      'ui://server-audit/slow-queries.html',
    );
    expect(byName.get('analyze_bots')?._meta?.ui?.resourceUri).toBe('ui://server-audit/bots.html');
    for (const v of views) {
      expect(v.mimeType).toBe(RESOURCE_MIME_TYPE);
      const read = await client.readResource({ uri: v.uri });
      const content = read.contents[0] as { text: string; mimeType: string; _meta?: Record<string, unknown> };
      expect(content.mimeType).toBe(RESOURCE_MIME_TYPE);
      expect(content._meta).toEqual({
        ui: { csp: { connectDomains: [], resourceDomains: [] }, prefersBorder: true },
      });
      // Self-contained: the shared code is inlined and nothing is loaded from anywhere.
      expect(content.text).toContain('const Bridge');
      expect(content.text).not.toContain('/*@shared');
      // (uPlot's licence banner names its home page: a comment, not a load.)
      expect(content.text.replace('/*! https://github.com/leeoniya/uPlot', '')).not.toMatch(
        /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/,
      );
      expect(content.text).not.toMatch(/\/\*@(shared|uplot)\./);
      expect(content.text).toContain("default-src 'none'");
    }
  });

  it('a client without the extension sees no _meta.ui and no view resources', async () => {
    const client = track(
      new Client(
        { name: 'plain', version: '1.0.0' },
        modern ? { versionNegotiation: { mode: { pin: MODERN } } } : {},
      ),
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(healthServer.url)));
    const { tools } = (await client.listTools()) as { tools: ListedTool[] };
    expect(tools.length).toBeGreaterThan(10);
    for (const t of tools) {
      expect(t._meta?.ui, t.name).toBeUndefined();
      expect(t._meta?.['ui/resourceUri'], t.name).toBeUndefined();
    }
    const { resources } = await client.listResources();
    expect(resources.filter((r) => r.uri.startsWith('ui://'))).toEqual([]);
  });
});

describe('MCP Apps negotiation over stdio (the built server, as a desktop host runs it)', () => {
  const stdio = (apps: boolean) =>
    new Client(
      { name: apps ? 'apps-desktop' : 'plain-desktop', version: '1.0.0' },
      apps ? { capabilities: APPS } : {},
    );
  const transport = () =>
    new StdioClientTransport({
      command: process.execPath,
      args: [join(ROOT, 'dist', 'server.js'), '--stdio'],
      env: { ...(process.env as Record<string, string>), LOG_LEVEL: 'silent', DATA_DIR: tempDataDir() },
      stderr: 'ignore',
    });

  it('a client declaring the extension gets the views, each page self-contained', async () => {
    const client = track(stdio(true));
    await client.connect(transport());
    const { tools } = (await client.listTools()) as { tools: ListedTool[] };
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect(byName.get('analyze_bots')?._meta?.ui?.resourceUri).toBe('ui://server-audit/bots.html');
    expect(byName.get('compare_baselines')?._meta?.ui).toEqual({
      resourceUri: 'ui://server-audit/health.html',
      visibility: ['model', 'app'],
    });
    expect(byName.get('delete_baselines')?._meta?.ui?.visibility).toEqual(['model']);
    const { resources } = await client.listResources();
    expect(resources.filter((r) => r.uri.startsWith('ui://')).length).toBe(4);
    // The built server inlines uPlot from its installed dependency.
    const read = await client.readResource({ uri: 'ui://server-audit/bots.html' });
    const html = (read.contents[0] as { text: string }).text;
    expect(html).toContain('var uPlot=function');
    expect(html).not.toMatch(/\/\*@(shared|uplot)\./);
  });

  it('a client without it sees no _meta.ui and no view resources', async () => {
    const client = track(stdio(false));
    await client.connect(transport());
    const { tools } = (await client.listTools()) as { tools: ListedTool[] };
    expect(tools.length).toBeGreaterThan(10);
    for (const t of tools) expect(t._meta?.ui, t.name).toBeUndefined();
    const { resources } = await client.listResources();
    expect(resources.filter((r) => r.uri.startsWith('ui://'))).toEqual([]);
  });
});

describe('views in headless chromium, fed real results through the ext-apps host bridge', () => {
  it('TLS: one row per target with the grade, days left, protocols and findings of the result', async (t) => {
    if (!host) return t.skip();
    const client = track(await appsClient(tlsServer.url, false));
    const args = {
      targets: ['valid', 'soon', 'old'].map((n) => `https://${n}.tls.test:${port[n]}/`),
      caFile: '/certs/root.pem',
      warnDays: 30,
      criticalDays: 14,
    };
    const result = await client.callTool({ name: 'check_tls', arguments: args });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const { contents } = await client.readResource({ uri: 'ui://server-audit/tls.html' });
    const frame = await host.show(
      (contents[0] as { text: string }).text,
      { name: 'check_tls', arguments: args, result },
      '[data-target]',
    );
    const s = result.structuredContent as {
      status: string;
      findingCounts: Record<string, number>;
      results: Array<{
        target: string;
        grade: string | null;
        status: string;
        daysRemaining: number | null;
        protocols: Record<string, string>;
        findings: Array<{ id: string }>;
      }>;
    };
    expect(await frame.locator('[data-target]').count()).toBe(s.results.length);
    expect(await frame.locator('[data-field=overall]').textContent()).toBe(s.status);
    for (const [sev, n] of Object.entries(s.findingCounts))
      expect(await frame.locator(`#summary [data-count=${sev}] b`).textContent()).toBe(String(n));
    for (const r of s.results) {
      const row = frame.locator(`[data-target="${r.target}"]`);
      expect(await row.locator('[data-field=grade]').textContent()).toBe(r.grade);
      expect(await row.locator('[data-field=status]').textContent()).toBe(r.status);
      expect(await row.locator('[data-field=days]').textContent()).toBe(String(r.daysRemaining));
      for (const mark of ['today', 'warn', 'critical', 'expiry'])
        expect(await row.locator(`[data-mark=${mark}]`).count()).toBe(1);
      for (const [p, state] of Object.entries(r.protocols))
        expect(await row.locator(`[data-protocol="${p}"]`).getAttribute('data-state')).toBe(state);
      expect(
        await row
          .locator('[data-finding]')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-finding'))),
      ).toEqual(r.findings.map((f) => f.id));
    }
    // The real results differ where the peers do: 5 days left, TLS 1.0 accepted.
    const soon = s.results.find((r) => r.target.includes('soon'));
    expect(soon?.daysRemaining).toBeLessThanOrEqual(5);
    expect(s.results.find((r) => r.target.includes('old'))?.protocols.TLSv1).toBe('accepted');
    // Soonest expiry first.
    expect(await frame.locator('[data-target]').first().getAttribute('data-target')).toBe(soon?.target);
    // Evidence is one click away.
    const first = frame.locator('[data-target] details').first();
    await first.locator('summary').click();
    expect(await first.getAttribute('open')).not.toBeNull();
    console.log(`screenshot: ${await host.screenshot('tls')}`);
  });

  it('Health: score, status, gauges and findings by severity of the stressed host', async (t) => {
    if (!host) return t.skip();
    const client = track(await appsClient(healthServer.url, true));
    const args = { cpuSampleMs: 0, saveBaseline: false };
    const result = await client.callTool({ name: 'run_health_check', arguments: args });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const { contents } = await client.readResource({ uri: 'ui://server-audit/health.html' });
    const frame = await host.show(
      (contents[0] as { text: string }).text,
      { name: 'run_health_check', arguments: args, result },
      '[data-field=score]',
    );
    const s = result.structuredContent as {
      status: string;
      score: number;
      findingCounts: Record<string, number>;
      findings: Array<{ id: string; severity: string; evidence: string }>;
      metrics: Record<string, number>;
    };
    expect(s.status).toBe('critical');
    expect(await frame.locator('[data-field=score]').textContent()).toBe(String(s.score));
    expect(await frame.locator('[data-field=status]').textContent()).toBe(s.status);
    for (const [sev, n] of Object.entries(s.findingCounts))
      expect(await frame.locator(`#top [data-count=${sev}] b`).textContent()).toBe(String(n));
    for (const sev of ['critical', 'high', 'medium', 'low', 'info']) {
      const ids = s.findings.filter((f) => f.severity === sev).map((f) => f.id);
      const shown = await frame
        .locator(`section[data-severity=${sev}] [data-finding]`)
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-finding')));
      expect(shown, sev).toEqual(ids);
    }
    expect(s.metrics['memory.used_percent']).toBeTypeOf('number');
    expect(await frame.locator('[data-metric="memory.used_percent"] [data-field=value]').textContent()).toBe(
      s.metrics['memory.used_percent']?.toFixed(1),
    );
    expect(await frame.locator('[data-metric="load.per_core.5"] [data-field=value]').textContent()).toBe(
      s.metrics['load.per_core.5']?.toFixed(2),
    );
    expect(await frame.getByText('null', { exact: true }).count()).toBe(0);
    const disks = Object.keys(s.metrics).filter((k) => /^disk\..+\.used_percent$/.test(k));
    expect(disks.length).toBeGreaterThan(0);
    const fullest = disks.sort((a, b) => (s.metrics[b] ?? 0) - (s.metrics[a] ?? 0))[0] as string;
    expect(await frame.locator(`[data-metric="${fullest}"] [data-field=value]`).textContent()).toBe(
      s.metrics[fullest]?.toFixed(1),
    );
    // Expanding a finding shows its evidence, as the result has it.
    const worst = s.findings[0]!;
    const item = frame.locator(`[data-finding="${worst.id}"]`).first();
    await item.locator('summary').click();
    expect(await item.locator('pre').first().textContent()).toBe(worst.evidence);
    console.log(`screenshot: ${await host.screenshot('health')}`);
  });

  it('Slow queries: fingerprints by total time with their count, times, rows examined and flags', async (t) => {
    if (!host) return t.skip();
    const client = track(await appsClient(slowServer.url, true));
    const args = { paths: [join(slowDir, 'mariadb-slow.log')] };
    const result = await client.callTool({ name: 'analyze_slow_queries', arguments: args });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const { contents } = await client.readResource({ uri: 'ui://server-audit/slow-queries.html' });
    const frame = await host.show(
      (contents[0] as { text: string }).text,
      { name: 'analyze_slow_queries', arguments: args, result },
      '[data-query]',
    );
    const s = result.structuredContent as {
      summary: { entries: number; distinctFingerprints: number };
      queries: Array<{
        id: string;
        count: number;
        totalTime: number;
        rowsExaminedAvg: number | null;
        p95Time: number;
        flags: string[];
      }>;
      findings: Array<{ id: string }>;
    };
    expect(s.summary.entries).toBe(42);
    expect(await frame.locator('[data-field=entries]').textContent()).toBe(String(s.summary.entries));
    expect(await frame.locator('[data-field=fingerprints]').textContent()).toBe(
      String(s.summary.distinctFingerprints),
    );
    const shown = await frame
      .locator('[data-query]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-query')));
    expect(shown).toEqual(s.queries.map((q) => q.id));
    expect(await frame.locator('[data-bar]').count()).toBe(Math.min(10, s.queries.length));
    for (const q of s.queries) {
      const row = frame.locator(`[data-query="${q.id}"]`);
      expect(await row.locator('[data-field=count]').textContent()).toBe(String(q.count));
      // p95 as the view formats seconds (3 decimals under 1 s).
      expect(await row.locator('[data-field=p95]').textContent()).toBe(
        `${q.p95Time >= 10 ? q.p95Time.toFixed(0) : q.p95Time >= 1 ? q.p95Time.toFixed(2) : q.p95Time.toFixed(3)} s`,
      );
      expect(await row.locator('[data-field=examined]').textContent()).toBe(
        q.rowsExaminedAvg === null ? '–' : String(Math.round(q.rowsExaminedAvg)),
      );
      if (q.flags.length)
        expect(await row.locator('[data-field=flags] .chip').allTextContents()).toEqual(q.flags);
    }
    // The heavy scan (30 x 250,000 rows examined) tops the list; its times are 0.50-0.79 s.
    expect(s.queries[0]?.count).toBe(30);
    expect(s.queries[0]?.p95Time).toBeCloseTo(0.78, 2);
    expect(await frame.locator('[data-finding]').count()).toBe(s.findings.length);
    console.log(`screenshot: ${await host.screenshot('slow-queries')}`);
  });

  it('Bots: requests per minute by class, the hostile burst, threats, clusters and block rules', async (t) => {
    if (!host) return t.skip();
    const client = track(await appsClient(botsServer.url, true));
    const args = {
      paths: [botsLog],
      since: '2015-05-18T11:30:00Z',
      until: '2015-05-18T13:30:00Z',
      verifyBots: false,
    };
    const result = await client.callTool({ name: 'analyze_bots', arguments: args });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const { contents } = await client.readResource({ uri: 'ui://server-audit/bots.html' });
    const frame = await host.show(
      (contents[0] as { text: string }).text,
      { name: 'analyze_bots', arguments: args, result },
      '[data-class]',
    );
    const s = result.structuredContent as {
      summary: { requests: number; uniqueIps: number; clientsByThreat: Record<string, number> };
      traffic: {
        bucketSeconds: number;
        points: number;
        series: Record<string, number[]>;
        hostile: number[];
        bursts: Array<{ from: string; hostileRequests: number; peak: number }>;
      };
      clients: Array<{ ip: string; threatScore: number; reasons: Array<{ id: string; evidence: string }> }>;
      clusters: unknown[];
      recommendations: Record<string, string[]>;
    };
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    // Two hours: per-minute buckets, every request in them.
    expect(s.traffic.bucketSeconds).toBe(60);
    expect(s.traffic.points).toBeLessThanOrEqual(120);
    expect(sum(Object.values(s.traffic.series).flat())).toBe(s.summary.requests);
    expect(await frame.locator('[data-field=requests]').first().textContent()).toBe(
      String(s.summary.requests),
    );
    expect(await frame.locator('#top [data-field=ips]').textContent()).toBe(String(s.summary.uniqueIps));
    expect(await frame.locator('[data-field=bucket]').textContent()).toBe('1 min');
    for (const l of ['critical', 'high', 'medium', 'low'])
      expect(await frame.locator(`[data-threat=${l}] b`).textContent()).toBe(
        String(s.summary.clientsByThreat[l]),
      );
    // The chart (uPlot draws on a canvas) and its legend: one entry per class seen, with its total.
    expect(await frame.locator('#chart canvas').count()).toBeGreaterThan(0);
    expect(await frame.locator('#chart').getAttribute('data-points')).toBe(String(s.traffic.points));
    const classes = Object.keys(s.traffic.series);
    expect(classes.length).toBeGreaterThan(1);
    expect(await frame.locator('#legend [data-class]').count()).toBe(classes.length + 1);
    for (const c of classes)
      expect(await frame.locator(`[data-class=${c}] [data-field=total]`).textContent()).toBe(
        String(sum(s.traffic.series[c] ?? [])),
      );
    expect(await frame.locator('[data-class=hostile] [data-field=total]').textContent()).toBe(
      String(sum(s.traffic.hostile)),
    );
    // The flood is a burst at 12:30, listed with its numbers.
    const flood = s.traffic.bursts.find((b) => b.from === '2015-05-18T12:30:00.000Z');
    expect(flood?.hostileRequests).toBeGreaterThanOrEqual(150);
    // The text answer (what a model reads) names it too.
    expect((result.content as Array<{ text: string }>)[0]?.text).toContain(
      `the largest 2015-05-18T12:30:00.000Z to 2015-05-18T12:31:00.000Z (${flood?.hostileRequests} hostile requests)`,
    );
    expect(await frame.locator('[data-burst]').count()).toBe(s.traffic.bursts.length);
    const row = frame.locator('[data-burst="2015-05-18T12:30:00.000Z"]');
    expect(await row.locator('[data-field=hostile]').textContent()).toBe(String(flood?.hostileRequests));
    expect(await row.locator('[data-field=peak]').textContent()).toBe(String(flood?.peak));
    // Top threats in the result's order with their scores; the flooder first.
    const scored = s.clients.filter((c) => c.threatScore > 0).slice(0, 15);
    expect(scored[0]?.ip).toBe('203.0.113.66');
    expect(
      await frame.locator('[data-ip]').evaluateAll((els) => els.map((e) => e.getAttribute('data-ip'))),
    ).toEqual(scored.map((c) => c.ip));
    for (const c of scored.slice(0, 5))
      expect(await frame.locator(`[data-ip="${c.ip}"] [data-field=score]`).textContent()).toBe(
        String(c.threatScore),
      );
    const first = frame.locator('[data-ip="203.0.113.66"]');
    await first.locator('summary').click();
    expect(await first.locator('[data-field=evidence]').allTextContents()).toEqual(
      scored[0]?.reasons.map((r) => r.evidence),
    );
    expect(await frame.locator('[data-cluster]').count()).toBe(s.clusters.length);
    // One copyable box per firewall, holding exactly the recommended commands.
    expect(s.recommendations.addresses).toContain('203.0.113.66');
    for (const fw of ['nftables', 'iptables', 'csf', 'nginx'])
      expect(await frame.locator(`[data-firewall=${fw}] [data-field=commands]`).textContent()).toBe(
        s.recommendations[fw]?.join('\n'),
      );
    const copy = frame.locator('[data-firewall=nftables] button');
    await copy.click();
    await expect.poll(() => copy.textContent()).toMatch(/^(Copied|Select and copy)$/);
    console.log(`screenshot: ${await host.screenshot('bots')}`);
  });

  it('Health trends: compare_baselines charts the regressed disk with its fitted line and full date; another window is re-run through the host, a writing tool is refused', async (t) => {
    if (!host) return t.skip();
    // A week of daily baselines of the stressed host, its fullest disk filling 1.5 points a day:
    // the host's real metrics (from run_health_check over MCP), stored as the server stores them.
    const plain = track(await appsClient(healthServer.url, true));
    const now = await plain.callTool({
      name: 'run_health_check',
      arguments: { cpuSampleMs: 0, saveBaseline: false },
    });
    const real = now.structuredContent as {
      hostId: string;
      status: 'ok' | 'warning' | 'critical';
      score: number;
      metrics: Record<string, number>;
    };
    const disk = Object.keys(real.metrics)
      .filter((k) => /^disk\..+\.used_percent$/.test(k))
      .sort((a, b) => (real.metrics[b] ?? 0) - (real.metrics[a] ?? 0))[0] as string;
    const dataDir = join(root, 'trend-data');
    const store = new FileBaselineStore({ dir: dataDir });
    const DAYS = 8;
    const today = Date.now();
    const start = (real.metrics[disk] as number) - 1.5 * (DAYS - 1) - 5;
    for (let d = 0; d < DAYS; d++)
      await store.save({
        hostId: real.hostId,
        createdAt: new Date(today - (DAYS - 1 - d) * 86_400_000).toISOString(),
        status: real.status,
        score: real.score,
        metrics: { ...real.metrics, [disk]: start + 1.5 * d },
        findings: [],
      });
    trendServer = await startInProcess({
      HOST_PROC: `${FIXTURES}/health/stressed/proc`,
      HOST_SYS: `${FIXTURES}/health/stressed/sys`,
      HOST_ROOT: `${FIXTURES}/health/stressed/root`,
      DATA_DIR: dataDir,
    });
    const client = track(await appsClient(trendServer.url, true));
    const { tools } = await client.listTools();
    const args = { from: 'previous', to: 'latest', trendWindow: 5 };
    const result = await client.callTool({ name: 'compare_baselines', arguments: args });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const s = result.structuredContent as {
      from: { id: string };
      to: { id: string };
      verdictCounts: Record<string, number>;
      metrics: Array<{ name: string; verdict: string; to: number }>;
      trends: Array<{
        name: string;
        points: number;
        slopePerDay: number;
        etaDays?: number;
        chart?: { fullAt?: string; days: number[]; values: number[] };
      }>;
    };
    expect(s.metrics.find((m) => m.name === disk)?.verdict).toBe('regressed');
    const trend = s.trends.find((x) => x.name === disk);
    expect(trend).toMatchObject({ points: 5, slopePerDay: 1.5 });
    expect(trend?.chart?.values).toHaveLength(5);
    expect(trend?.chart?.fullAt).toMatch(/^\d{4}-/);
    const { contents } = await client.readResource({ uri: 'ui://server-audit/health.html' });
    const frame = await host.show(
      (contents[0] as { text: string }).text,
      { name: 'compare_baselines', arguments: args, result },
      '[data-trend]',
      { tools, callTool: (name, a) => client.callTool({ name, arguments: a }) },
    );
    expect(await frame.locator('[data-field=from]').textContent()).toBe(s.from.id);
    expect(await frame.locator('[data-field=to]').first().textContent()).toBe(s.to.id);
    expect(await frame.locator('[data-verdict=regressed] b').textContent()).toBe(
      String(s.verdictCounts.regressed),
    );
    expect(await frame.locator(`[data-metric="${disk}"] [data-field=to]`).textContent()).toBe(
      String(s.metrics.find((m) => m.name === disk)?.to),
    );
    const card = frame.locator(`[data-trend="${disk}"]`);
    expect(await card.locator('[data-field=points]').textContent()).toBe('5');
    expect(await card.locator('[data-field=slope]').textContent()).toBe('1.5');
    expect(await card.locator('[data-field=full]').textContent()).toBe(trend?.chart?.fullAt?.slice(0, 10));
    expect(await card.locator('canvas').count()).toBeGreaterThan(0);
    expect(await frame.locator('[data-window="5"]').getAttribute('aria-pressed')).toBe('true');
    console.log(`screenshot: ${await host.screenshot('health-trends')}`);

    // Another window: the view asks the host, which calls the real server.
    await frame.locator('[data-window="10"]').click();
    await expect
      .poll(() => card.locator('[data-field=points]').textContent(), { timeout: 15_000 })
      .toBe(String(DAYS));
    expect(await frame.locator('[data-window="10"]').getAttribute('aria-pressed')).toBe('true');
    expect(await host.calls()).toEqual([
      { name: 'compare_baselines', arguments: { ...args, trendWindow: 10 }, refused: false },
    ]);

    // A view never writes: delete_baselines is the model's only, so the host refuses the view's call.
    const view = host.page.frames().find((f) => f !== host?.page.mainFrame());
    const refusal = await view?.evaluate(
      `Bridge.request('tools/call', { name: 'delete_baselines', arguments: { ids: [${JSON.stringify(s.to.id)}] } }).then(() => 'called', (e) => e.message)`,
    );
    expect(refusal).toContain('delete_baselines is not available to this view');
    expect((await host.calls()).at(-1)).toMatchObject({ name: 'delete_baselines', refused: true });
    // And the baselines are all still there.
    const after = await client.callTool({ name: 'compare_baselines', arguments: { trendWindow: 100 } });
    expect(
      (after.structuredContent as { trends: Array<{ name: string; points: number }> }).trends.find(
        (x) => x.name === disk,
      )?.points,
    ).toBe(DAYS);

    // The host narrows the column to 320 px: the trend chart follows, no sideways scrolling.
    const before = host.page.viewportSize() ?? { width: 420, height: 900 };
    await host.page.setViewportSize({ width: 320, height: before.height });
    try {
      const fits = () =>
        view?.evaluate(
          `document.documentElement.scrollWidth <= document.documentElement.clientWidth && document.documentElement.clientWidth <= 320`,
        );
      await expect.poll(fits, { timeout: 5000 }).toBe(true);
      expect(await card.locator('canvas').count()).toBeGreaterThan(0);
    } finally {
      await host.page.setViewportSize(before);
    }
  });

  it('screenshots are written under test-artifacts/views', () => {
    if (!host) return;
    expect(ARTIFACTS.endsWith(join('test-artifacts', 'views'))).toBe(true);
  });
});

/** Measured inside the view's frame: body colours, document overflow, the chart's y-axis strip. */
const MEASURE = `(() => {
  const lum = (c) => {
    const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map((v) => {
      v = Number(v) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const body = getComputedStyle(document.body);
  const d = document.documentElement;
  const out = {
    bg: body.backgroundColor, fg: body.color, bgL: lum(body.backgroundColor), fgL: lum(body.color),
    scrollWidth: d.scrollWidth, clientWidth: d.clientWidth, sticking: [],
  };
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > d.clientWidth + 0.5)
      out.sticking.push(e.tagName + (e.id ? '#' + e.id : '') + ' ' + e.className + ' right=' + Math.round(r.right));
  }
  out.sticking = out.sticking.slice(0, 8);
  // uPlot draws its axes on the canvas: the y axis labels are the opaque pixels of the left strip.
  const canvas = document.querySelector('#chart canvas');
  if (canvas) {
    const w = Math.min(Math.round(canvas.width / 8), 60);
    const px = canvas.getContext('2d').getImageData(0, 0, w, canvas.height).data;
    let min = 1, max = 0, n = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] < 200) continue;
      n++;
      const l = lum('rgb(' + px[i] + ',' + px[i + 1] + ',' + px[i + 2] + ')');
      if (l < min) min = l;
      if (l > max) max = l;
    }
    out.axis = { pixels: n, min, max };
  }
  return out;
})()`;

interface Measured {
  bg: string;
  fg: string;
  bgL: number;
  fgL: number;
  scrollWidth: number;
  clientWidth: number;
  sticking: string[];
  axis?: { pixels: number; min: number; max: number };
}

/** WCAG contrast ratio of two relative luminances. */
const contrast = (a: number, b: number) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);

describe("views follow the host's theme and fit a narrow chat column (360 px)", () => {
  const NARROW = 360;
  let narrow: ViewHost | undefined;
  beforeAll(async () => {
    if (hasChromium) narrow = await startViewHost({ width: NARROW });
  }, 60_000);
  afterAll(async () => {
    await narrow?.close();
  });

  /** Each view with the call that feeds it (the same real servers and inputs as above). */
  const VIEWS: Array<{
    view: string;
    tool: string;
    ready: string;
    chart?: boolean;
    server: () => RunningHttp;
    args: () => Record<string, unknown>;
  }> = [
    {
      view: 'tls',
      tool: 'check_tls',
      ready: '[data-target]',
      server: () => tlsServer,
      args: () => ({
        targets: ['valid', 'soon', 'old'].map((n) => `https://${n}.tls.test:${port[n]}/`),
        caFile: '/certs/root.pem',
        warnDays: 30,
        criticalDays: 14,
      }),
    },
    {
      view: 'health',
      tool: 'run_health_check',
      ready: '[data-field=score]',
      server: () => healthServer,
      args: () => ({ cpuSampleMs: 0, saveBaseline: false }),
    },
    {
      view: 'slow-queries',
      tool: 'analyze_slow_queries',
      ready: '[data-query]',
      server: () => slowServer,
      args: () => ({ paths: [join(slowDir, 'mariadb-slow.log')] }),
    },
    {
      view: 'bots',
      tool: 'analyze_bots',
      ready: '[data-class]',
      chart: true,
      server: () => botsServer,
      args: () => ({
        paths: [botsLog],
        since: '2015-05-18T11:30:00Z',
        until: '2015-05-18T13:30:00Z',
        verifyBots: false,
      }),
    },
  ];

  it.each(VIEWS)('$view: dark colours, a readable chart, no horizontal overflow', async (v) => {
    if (!narrow) return;
    const client = track(await appsClient(v.server().url, true));
    const args = v.args();
    const result = await client.callTool({ name: v.tool, arguments: args });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const { contents } = await client.readResource({ uri: `ui://server-audit/${v.view}.html` });
    const html = (contents[0] as { text: string }).text;
    const measure = async (theme: 'light' | 'dark'): Promise<Measured> => {
      await narrow?.show(html, { name: v.tool, arguments: args, result }, v.ready, undefined, theme);
      const frame = narrow?.page.frames().find((f) => f !== narrow?.page.mainFrame());
      // Let the charts draw at their final width.
      await narrow?.page.waitForTimeout(300);
      return (await frame?.evaluate(MEASURE)) as Measured;
    };
    const light = await measure('light');
    const dark = await measure('dark');
    console.log(`screenshot: ${await narrow.screenshot(`${v.view}-dark`)}`);

    // The colours follow the host: light page, dark text; then dark page, light text.
    expect(dark.bg).not.toBe(light.bg);
    expect(dark.fg).not.toBe(light.fg);
    expect(light.bgL).toBeGreaterThan(0.7);
    expect(light.fgL).toBeLessThan(0.1);
    expect(dark.bgL).toBeLessThan(0.1);
    expect(dark.fgL).toBeGreaterThan(0.7);
    expect(contrast(dark.bgL, dark.fgL)).toBeGreaterThanOrEqual(7);

    // The chart's axis labels follow too: dark on light, light on dark, readable on both.
    if (v.chart) {
      for (const [m, name] of [
        [light, 'light'],
        [dark, 'dark'],
      ] as const)
        expect(m.axis?.pixels ?? 0, `${name}: no axis drawn`).toBeGreaterThan(20);
      expect(contrast(light.axis?.min ?? 1, light.bgL)).toBeGreaterThanOrEqual(4.5);
      expect(contrast(dark.axis?.max ?? 0, dark.bgL)).toBeGreaterThanOrEqual(4.5);
      expect(dark.axis?.max).toBeGreaterThan(0.5);
    }

    // A 360 px chat column: nothing makes the document scroll sideways.
    for (const m of [light, dark]) {
      expect(m.clientWidth).toBeLessThanOrEqual(NARROW);
      expect(m.scrollWidth, `sticks out: ${m.sticking.join('; ')}`).toBeLessThanOrEqual(m.clientWidth);
    }
  });

  it('bots: the host switches to dark, and narrows the column, while the view is shown', async () => {
    if (!narrow) return;
    const v = VIEWS.find((x) => x.view === 'bots');
    if (!v) throw new Error('no bots view');
    const client = track(await appsClient(v.server().url, true));
    const args = v.args();
    const result = await client.callTool({ name: v.tool, arguments: args });
    const { contents } = await client.readResource({ uri: `ui://server-audit/${v.view}.html` });
    // Shown light in a wide column ...
    await narrow.page.setViewportSize({ width: 640, height: 900 });
    await narrow.show(
      (contents[0] as { text: string }).text,
      { name: v.tool, arguments: args, result },
      v.ready,
      undefined,
      'light',
    );
    const frame = narrow.page.frames().find((f) => f !== narrow?.page.mainFrame());
    const light = (await frame?.evaluate(MEASURE)) as Measured;
    expect(light.bgL).toBeGreaterThan(0.7);
    // ... then the host turns dark (ui/notifications/host-context-changed) and the column narrows.
    await narrow.page.evaluate(`window.hostBridge.setHostContext({ theme: 'dark' })`);
    await narrow.page.setViewportSize({ width: NARROW, height: 900 });
    await expect.poll(async () => ((await frame?.evaluate(MEASURE)) as Measured).bgL).toBeLessThan(0.1);
    await narrow.page.waitForTimeout(500);
    const dark = (await frame?.evaluate(MEASURE)) as Measured;
    expect(dark.fgL).toBeGreaterThan(0.7);
    expect(contrast(dark.axis?.max ?? 0, dark.bgL)).toBeGreaterThanOrEqual(4.5);
    expect(dark.clientWidth).toBeLessThanOrEqual(NARROW);
    expect(dark.scrollWidth, `sticks out: ${dark.sticking.join('; ')}`).toBeLessThanOrEqual(dark.clientWidth);
  });
});
