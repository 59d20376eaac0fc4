#!/usr/bin/env node
// Issue 4: analyze_bots against GoAccess on the same generated combined log, in the same run.
// 1,000,000 lines (~210 MB) for throughput; the same file concatenated to ~1 GB for peak memory
// (more lines, the same clients: memory must follow clients, not lines).
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const LINES = Number(process.env.BENCH_LOG_LINES ?? 1_000_000);
const COPIES = Number(process.env.BENCH_BIG_COPIES ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'bench-bots-'));

function rng(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixed traffic: 20,000 human IPs, crawlers, scanners, a botnet; documentation/benchmark ranges only. */
async function writeLog(path, n) {
  const r = rng(7);
  const uas = [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
    'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
    'curl/8.4.0',
    'Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)',
  ];
  const paths = [
    '/',
    '/blog/',
    '/blog/post-1',
    '/products/widget',
    '/static/app.css',
    '/static/app.js',
    '/images/logo.png',
    '/wp-login.php',
    '/.env',
    '/xmlrpc.php',
  ];
  const out = createWriteStream(path);
  const start = Date.UTC(2026, 10, 20);
  const mon = 'Nov';
  let buf = '';
  for (let i = 0; i < n; i++) {
    const x = r();
    const ip =
      x < 0.9
        ? `198.${18 + (i % 2)}.${Math.floor(r() * 100)}.${Math.floor(r() * 200)}`
        : `203.0.113.${Math.floor(r() * 250)}`;
    const ua = uas[x < 0.8 ? Math.floor(r() * 3) : 3 + Math.floor(r() * 5)];
    const path = paths[x < 0.95 ? Math.floor(r() * 7) : 7 + Math.floor(r() * 3)];
    const t = new Date(start + Math.floor((i / n) * 86_400_000));
    const p = (v) => String(v).padStart(2, '0');
    const ts = `${p(t.getUTCDate())}/${mon}/${t.getUTCFullYear()}:${p(t.getUTCHours())}:${p(t.getUTCMinutes())}:${p(t.getUTCSeconds())} +0000`;
    const status = path.startsWith('/.') || path.includes('wp-') ? 404 : r() < 0.1 ? 304 : 200;
    buf += `${ip} - - [${ts}] "GET ${path}?q=${i % 997} HTTP/1.1" ${status} ${Math.floor(r() * 50_000)} "-" "${ua}"\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise((res) => out.once('drain', res));
      buf = '';
    }
  }
  out.end(buf);
  await new Promise((res) => out.once('finish', res));
}

function ours(file) {
  const res = spawnSync(process.execPath, [join(import.meta.dirname, 'botsWorker.mjs'), file], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (res.status !== 0) throw new Error(`analyze_bots worker failed: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

function goaccess(file) {
  const which = spawnSync('goaccess', ['--version'], { encoding: 'utf8' });
  if (which.error)
    throw new Error('goaccess not found: apt-get install goaccess (the peer of this benchmark)');
  const report = join(dir, 'report.json');
  // GNU time's %M gives the peer's peak RSS too; /usr/bin/time may be absent, so time it here.
  const t = performance.now();
  execFileSync('goaccess', [file, '--log-format=COMBINED', '--no-global-config', '-o', report], {
    stdio: 'ignore',
  });
  return { ms: performance.now() - t };
}

try {
  const file = join(dir, 'access.log');
  await writeLog(file, LINES);
  const size = statSync(file).size;
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const o = [];
  const g = [];
  for (let i = 0; i < rounds; i++) {
    o.push(ours(file));
    g.push(goaccess(file));
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const oursMs = med(o.map((x) => x.ms));
  const goMs = med(g.map((x) => x.ms));
  const big = join(dir, 'big.log');
  execFileSync('sh', ['-c', `for i in $(seq ${COPIES}); do cat "${file}"; done > "${big}"`]);
  const bigSize = statSync(big).size;
  const b = ours(big);
  const cpu = cpus();
  console.log(
    `\nmachine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${execFileSync('goaccess', ['--version'], { encoding: 'utf8' }).split('\n')[0]}`,
  );
  console.log(
    `log: ${LINES} combined lines, ${(size / 2 ** 20).toFixed(0)} MiB, ${o[0].uniqueIps} distinct IPs; median of ${rounds} alternating runs`,
  );
  console.log('| case | ours lines/s | GoAccess lines/s | ratio | ours peak RSS |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(
    `| ${LINES} lines | ${Math.round(LINES / (oursMs / 1000))} | ${Math.round(LINES / (goMs / 1000))} | ${(goMs / oursMs).toFixed(2)}x | ${med(o.map((x) => x.maxRssMiB)).toFixed(0)} MiB |`,
  );
  console.log(
    `| ${b.lines} lines, ${(bigSize / 2 ** 30).toFixed(2)} GiB (same clients) | ${Math.round(b.lines / (b.ms / 1000))} | - | - | ${b.maxRssMiB.toFixed(0)} MiB |`,
  );
  console.log(
    `targets: >= 2x GoAccess lines/s: ${goMs / oursMs >= 2 ? 'met' : 'NOT met'}; peak RSS < 300 MB on ~1 GB: ${b.maxRssMiB * 1.048576 < 300 ? 'met' : 'NOT met'}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
