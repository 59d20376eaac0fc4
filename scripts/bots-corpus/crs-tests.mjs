#!/usr/bin/env node
// Converts the OWASP CRS regression tests (tests/regression/tests/**.yaml, Apache-2.0) whose
// payload shows in an access log (in the request target or the User-Agent; no body, no cookie)
// into combined log lines, one address per test, each in its own /24 so no subnet cluster hides a
// miss. Positive tests (the rule must fire) are labelled "attack"; negative ones (the rule must
// not fire: false-positive checks) "crs_negative".
// Usage: node crs-tests.mjs CRS_GIT_DIR OUT_DIR
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse } from 'yaml';

const [repo, out] = process.argv.slice(2);
const git = (...a) =>
  execFileSync('git', ['--git-dir', repo, ...a], { encoding: 'utf8', maxBuffer: 1 << 28 });
const commit = git('rev-parse', 'HEAD').trim();
const FAMILIES = {
  913: 'scanner',
  930: 'lfi',
  931: 'rfi',
  932: 'rce',
  933: 'php',
  934: 'generic',
  941: 'xss',
  942: 'sqli',
  944: 'java',
};
const files = git('ls-tree', '-r', '--name-only', commit, 'tests/regression/tests')
  .split('\n')
  .filter((f) => f.endsWith('.yaml'));
const DEFAULT_UA = 'OWASP CRS test agent';
const TRIVIAL = /^\/(?:|get|post|anything|index\.html)?$/;
const lines = [];
const labels = [];
let n = 0;
for (const f of files) {
  const doc = parse(git('show', `${commit}:${f}`), { uniqueKeys: false });
  if (!doc || !doc.rule_id) continue;
  const rule = Number(doc.rule_id);
  const family = FAMILIES[Math.floor(rule / 1000)];
  if (!family) continue;
  for (const t of doc.tests ?? []) {
    for (const stage of t.stages ?? []) {
      const input = stage.input ?? {};
      const log = stage.output?.log ?? {};
      const positive = (log.expect_ids ?? []).includes(rule);
      const negative = (log.no_expect_ids ?? []).includes(rule);
      if (!positive && !negative) continue;
      if (input.encoded_request || input.data || input.autocomplete_headers === false) continue;
      const headers = Object.fromEntries(
        Object.entries(input.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
      );
      if (headers.cookie || headers.referer) continue;
      const extra = Object.keys(headers).filter(
        (h) =>
          ![
            'host',
            'user-agent',
            'accept',
            'content-type',
            'content-length',
            'connection',
            'accept-encoding',
            'accept-language',
          ].includes(h),
      );
      if (extra.length > 0) continue;
      const method = input.method ?? 'GET';
      const uri = String(input.uri ?? '/');
      const ua = headers['user-agent'] ?? DEFAULT_UA;
      // Only what an access log shows: the payload in the target, or (913) in the User-Agent.
      if (family === 'scanner' ? ua === DEFAULT_UA : TRIVIAL.test(uri)) continue;
      if (/[\s"]/.test(uri) || /["\n]/.test(ua)) continue; // cannot be one log line as sent
      const ip = `100.${64 + Math.floor(n / 256)}.${n % 256}.7`;
      n++;
      const ts = `05/Dec/2026:10:${String(Math.floor(n / 60) % 60).padStart(2, '0')}:${String(n % 60).padStart(2, '0')} +0000`;
      lines.push(`${ip} - - [${ts}] "${method} ${uri} HTTP/1.1" 403 199 "-" "${ua}"`);
      labels.push([ip, positive ? 'attack' : 'crs_negative', `${family}:${rule}#${t.test_id}`]);
    }
  }
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'access.log.gz'), gzipSync(`${lines.join('\n')}\n`, { level: 9 }));
writeFileSync(
  join(out, 'labels.tsv'),
  `# ip\tlabel\tfamily:rule#test (CRS ${commit})\n${labels.map((l) => l.join('\t')).join('\n')}\n`,
);
console.log(
  `${lines.length} requests from CRS ${commit}: ${labels.filter((l) => l[1] === 'attack').length} attack, ${labels.filter((l) => l[1] !== 'attack').length} negative`,
);
