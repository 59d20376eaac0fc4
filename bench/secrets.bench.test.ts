/**
 * Issue 16: scan_secrets throughput (scanText, the pure part) on real text, so a more thorough
 * generic rule does not slow the scanner down unnoticed. Inputs: TypeScript's own lib.dom.d.ts and
 * typescript.js and this repository's package-lock.json (about 11 MB of declarations, code and
 * JSON, from node_modules), plus the hostile lines of the unit test. Each is scanned
 * BENCH_SECRETS_ROUNDS times (default 7) after one warm-up and the best round is kept, which
 * filters out a shared machine's noise. Peer: `text.split('\n')` plus one keyword regex over every
 * line, the floor any line scanner pays. Run (not part of `npm test`):
 *   npx vitest run --config bench/vitest.bench.config.ts bench/secrets.bench.test.ts
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { expect, it } from 'vitest';
import { scanText } from '../src/audit/secrets/scanText.js';

const ROUNDS = Number(process.env.BENCH_SECRETS_ROUNDS ?? 7);
const opts = { entropyThreshold: 3.5, maxMatches: 100_000 };

function best(f: () => void): number {
  f();
  let b = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    f();
    b = Math.min(b, performance.now() - t);
  }
  return b;
}

it('scans real text and hostile lines', () => {
  const files = [
    'node_modules/typescript/lib/lib.dom.d.ts',
    'node_modules/typescript/lib/typescript.js',
    'package-lock.json',
  ];
  const real = files.map((p) => readFileSync(p, 'utf8')).join('\n');
  const mb = Buffer.byteLength(real) / 1e6;
  let matches = 0;
  const ours = best(() => {
    matches = scanText(real, opts).matches.length;
  });
  const floor = best(() => {
    let n = 0;
    for (const l of real.split('\n')) if (/passw|secret|token|key/i.test(l)) n++;
    expect(n).toBeGreaterThan(0);
  });
  const hostile = [
    'password'.repeat(20_000),
    'a'.repeat(200_000),
    'ey'.repeat(100_000),
    'key='.repeat(50_000),
    'password="'.repeat(20_000),
    '"a": "Set token=x'.repeat(10_000),
    // Lines just under the 4 KiB the generic rule reads.
    `${'key='.repeat(1000)}\n`.repeat(250),
    `${'password="'.repeat(400)}\n`.repeat(250),
  ].join('\n');
  const h = best(() => scanText(hostile, opts));
  console.log(
    `\nscan_secrets scanText, best of ${ROUNDS} (${cpus().length} CPUs: ${cpus()[0]?.model ?? '?'})`,
  );
  console.log('| input | MB | ms | MB/s | findings |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(
    `| real text (${files.length} files) | ${mb.toFixed(1)} | ${ours.toFixed(0)} | ${(mb / (ours / 1000)).toFixed(1)} | ${matches} |`,
  );
  console.log(
    `| peer: split + one regex | ${mb.toFixed(1)} | ${floor.toFixed(0)} | ${(mb / (floor / 1000)).toFixed(1)} | - |`,
  );
  console.log(
    `| hostile lines | ${(hostile.length / 1e6).toFixed(1)} | ${h.toFixed(0)} | ${(hostile.length / 1e6 / (h / 1000)).toFixed(1)} | - |`,
  );
});
