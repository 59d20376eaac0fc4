#!/usr/bin/env node
// Issue 21: what analyze_bots' per-bucket traffic timeline (src/audit/bots/trafficTimeline.ts)
// costs per line. Interleaved A/B in one process on the real elastic Apache sample x20: parsing
// and the analyzer with the timeline, and with its add() a no-op. Median of 7 rounds.
// Run after `npm run build`: node bench/botsTimeline.mjs
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const { BotAnalyzer } = await import(join(root, 'dist/audit/bots/analyzer.js'));
const { TimelineBuilder } = await import(join(root, 'dist/audit/bots/trafficTimeline.js'));
const { parserFor } = await import(join(root, 'dist/audit/logs/logFormat.js'));
const parse = parserFor('combined');
const sample = readFileSync(join(root, 'tests/fixtures/logs/elastic-apache-10k.log'), 'utf8')
  .split('\n')
  .filter(Boolean);
const lines = Array.from({ length: 20 }, () => sample).flat();
const realAdd = TimelineBuilder.prototype.add;

function run(withTimeline) {
  TimelineBuilder.prototype.add = withTimeline ? realAdd : () => {};
  const a = new BotAnalyzer({ isAllowed: () => false });
  const t = performance.now();
  for (const l of lines) {
    const e = parse(l);
    if (e) a.add(e);
  }
  a.finish(25);
  return performance.now() - t;
}

run(true);
run(false);
const on = [];
const off = [];
for (let r = 0; r < 7; r++) {
  off.push(run(false));
  on.push(run(true));
}
const median = (a) => a.sort((x, y) => x - y)[3];
console.log(
  `${lines.length} lines: ${median(on).toFixed(0)} ms with the timeline, ${median(off).toFixed(0)} ms without, ` +
    `ratio ${(median(on) / median(off)).toFixed(3)}`,
);
