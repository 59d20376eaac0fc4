#!/usr/bin/env node
// Single-request exploit corpus labelled by an independent judge: every attack tool request of a
// recording (record.sh OUTDIR) that ModSecurity with the OWASP CRS (attack rule groups 930-944)
// flagged in Apache's error_log becomes one combined log line from its own address (own /24):
// recall here is per request, as for a worm that sends one exploit and leaves. Requests whose
// (address, second, path) is not unique cannot be matched to their ModSecurity verdict and are
// left out. Usage: node modsec-single.mjs OUTDIR CORPUS_DIR
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const [rec, corpus] = process.argv.slice(2);
const segs = readFileSync(join(rec, 'segments.tsv'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => l.split('\t'))
  .filter((f) => f[1] === 'apache')
  .map(([tool, , a0, a1, e0, e1]) => ({ tool, a0: +a0, a1: +a1, e0: +e0, e1: +e1 }));
const MON = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};
const access = readFileSync(join(rec, 'apache/access_log'), 'utf8').split('\n');
const error = readFileSync(join(rec, 'apache/error_log'), 'utf8').split('\n');
const flagged = new Map(); // tool|second|path -> rule ids
for (const seg of segs) {
  for (let n = seg.e0; n < seg.e1; n++) {
    const l = error[n] ?? '';
    if (!l.includes('[client 127.0.0.1:') || !l.includes('ModSecurity')) continue;
    const id = /\[id "(\d+)"\]/.exec(l)?.[1];
    const block = Math.floor(Number(id) / 1000);
    if (!(block >= 930 && block <= 944)) continue;
    const t = /^\[\w{3} (\w{3}) (\d{2}) (\d{2}):(\d{2}):(\d{2})\.\d+ (\d{4})\]/.exec(l);
    const uri = /\[uri "((?:[^"\\]|\\.)*)"\]/.exec(l)?.[1];
    if (!t || uri === undefined) continue;
    const sec = Date.UTC(+t[6], MON[t[1]], +t[2], +t[3], +t[4], +t[5]) / 1000;
    const key = `${seg.tool}|${sec}|${uri}`;
    flagged.set(key, [...new Set([...(flagged.get(key) ?? []), id])]);
  }
}
const rows = [];
for (const seg of segs) {
  const keys = new Map();
  for (let n = seg.a0; n < seg.a1; n++) {
    const l = access[n] ?? '';
    if (!l.startsWith('127.0.0.1 ')) continue;
    const m = /\[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) \+0000\] "\S+ (\S+)/.exec(l);
    if (!m) continue;
    const sec = Date.UTC(+m[3], MON[m[2]], +m[1], +m[4], +m[5], +m[6]) / 1000;
    const path = m[7].split('?')[0];
    const key = `${seg.tool}|${sec}|${path}`;
    keys.set(key, [...(keys.get(key) ?? []), l]);
  }
  for (const [key, lines] of keys)
    if (lines.length === 1 && flagged.has(key))
      rows.push({ line: lines[0], tool: seg.tool, ids: flagged.get(key) });
}
const out = [];
const labels = [];
rows.forEach((r, i) => {
  const ip = `100.${96 + Math.floor(i / 256)}.${i % 256}.9`;
  out.push(ip + r.line.slice('127.0.0.1'.length));
  labels.push([ip, 'attack', `${r.tool}: ModSecurity CRS 3.3.4 ${r.ids.join(',')}`]);
});
mkdirSync(join(corpus, 'modsec'), { recursive: true });
writeFileSync(join(corpus, 'modsec/access.log.gz'), gzipSync(`${out.join('\n')}\n`, { level: 9 }));
writeFileSync(
  join(corpus, 'modsec/labels.tsv'),
  `# ip\tlabel\ttool: rules that flagged the request\n${labels.map((l) => l.join('\t')).join('\n')}\n`,
);
const byTool = {};
for (const r of rows) byTool[r.tool] = (byTool[r.tool] ?? 0) + 1;
console.log(`${rows.length} single requests`, byTool);
