#!/usr/bin/env node
// Prints analyze_bots' figures on tests/corpora/bots with a given build (for before/after rows in
// BENCHMARKS.md): recall of attack IPs at >= medium and >= high, and innocent IPs at >= medium.
// Usage: node measure.mjs DIST_DIR [--access-only]   (the handler of that build, format auto)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dist, flag] = process.argv.slice(2);
const accessOnly = flag === '--access-only';
const corpus = join(import.meta.dirname, '../../tests/corpora/bots');
const { loadConfig } = await import(join(dist, 'config.js'));
const { createOutbound } = await import(join(dist, 'net/outbound.js'));
const { createLogger } = await import(join(dist, 'observability/logger.js'));
const { analyzeBotsTool } = await import(join(dist, 'tools/analyzeBots.js'));
const config = loadConfig([], { AUDIT_ALLOWED_PATHS: corpus, LOG_LEVEL: 'silent' }).config;
const outbound = createOutbound(config);
const ctx = {
  config,
  host: { proc: '/proc', sys: '/sys', root: '/' },
  logger: createLogger('silent'),
  outbound,
  signal: new AbortController().signal,
  progress: async () => {},
};
const readLabels = (file, server) =>
  new Map(
    readFileSync(join(corpus, file), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split('\t'))
      .filter((f) => !server || f[0] === server)
      .map((f) => (server ? [f[1], f[2]] : [f[0], f[1]])),
  );
const sets = [
  {
    name: 'recorded nginx (tools vs browsing)',
    files: ['recorded/nginx-access.log.gz', 'recorded/nginx-error.log.gz'],
    labels: readLabels('recorded/labels.tsv', 'nginx'),
  },
  {
    name: 'recorded apache + ModSecurity',
    files: ['recorded/apache-access.log.gz', 'recorded/apache-error.log.gz'],
    labels: readLabels('recorded/labels.tsv', 'apache'),
  },
  {
    name: 'ModSecurity-flagged single requests',
    files: ['modsec/access.log.gz'],
    labels: readLabels('modsec/labels.tsv'),
  },
  { name: 'CRS regression requests', files: ['crs/access.log.gz'], labels: readLabels('crs/labels.tsv') },
  {
    name: 'elastic apache 10k (real)',
    files: ['elastic/access.log.gz'],
    labels: readLabels('elastic/labels.tsv'),
  },
];
const rank = { none: 0, low: 1, medium: 2, high: 3, critical: 4 };
for (const set of sets) {
  const paths = set.files.filter((f) => !accessOnly || !f.includes('error')).map((f) => join(corpus, f));
  const r = await analyzeBotsTool.handler(
    { paths, format: 'auto', top: 1_000_000, verifyBots: false, maxLines: 1e9, maxBytes: 1e12 },
    ctx,
  );
  // The handler is called directly, past the schema's cap of 500, so every client is listed.
  // Single-request sets measure each request alone: "coordinated" (raised by a cluster of IPs
  // sharing the tool's UA) is left out there.
  const single = set.files.some((f) => f.startsWith('crs/') || f.startsWith('modsec/'));
  const lvl = (score) =>
    score >= 80 ? 'critical' : score >= 55 ? 'high' : score >= 30 ? 'medium' : score >= 10 ? 'low' : 'none';
  const level = new Map(
    r.structured.clients.map((c) => [
      c.ip,
      single
        ? lvl(
            Math.min(
              100,
              c.reasons.filter((x) => x.id !== 'coordinated').reduce((t, x) => t + x.points, 0),
            ),
          )
        : c.threatLevel,
    ]),
  );
  const of = (l) => [...set.labels].filter(([, x]) => x === l).map(([ip]) => ip);
  const attack = of('attack');
  const atLeast = (ips, l) => ips.filter((ip) => rank[level.get(ip) ?? 'none'] >= rank[l]);
  const innocent = [...set.labels]
    .filter(([, x]) => ['human', 'crawler', 'monitor', 'feed_reader'].includes(x))
    .map(([ip]) => ip);
  const neg = of('crs_negative');
  const fp = atLeast(innocent, 'medium');
  console.log(
    `${set.name}: attack IPs ${attack.length}, recall >= medium ${(atLeast(attack, 'medium').length / attack.length).toFixed(3)}, >= high ${(atLeast(attack, 'high').length / attack.length).toFixed(3)}; innocent IPs ${innocent.length}, at >= medium ${fp.length}${fp.length ? ` (${fp.join(' ')})` : ''}${neg.length ? `; CRS negative tests at >= medium ${atLeast(neg, 'medium').length}/${neg.length}` : ''}`,
  );
  if (process.env.MISSES)
    console.log('  missed:', attack.filter((ip) => rank[level.get(ip) ?? 'none'] < 2).join(' '));
}
outbound.close();
