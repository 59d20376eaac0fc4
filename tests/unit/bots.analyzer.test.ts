import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAllowlisted, parseAllowlist } from '../../src/audit/bots/allowlist.js';
import { BotAnalyzer } from '../../src/audit/bots/analyzer.js';
import { blockRecommendations, canonicalAddress } from '../../src/audit/bots/blockRules.js';
import { classifyUserAgent } from '../../src/audit/bots/classify.js';
import { parserFor } from '../../src/audit/logs/logFormat.js';
import { ATTACKER_LABELS, generateTraffic } from '../helpers/trafficGenerator.js';

const combined = parserFor('combined');

function analyze(lines: string[], allow: string[] = [], top = 500) {
  const { allowlist } = parseAllowlist(allow);
  const a = new BotAnalyzer({ isAllowed: (ip, ua) => isAllowlisted(allowlist, ip, ua) });
  for (const l of lines) {
    const e = combined(l);
    if (e) a.add(e);
    else a.skip('unparsable');
  }
  return a.finish(top);
}

describe('labelled synthetic traffic', () => {
  const traffic = generateTraffic();
  const result = analyze(traffic.lines);
  const byIp = new Map(result.clients.map((c) => [c.ip, c]));

  it('parses every generated line and sees every client', () => {
    expect(result.requests).toBe(traffic.lines.length);
    expect(result.uniqueIps).toBe(traffic.labels.size);
  });

  it('rates every attacker IP high or critical', () => {
    const attackers = [...traffic.labels].filter(([, l]) => ATTACKER_LABELS.includes(l));
    expect(attackers.length).toBe(3 + 2 + 40 + 1 + 8);
    const missed = attackers.filter(
      ([ip]) => !['high', 'critical'].includes(byIp.get(ip)?.threatLevel ?? 'none'),
    );
    expect(missed.map(([ip, label]) => `${label} ${ip} ${byIp.get(ip)?.threatScore}`)).toEqual([]);
  });

  it('rates no human, search engine or AI crawler high or critical', () => {
    const innocent = [...traffic.labels].filter(([, l]) => !ATTACKER_LABELS.includes(l));
    const flagged = innocent.filter(([ip]) =>
      ['high', 'critical'].includes(byIp.get(ip)?.threatLevel ?? 'none'),
    );
    expect(flagged.map(([ip, l]) => `${l} ${ip} ${JSON.stringify(byIp.get(ip)?.reasons)}`)).toEqual([]);
    expect(byIp.get('192.0.2.10')?.classification).toBe('search_engine');
    expect(byIp.get('192.0.2.10')?.verified).toBe('unknown');
    expect(byIp.get('192.0.2.31')?.classification).toBe('ai_crawler');
    expect(byIp.get('198.51.100.1')?.verified).toBe('not_claimed');
  });

  it('finds the botnet as one cluster of 40 IPs sharing its user agent', () => {
    const botnet = result.clusters.filter((k) => k.kind === 'shared_user_agent');
    expect(botnet).toHaveLength(1);
    expect(botnet[0]).toMatchObject({ fingerprint: traffic.botnetUa, ipCount: 40, requests: 160 });
    expect(['high', 'critical']).toContain(botnet[0]?.threatLevel);
    expect(botnet[0]?.traits).toContain('active in the same few minutes');
  });

  it('aggregates the hostile /24 to one CIDR and never blocks an innocent', () => {
    const subnet = result.clusters.find((k) => k.kind === 'subnet');
    expect(subnet).toMatchObject({ fingerprint: '203.0.113.0/24', ipCount: 10 });
    const blocked = result.recommendations.addresses;
    expect(blocked).toContain('203.0.113.0/24');
    // IPs inside the blocked /24 are not listed again.
    expect(blocked).not.toContain('203.0.113.50');
    for (const [ip, label] of traffic.labels) {
      if (ATTACKER_LABELS.includes(label)) continue;
      expect(blocked).not.toContain(ip);
    }
    expect(blocked).toContain('2001:db8:dead::1');
    expect(result.recommendations.nftables).toContain(
      "nft add element inet audit_block deny6 '{ 2001:db8:dead::1 }'",
    );
    expect(result.recommendations.nginx).toContain('deny 203.0.113.0/24;');
  });

  it('gives each reason its evidence', () => {
    const brute = byIp.get('198.51.100.150');
    expect(brute?.reasons[0]).toMatchObject({
      id: 'login_post_flood',
      evidence: '200 POSTs to login endpoints',
    });
    const scraper = byIp.get('198.51.100.160');
    expect(scraper?.reasons.map((r) => r.id)).toContain('user_agent_rotation');
    const scanner = byIp.get('203.0.113.51');
    expect(scanner?.reasons.map((r) => r.id)).toEqual(
      expect.arrayContaining(['scanner_user_agent', 'sensitive_paths']),
    );
    expect(scanner?.threatLevel).toBe('critical');
  });

  it('reports allow-listed clients but never recommends blocking them', () => {
    const r = analyze(traffic.lines, ['198.51.100.150', 'ua:sqlmap', '198.18.0.0/16']);
    const c = new Map(r.clients.map((x) => [x.ip, x]));
    expect(c.get('198.51.100.150')).toMatchObject({ allowlisted: true, threatLevel: 'high' });
    expect(c.get('203.0.113.51')?.allowlisted).toBe(true);
    expect(r.recommendations.addresses).not.toContain('198.51.100.150');
    expect(r.recommendations.addresses.some((a) => a.startsWith('198.18.'))).toBe(false);
  });
});

describe('the real Apache sample (elastic, 10,000 lines)', () => {
  const lines = readFileSync(
    join(import.meta.dirname, '../fixtures/logs/elastic-apache-10k.log'),
    'utf8',
  ).split('\n');
  const r = analyze(lines.filter(Boolean));
  const byIp = new Map(r.clients.map((c) => [c.ip, c]));

  it('finds Googlebot, says its claim is unverified, and does not call it a threat', () => {
    const google = r.clients.filter((c) => c.botName?.startsWith('Googlebot'));
    expect(google.length).toBeGreaterThan(0);
    for (const g of google) {
      expect(g.verified).toBe('unknown');
      expect(['none', 'low']).toContain(g.threatLevel);
    }
    expect(r.requestsByClass.search_engine).toBeGreaterThan(1000);
  });

  it('scores the wp-login probes and the scanner', () => {
    const probers = r.clients.filter((c) =>
      c.reasons.some((x) => x.id === 'sensitive_paths' && x.evidence.includes('wp_login')),
    );
    expect(probers.length).toBeGreaterThanOrEqual(5);
    for (const p of probers) expect(p.threatScore).toBeGreaterThan(0);
    expect(byIp.get('103.245.44.13')).toMatchObject({ classification: 'scanner', threatLevel: 'high' });
  });

  it('recommends blocking only what it rates high or critical', () => {
    const severe = r.clients
      .filter((c) => c.threatLevel === 'high' || c.threatLevel === 'critical')
      .map((c) => c.ip);
    expect(r.recommendations.addresses.sort()).toEqual(severe.sort());
  });

  it('counts hostile requests in the timeline the same once the client table is full (review finding)', () => {
    // A large botnet: past the client cap its new addresses are not tracked, but their probes,
    // login POSTs and attack signatures are hostile traffic all the same.
    const botnet = Array.from({ length: 300 }, (_, i) => {
      const ip = `198.51.${100 + (i % 3)}.${1 + (i % 250)}`;
      const req = [
        'POST /wp-login.php',
        'GET /.env',
        'GET /index.php?id=1%20UNION%20SELECT%20password%20FROM%20users',
      ][i % 3];
      return `${ip} - - [20/May/2015:21:10:${String(i % 60).padStart(2, '0')} +0000] "${req} HTTP/1.1" 404 200 "-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"`;
    });
    const all = [...lines.filter(Boolean), ...botnet];
    const hostileWith = (maxClients?: number) => {
      const a = new BotAnalyzer({ isAllowed: () => false, maxClients });
      for (const l of all) {
        const e = combined(l);
        if (e) a.add(e);
      }
      const res = a.finish(50);
      return { capped: a.clientCapReached, res, hostile: res.traffic.hostile.reduce((x, y) => x + y, 0) };
    };
    const full = hostileWith();
    expect(full.capped).toBe(false);
    // The wp-login probers and the injected botnet, not only the scanner UA.
    expect(full.hostile).toBeGreaterThanOrEqual(full.res.requestsByClass.scanner + 300);
    for (const cap of [0, 200]) {
      const capped = hostileWith(cap);
      expect(capped.capped).toBe(true);
      expect(capped.res.clients.length).toBeLessThanOrEqual(cap);
      expect(capped.hostile).toBe(full.hostile);
      expect(capped.res.traffic.hostile).toEqual(full.res.traffic.hostile);
      expect(capped.res.traffic.bursts).toEqual(full.res.traffic.bursts);
    }
  });
});

describe('log fields that are not addresses (review finding)', () => {
  it('skips them instead of turning them into firewall rules', () => {
    const line = (ip: string) =>
      `${ip} - - [01/Jan/2026:00:00:00 +0000] "GET /.env HTTP/1.1" 404 0 "-" "sqlmap/1.7"`;
    const r = analyze([line('0/0'), line('0.0.0.0/0'), line('evil;rm'), line('192.0.2.77')]);
    expect(r.uniqueIps).toBe(1);
    expect(r.recommendations.addresses).toEqual(['192.0.2.77']);
    expect(r.recommendations.iptables.join('\n')).not.toContain('/0');
  });

  it('never recommends a block wider than /16 or /32', () => {
    const rec = blockRecommendations([
      { address: '10.0.0.0/8', reason: 'x' },
      { address: '2001:db8::/16', reason: 'x' },
      { address: '203.0.113.0/24', reason: 'x' },
    ]);
    expect(rec.addresses).toEqual(['203.0.113.0/24']);
  });
});

describe('block rules (pure)', () => {
  it('canonicalises and refuses anything that is not an address', () => {
    expect(canonicalAddress('203.0.113.7/24')?.text).toBe('203.0.113.0/24');
    expect(canonicalAddress('::ffff:192.0.2.1')?.text).toBe('192.0.2.1');
    expect(canonicalAddress('2001:DB8::1')?.text).toBe('2001:db8::1');
    expect(canonicalAddress('1.2.3.4; rm -rf /')).toBeUndefined();
    expect(canonicalAddress('$(reboot)')).toBeUndefined();
    const rec = blockRecommendations([
      { address: '192.0.2.1', reason: 'x"; reboot; "' },
      { address: 'not-an-ip', reason: 'y' },
    ]);
    expect(rec.addresses).toEqual(['192.0.2.1']);
    expect(rec.csf).toEqual(['csf -d 192.0.2.1 "x reboot "']);
  });
});

describe('user-agent classification', () => {
  it.each([
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
      'human',
    ],
    ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'search_engine'],
    [
      'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
      'ai_crawler',
    ],
    ['CCBot/2.0 (https://commoncrawl.org/faq/)', 'ai_crawler'],
    ['Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)', 'seo_tool'],
    ['Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)', 'monitor'],
    ['curl/8.4.0', 'library'],
    ['python-requests/2.31.0', 'library'],
    ['sqlmap/1.7.2#stable (https://sqlmap.org)', 'scanner'],
    ['Nuclei - Open-source project (github.com/projectdiscovery/nuclei)', 'scanner'],
    ['-', 'unknown_automation'],
  ])('%s -> %s', (ua, cls) => {
    expect(classifyUserAgent(ua).cls).toBe(cls);
  });
});
