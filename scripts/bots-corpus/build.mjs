#!/usr/bin/env node
// Turns a recording (record.sh OUTDIR) into tests/corpora/bots/recorded/: each tool run's lines
// (client 127.0.0.1 within its segment of line numbers) get the tool's own address, benign
// clients keep theirs; labels.tsv says who is who. Error logs keep at most ERROR_LINES_PER_RUN
// lines per tool run (ModSecurity writes several long lines per request) so the corpus stays small.
// Usage: node build.mjs OUTDIR CORPUS_DIR
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const [rec, corpus] = process.argv.slice(2);
const ERROR_LINES_PER_RUN = 400;
const nets = ['192.0.2', '198.51.100', '203.0.113'];
const servers = {
  nginx: { access: 'nginx/access.log', error: 'nginx/error.log', hostBase: 10 },
  apache: { access: 'apache/access_log', error: 'apache/error_log', hostBase: 40 },
};
const segments = readFileSync(join(rec, 'segments.tsv'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => {
    const [tool, server, a0, a1, e0, e1] = l.split('\t');
    return { tool, server, a0: +a0, a1: +a1, e0: +e0, e1: +e1 };
  });
mkdirSync(corpus, { recursive: true });
const labels = [];
for (const [server, s] of Object.entries(servers)) {
  const segs = segments.filter((x) => x.server === server);
  segs.forEach((seg, i) => {
    seg.ip = `${nets[i % 3]}.${s.hostBase + i}`;
  });
  const ipFor = (n, kind) => segs.find((x) => (kind === 'a' ? x.a0 <= n && n < x.a1 : x.e0 <= n && n < x.e1));
  const access = readFileSync(join(rec, s.access), 'utf8').split('\n');
  if (access.at(-1) === '') access.pop();
  const outA = access.map((line, n) => {
    if (!line.startsWith('127.0.0.1 ')) return line;
    const seg = ipFor(n, 'a');
    if (!seg) throw new Error(`${server} access line ${n + 1} from 127.0.0.1 outside any tool run`);
    seg.used = true;
    return seg.ip + line.slice('127.0.0.1'.length);
  });
  const error = readFileSync(join(rec, s.error), 'utf8').split('\n');
  if (error.at(-1) === '') error.pop();
  const kept = new Map();
  const outE = [];
  error.forEach((line, n) => {
    const m = /client: 127\.0\.0\.1,|\[client 127\.0\.0\.1:\d+\]/.exec(line);
    if (!m) return void outE.push(line);
    const seg = ipFor(n, 'e');
    if (!seg) return; // start-up or shutdown noise of the recording itself
    const k = (kept.get(seg) ?? 0) + 1;
    kept.set(seg, k);
    if (k <= ERROR_LINES_PER_RUN) outE.push(line.replace(/127\.0\.0\.1/, seg.ip));
  });
  writeFileSync(join(corpus, `${server}-access.log.gz`), gzipSync(`${outA.join('\n')}\n`, { level: 9 }));
  writeFileSync(join(corpus, `${server}-error.log.gz`), gzipSync(`${outE.join('\n')}\n`, { level: 9 }));
  for (const seg of segs) if (seg.used || kept.has(seg)) labels.push([server, seg.ip, 'attack', seg.tool]);
  for (const l of readFileSync(join(rec, `labels-${server}.tsv`), 'utf8')
    .trim()
    .split('\n')) {
    const [ip, label] = l.split('\t');
    labels.push([server, ip, label, 'benign.mjs']);
  }
}
writeFileSync(
  join(corpus, 'labels.tsv'),
  `# server\tip\tlabel\tsource\n${labels.map((l) => l.join('\t')).join('\n')}\n`,
);
console.log(`${labels.length} labelled addresses`);
