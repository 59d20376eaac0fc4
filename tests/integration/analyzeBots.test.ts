import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Client, Progress } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHttp } from '../../src/runtime.js';
import { connectClient, startInProcess } from '../helpers/servers.js';
import { type DnsStub, startDnsStub } from '../helpers/dnsStub.js';
import { generateTraffic } from '../helpers/trafficGenerator.js';

const root = mkdtempSync(join(tmpdir(), 'bots-it-'));
const logDir = join(root, 'var/log/nginx');
const traffic = generateTraffic();
let server: RunningHttp;
let client: Client;
let dns: DnsStub;

type Result = {
  summary: Record<string, unknown> & {
    botVerification: string;
    requests: number;
    parsed: number;
    lines: number;
    files: Array<{ path: string; format: string | null }>;
    skipped: Record<string, number>;
  };
  clients: Array<{
    ip: string;
    threatLevel: string;
    allowlisted: boolean;
    verified: string;
    verification: string | null;
    reasons: Array<{ id: string }>;
  }>;
  clusters: Array<{ kind: string; ipCount: number }>;
  recommendations: { addresses: string[]; nftables: string[] };
  partial: boolean;
  stoppedBecause: string | null;
  bytesRead: number;
};

async function analyze(args: Record<string, unknown>): Promise<Result> {
  const res = await client.callTool({ name: 'analyze_bots', arguments: args });
  expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
  return res.structuredContent as Result;
}

beforeAll(async () => {
  mkdirSync(logDir, { recursive: true });
  const half = Math.floor(traffic.lines.length / 2);
  // A rotated set: the older half compressed, the newer half plain.
  writeFileSync(join(logDir, 'access.log.1.gz'), gzipSync(`${traffic.lines.slice(0, half).join('\n')}\n`));
  writeFileSync(
    join(logDir, 'access.log'),
    `${traffic.lines.slice(half).join('\n')}\nthis line is garbage\n`,
  );
  writeFileSync(join(root, 'allow.txt'), '# our office\n198.51.100.150\nua:sqlmap\n');
  writeFileSync(join(logDir, 'big.log'), `${traffic.lines.join('\n')}\n`.repeat(40));
  // DNS answers from a stub on loopback: .10 and .20 are the real crawlers, .11 only claims to be Googlebot.
  dns = await startDnsStub({
    ptr: {
      '192.0.2.10': ['crawl-192-0-2-10.googlebot.com'],
      '192.0.2.11': ['host-11.dsl.example.net'],
      '192.0.2.20': ['msnbot-192-0-2-20.search.msn.com'],
    },
    a: {
      'crawl-192-0-2-10.googlebot.com': ['192.0.2.10'],
      'msnbot-192-0-2-20.search.msn.com': ['192.0.2.20'],
    },
  });
  server = await startInProcess({
    HOST_ROOT: root,
    BOT_ALLOWLIST_FILES: join(root, 'allow.txt'),
    DNS_SERVERS: dns.server,
    // Stubs on loopback answer at once: the bound only has to outlast a busy machine (the silent
    // stub costs it once per case).
    OUTBOUND_TIMEOUT_MS: '3000',
    RETRY_COUNT: '0',
  });
  client = await connectClient(server.url);
});

afterAll(async () => {
  await client?.close();
  await server?.shutdown('test done');
  await dns?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('analyze_bots over MCP', () => {
  it('analyses a rotated, partly gzipped set and merges the configured allow-list', async () => {
    const r = await analyze({ paths: ['/var/log/nginx/access.log*'], top: 500 });
    expect(r.summary.files.map((f) => [f.path, f.format])).toEqual([
      ['/var/log/nginx/access.log.1.gz', 'combined'],
      ['/var/log/nginx/access.log', 'combined'],
    ]);
    expect(r.summary.requests).toBe(traffic.lines.length);
    expect(r.summary.skipped).toEqual({ unparsable: 1 });
    const brute = r.clients.find((c) => c.ip === '198.51.100.150');
    expect(brute).toMatchObject({ allowlisted: true });
    expect(r.recommendations.addresses).not.toContain('198.51.100.150');
    expect(r.recommendations.addresses).toContain('198.51.100.151');
    expect(r.clusters.some((k) => k.kind === 'shared_user_agent' && k.ipCount === 40)).toBe(true);
    expect(r.partial).toBe(false);
  });

  it('verifies claimed crawlers by DNS and calls the fake one out', async () => {
    const r = await analyze({ paths: ['/var/log/nginx/access.log*'], top: 500 });
    const c = new Map(r.clients.map((x) => [x.ip, x]));
    expect(c.get('192.0.2.10')).toMatchObject({
      verified: 'verified',
      verification: 'crawl-192-0-2-10.googlebot.com',
    });
    expect(c.get('192.0.2.20')).toMatchObject({ verified: 'verified' });
    const fake = c.get('192.0.2.11');
    expect(fake?.verified).toBe('failed');
    expect(fake?.reasons[0]?.id).toBe('fake_search_engine');
    expect(['high', 'critical']).toContain(fake?.threatLevel);
    expect(r.recommendations.addresses).toContain('192.0.2.11');
    expect(r.recommendations.addresses).not.toContain('192.0.2.10');
    expect(r.summary.botVerification).toBe('3 claimed: 2 verified, 1 failed (fake), 0 unknown');
  });

  it('still answers, with "unknown", when DNS is dead', async () => {
    dns.silent = true;
    try {
      // Fresh IPs (the cache would answer for the known ones): the crawlers' lines moved to .14x.
      const lines = traffic.lines
        .filter((l) => /^192\.0\.2\.1\d /.test(l))
        .map((l) => l.replace(/^192\.0\.2\.1(\d)/, '192.0.2.14$1'));
      writeFileSync(join(logDir, 'dead-dns.log'), `${lines.join('\n')}\n`);
      const r = await analyze({ paths: ['/var/log/nginx/dead-dns.log'] });
      expect(r.clients.find((x) => x.ip === '192.0.2.140')?.verified).toBe('unknown');
      expect(r.summary.botVerification).toMatch(/^2 claimed: 0 verified, 0 failed \(fake\), 2 unknown/);
    } finally {
      dns.silent = false;
    }
  });

  it('keeps only the requested time window', async () => {
    const r = await analyze({
      paths: ['/var/log/nginx/access.log*'],
      since: '2026-11-20T13:00:00Z',
      until: '2026-11-20T14:00:00+00:00',
    });
    expect(r.summary.requests).toBeGreaterThan(160);
    expect(r.summary.requests).toBeLessThan(traffic.lines.length / 4);
    expect(r.summary.skipped.before_since).toBeGreaterThan(0);
    expect(r.summary.skipped.after_until).toBeGreaterThan(0);
  });

  it('reports progress in bytes read when the client asks for it', async () => {
    const progress: Progress[] = [];
    const res = await client.request(
      {
        method: 'tools/call',
        params: { name: 'analyze_bots', arguments: { paths: ['/var/log/nginx/big.log'] } },
      },
      { onprogress: (p) => progress.push(p) },
    );
    const r = res.structuredContent as Result;
    expect(r.summary.lines).toBe(traffic.lines.length * 40);
    const last = progress.at(-1);
    expect(last?.progress).toBe(last?.total);
    expect(last?.total).toBe(r.bytesRead);
  });

  it('stops at maxLines with partial results and says so', async () => {
    const r = await analyze({ paths: ['/var/log/nginx/big.log'], maxLines: 1000 });
    expect(r.partial).toBe(true);
    expect(r.stoppedBecause).toBe('maxLines (1000) reached');
    expect(r.summary.lines).toBeLessThan(traffic.lines.length);
  });

  it.each([
    [{ paths: ['/etc/passwd'] }, 'outside the allowed paths (/var/log); set AUDIT_ALLOWED_PATHS to allow it'],
    [{ paths: ['/var/log/nginx'] }, 'is a directory'],
    [
      { paths: ['/var/log/nginx/access.log'], format: '%t only' },
      'format "%t only": the format must contain %h (or %a) and %r',
    ],
    [
      { paths: ['/var/log/nginx/access.log'], allowlist: ['not an ip'] },
      'allowlist entry "not an ip" is not an IP',
    ],
    [
      { paths: ['/var/log/nginx/access.log'], since: '2026-11-21T00:00:00Z', until: '2026-11-20T00:00:00Z' },
      'must be before until',
    ],
  ])('refuses bad arguments with an actionable tool error: %j', async (args, message) => {
    const res = await client.callTool({ name: 'analyze_bots', arguments: args });
    expect(res.isError).toBe(true);
    expect((res.content as Array<{ text: string }>)[0]?.text).toContain(message);
  });

  it('breaks traffic down per virtual host and filters by domain', async () => {
    const vhostLines = traffic.lines
      .slice(0, 600)
      .map((l, i) => `${i % 3 === 0 ? 'shop.example' : 'blog.example'}:443 ${l}`);
    writeFileSync(join(logDir, 'other_vhosts_access.log'), `${vhostLines.join('\n')}\n`);
    const all = await client.callTool({
      name: 'analyze_bots',
      arguments: { paths: ['/var/log/nginx/other_vhosts_access.log'] },
    });
    const r = all.structuredContent as Result & {
      domains: Array<{ domain: string; requests: number; botPercent: number }>;
    };
    expect(r.summary.files[0]?.format).toBe('vhost_combined');
    expect(r.domains.map((d) => [d.domain, d.requests])).toEqual([
      ['blog.example', 400],
      ['shop.example', 200],
    ]);
    const shop = await analyze({
      paths: ['/var/log/nginx/other_vhosts_access.log'],
      domains: ['Shop.Example'],
    });
    expect(shop.summary.requests).toBe(200);
    expect(shop.summary.skipped.other_domain).toBe(400);
  });

  it('charts the real traffic of a log with a forged 2099 line and epoch junk, counting them out of range', async () => {
    // The real elastic Apache sample (3.5 days of May 2015) with two lines whose dates are junk.
    const sample = readFileSync(join(import.meta.dirname, '../fixtures/logs/elastic-apache-10k.log'), 'utf8')
      .split('\n')
      .filter(Boolean);
    const dated = (d: string) => (sample[100] as string).replace(/\[[^\]]+\]/, `[${d}]`);
    const lines = [
      ...sample.slice(0, 5000),
      dated('01/Jan/2099:00:00:00 +0000'),
      dated('01/Jan/1970:00:00:00 +0000'),
      ...sample.slice(5000),
    ];
    writeFileSync(join(logDir, 'forged.log'), `${lines.join('\n')}\n`);
    const r = (await analyze({ paths: ['/var/log/nginx/forged.log'] })) as Result & {
      traffic: { bucketSeconds: number; start: string; series: Record<string, number[]>; outOfRange: number };
    };
    expect(r.traffic.outOfRange).toBe(2);
    expect(r.traffic.bucketSeconds).toBe(1800);
    expect(r.traffic.start).toBe('2015-05-17T10:00:00.000Z');
    const charted = Object.values(r.traffic.series)
      .flat()
      .reduce((a, b) => a + b, 0);
    expect(charted + r.traffic.outOfRange).toBe(r.summary.requests);
  });

  it('says when a log is in no format it knows', async () => {
    writeFileSync(join(logDir, 'weird.log'), 'hello\nworld\n');
    const res = await client.callTool({
      name: 'analyze_bots',
      arguments: { paths: ['/var/log/nginx/weird.log'] },
    });
    expect(res.isError).toBe(true);
    expect((res.content as Array<{ text: string }>)[0]?.text).toContain('could not recognise the log format');
  });
});
