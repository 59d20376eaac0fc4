import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeBotsTool } from '../../src/tools/analyzeBots.js';
import type { ToolContext } from '../../src/tools/types.js';
import { configFrom } from '../helpers/servers.js';

// analyze_bots measured on the labelled corpus in tests/corpora/bots (see its SOURCES.md): real
// attack tools and browsing recorded against nginx and Apache, the OWASP CRS regression requests,
// and the real elastic Apache sample. Recall = attack-labelled addresses rated medium or above.
const corpus = join(import.meta.dirname, '../corpora/bots');
const ctx = {
  config: configFrom({ AUDIT_ALLOWED_PATHS: corpus, HOST_ROOT: '/' }),
  host: { proc: '/proc', sys: '/sys', root: '/' },
  signal: new AbortController().signal,
  progress: async () => undefined,
  outbound: {},
} as unknown as ToolContext;
const RANK = { none: 0, low: 1, medium: 2, high: 3, critical: 4 } as const;
const INNOCENT = ['human', 'crawler', 'monitor', 'feed_reader'];

function labels(file: string, server?: string): Map<string, string> {
  const rows = readFileSync(join(corpus, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split('\t'));
  return new Map(
    rows
      .filter((f) => !server || f[0] === server)
      .map((f) => (server ? [f[1], f[2]] : [f[0], f[1]]) as [string, string]),
  );
}

const levelOf = (score: number): keyof typeof RANK =>
  score >= 80 ? 'critical' : score >= 55 ? 'high' : score >= 30 ? 'medium' : score >= 10 ? 'low' : 'none';

/**
 * `alone`: rate each address by its own reasons, without "coordinated" (a cluster of addresses
 * sharing the tool's user agent would raise them all): the single-request sets measure each
 * request on its own, like a worm's one exploit.
 */
async function measure(files: string[], labelled: Map<string, string>, alone = false) {
  const r = await analyzeBotsTool.handler(
    {
      paths: files.map((f) => join(corpus, f)),
      format: 'auto',
      // Called directly, past the schema's cap of 500: every client is listed.
      top: 1_000_000,
      verifyBots: false,
      maxLines: 10_000_000,
      maxBytes: 1024 ** 3,
    },
    ctx,
  );
  const level = new Map(
    r.structured.clients.map((c) => [
      c.ip,
      alone
        ? levelOf(c.reasons.filter((x) => x.id !== 'coordinated').reduce((t, x) => t + x.points, 0))
        : c.threatLevel,
    ]),
  );
  const atLeast = (ip: string, l: keyof typeof RANK) => RANK[level.get(ip) ?? 'none'] >= RANK[l];
  const of = (want: (label: string) => boolean) => [...labelled].filter(([, l]) => want(l)).map(([ip]) => ip);
  const attack = of((l) => l === 'attack');
  const innocent = of((l) => INNOCENT.includes(l));
  const negative = of((l) => l === 'crs_negative');
  return {
    attacks: attack.length,
    recallMedium: attack.filter((ip) => atLeast(ip, 'medium')).length / attack.length,
    recallHigh: attack.filter((ip) => atLeast(ip, 'high')).length / attack.length,
    innocents: innocent.length,
    innocentFlagged: innocent.filter((ip) => atLeast(ip, 'medium')),
    negatives: negative.length,
    negativeFlagged: negative.filter((ip) => atLeast(ip, 'medium')).length,
    files: r.structured.summary.files,
  };
}

function print(name: string, m: Awaited<ReturnType<typeof measure>>): void {
  console.log(
    `${name}: ${m.attacks} attack IPs, recall >= medium ${m.recallMedium.toFixed(3)}, >= high ${m.recallHigh.toFixed(3)}; ` +
      `${m.innocents} innocent IPs, ${m.innocentFlagged.length} at >= medium` +
      (m.negatives ? `; CRS negative tests at >= medium ${m.negativeFlagged}/${m.negatives}` : ''),
  );
}

describe('analyze_bots on the labelled corpus', () => {
  it.each([
    ['nginx', 'nginx-access.log.gz', 'nginx-error.log.gz'],
    ['apache', 'apache-access.log.gz', 'apache-error.log.gz'],
  ])(
    'recorded %s (13 real attack tools, 53 browsing clients, access + error log)',
    async (server, access, error) => {
      const m = await measure(
        [`recorded/${access}`, `recorded/${error}`],
        labels('recorded/labels.tsv', server),
      );
      print(`recorded ${server}`, m);
      expect(m.files.map((f) => f.format)).toEqual([
        server === 'nginx' ? 'combined' : 'combined',
        `${server}_error`,
      ]);
      expect(m.attacks).toBe(13);
      expect(m.recallMedium).toBeGreaterThanOrEqual(0.9);
      expect(m.innocentFlagged).toEqual([]);
    },
  );

  it('exploit requests of Nikto and Nmap that ModSecurity flagged, one address per request', async () => {
    const m = await measure(['modsec/access.log.gz'], labels('modsec/labels.tsv'), true);
    print('ModSecurity-flagged single requests', m);
    expect(m.attacks).toBe(987);
    expect(m.recallMedium).toBeGreaterThanOrEqual(0.95);
  });

  it('OWASP CRS regression requests (one address per test; the exotic paranoia-level payloads included)', async () => {
    const m = await measure(['crs/access.log.gz'], labels('crs/labels.tsv'), true);
    print('CRS regression', m);
    expect(m.attacks).toBe(929);
    // Floors a little under the measured figures (0.234 and 19/261 when set): they catch a regression.
    expect(m.recallMedium).toBeGreaterThanOrEqual(0.22);
    expect(m.negativeFlagged / m.negatives).toBeLessThanOrEqual(0.1);
  });

  it('the real elastic Apache sample (labelled by hand)', async () => {
    const m = await measure(['elastic/access.log.gz'], labels('elastic/labels.tsv'));
    print('elastic apache 10k', m);
    expect(m.recallMedium).toBe(1);
    expect(m.innocents).toBeGreaterThan(100);
    expect(m.innocentFlagged).toEqual([]);
  });
});
