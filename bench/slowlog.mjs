#!/usr/bin/env node
// Issue 10: analyze_slow_queries on a generated MySQL/MariaDB slow log (BENCH_SLOWLOG_MB, default
// 1024 MiB), against pt-query-digest (Percona Toolkit, `apt-get install percona-toolkit`) on the
// same file in the same run; without it, `grep -c '^# Query_time'` (a read-and-match floor) is the
// peer and the output says so. Ours runs the tool's real handler from dist/ in a child process so
// its peak RSS is its own. The file is written to a temp dir and deleted afterwards.
// Also cross-checks the grouping: fingerprint classes and counts against pt-query-digest's.
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

if (process.argv[2] === '--worker') {
  await worker(process.argv[3]);
  process.exit(0);
}

const MB = Number(process.env.BENCH_SLOWLOG_MB ?? 1024);
const dir = mkdtempSync(join(tmpdir(), 'bench-slowlog-'));

function rng(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A MariaDB slow log: MariaDB headers (Thread_id/Schema/QC_hit, Rows_affected), SET timestamp,
 * ~40 statement shapes with varying literals (IN lists of 1-30 items, multi-row INSERTs,
 * multi-line statements, comments, strings with escaped quotes), a few full scans and a burst.
 */
async function writeLog(path, bytes) {
  const r = rng(10);
  const int = (n) => Math.floor(r() * n);
  const str = () => `'${['alice', 'bob', "o\\'brien", 'carol@example.org', 'x y z'][int(5)]}${int(100000)}'`;
  const list = (n) => Array.from({ length: n }, () => int(1_000_000)).join(', ');
  const shapes = [
    () => [`SELECT * FROM wp_posts WHERE ID = ${int(1e6)}`, 1, 1],
    () => [`SELECT option_value FROM wp_options WHERE option_name = ${str()} LIMIT 1`, 1, 1],
    () => [`SELECT * FROM orders WHERE customer_email = ${str()}`, 1, 480_000],
    () => [`SELECT id, title FROM products WHERE id IN (${list(1 + int(30))})`, 10, 10],
    () => [
      `SELECT p.id, p.title, c.name\n  FROM products p\n  JOIN categories c ON c.id = p.category_id\n WHERE p.price > ${int(500)}.${int(99)}\n ORDER BY p.price DESC\n LIMIT ${int(100)}, 20`,
      20,
      2000,
    ],
    () => [
      `UPDATE sessions SET last_seen = ${1_795_000_000 + int(1e6)}, data = ${str()} WHERE id = '${int(1e9).toString(16)}'`,
      0,
      1,
    ],
    () => [
      `INSERT INTO audit_log (user_id, action, created_at) VALUES (${int(1e5)}, ${str()}, NOW()), (${int(1e5)}, ${str()}, NOW()), (${int(1e5)}, ${str()}, NOW())`,
      0,
      0,
    ],
    () => [`DELETE FROM cart_items WHERE cart_id = ${int(1e6)} AND sku = ${str()}`, 0, 3],
    () => [`SELECT COUNT(*) FROM events WHERE kind = ${str()} /* dashboard widget */`, 1, 2_000_000],
    () => [
      `SELECT u.* FROM users u WHERE u.status = 'active' AND u.created_at >= '2026-0${1 + int(9)}-01' -- report\n  AND u.plan IN ('pro', 'team')`,
      500,
      90_000,
    ],
  ];
  for (let i = 0; i < 30; i++)
    shapes.push(() => [
      `SELECT col_${String.fromCharCode(97 + i)} FROM table_${String.fromCharCode(97 + i)} WHERE key_${String.fromCharCode(97 + i)} = ${int(1e6)}`,
      1,
      1,
    ]);
  const users = ['app', 'app', 'app', 'report', 'cron', 'wp'];
  const out = createWriteStream(path);
  let written = 0;
  let buf =
    '/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-0+deb12u1-log (Debian 12). started with:\nTcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\nTime\t\t    Id Command\tArgument\n';
  let t = 1_795_168_800;
  let thread = 1000;
  let lastTime = 0;
  for (let n = 0; written + buf.length < bytes; n++) {
    if (n % 7 === 0) t++;
    const burst = n % 200_000 < 3000; // a cron job hammering one statement
    const [sql, sent, examined] = burst ? shapes[2]() : shapes[int(shapes.length)]();
    const user = burst ? 'cron' : users[int(users.length)];
    if (t !== lastTime) {
      const d = new Date(t * 1000);
      const p = (v) => String(v).padStart(2, '0');
      buf += `# Time: ${String(d.getUTCFullYear()).slice(2)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())} ${String(d.getUTCHours()).padStart(2)}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}\n`;
      lastTime = t;
    }
    const qt = examined > 10_000 ? 0.5 + r() * 3 : r() * 0.05;
    buf +=
      `# User@Host: ${user}[${user}] @ web${int(4)} [192.0.2.${int(250)}]\n` +
      `# Thread_id: ${thread + int(50)}  Schema: shop  QC_hit: No\n` +
      `# Query_time: ${qt.toFixed(6)}  Lock_time: ${(r() * 0.001).toFixed(6)}  Rows_sent: ${sent}  Rows_examined: ${examined}\n` +
      `# Rows_affected: ${sent === 0 ? 1 : 0}  Bytes_sent: ${100 + int(5000)}\n` +
      `SET timestamp=${t};\n${sql};\n`;
    if (buf.length > 1 << 20) {
      written += buf.length;
      if (!out.write(buf)) await new Promise((res) => out.once('drain', res));
      buf = '';
    }
  }
  out.end(buf);
  await new Promise((res) => out.once('finish', res));
}

/** Child: the tool's real handler from dist/ on FILE; prints timings, peak RSS and the classes. */
async function worker(file) {
  const { loadConfig } = await import('../dist/config.js');
  const { createLogger } = await import('../dist/observability/logger.js');
  const { analyzeSlowQueriesTool } = await import('../dist/tools/analyzeSlowQueries.js');
  const action = loadConfig([], {
    AUDIT_ALLOWED_PATHS: dirname(file),
    LOG_LEVEL: 'silent',
    TOOL_DEADLINE_SECONDS: '3600',
  });
  const ctx = {
    config: action.config,
    host: { proc: '/proc', sys: '/sys', root: '/' },
    logger: createLogger('silent'),
    signal: new AbortController().signal,
    progress: async () => {},
    notify: () => {},
  };
  const t = performance.now();
  const { structured } = await analyzeSlowQueriesTool.handler(
    {
      paths: [file],
      format: 'auto',
      top: 200,
      orderBy: 'totalTime',
      maxLines: 2_000_000_000,
      maxBytes: 1024 ** 4,
    },
    ctx,
  );
  const ms = performance.now() - t;
  process.stdout.write(
    JSON.stringify({
      ms,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
      entries: structured.summary.entries,
      lines: structured.summary.lines,
      partial: structured.partial,
      classes: structured.queries.map((q) => ({
        id: q.id,
        fingerprint: q.fingerprint,
        count: q.count,
        flags: q.flags,
      })),
    }),
  );
}

function ours(file) {
  const res = spawnSync(process.execPath, [import.meta.filename, '--worker', file], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (res.status !== 0) throw new Error(`analyze_slow_queries worker failed: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

const have = (bin) => spawnSync('which', [bin]).status === 0;

/** The peer under GNU time for its peak RSS (%M, KiB) when /usr/bin/time exists. */
function timed(cmd, args) {
  const gnuTime = have('/usr/bin/time') ? '/usr/bin/time' : null;
  const t = performance.now();
  const res = gnuTime
    ? spawnSync(gnuTime, ['-f', '%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 })
    : spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  const ms = performance.now() - t;
  if (res.status !== 0 && !(cmd === 'grep' && res.status === 1))
    throw new Error(`${cmd} failed: ${res.stderr}`);
  const rss = gnuTime ? Number(res.stderr.trim().split('\n').at(-1)) / 1024 : null;
  return { ms, maxRssMiB: rss, stdout: res.stdout };
}

function ptDigest(file) {
  const r = timed('pt-query-digest', ['--output', 'json', '--limit', '100%', '--no-version-check', file]);
  const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
  return {
    ...r,
    classes: json.classes.map((c) => ({
      id: c.checksum,
      fingerprint: c.fingerprint,
      count: Number(c.query_count),
    })),
  };
}

try {
  const file = join(dir, 'mariadb-slow.log');
  await writeLog(file, MB * 2 ** 20);
  const size = statSync(file).size;
  const peerName = have('pt-query-digest') ? 'pt-query-digest' : "grep -c '^# Query_time'";
  const peer = peerName === 'pt-query-digest' ? ptDigest : (f) => timed('grep', ['-c', '^# Query_time', f]);
  if (peerName !== 'pt-query-digest')
    console.error(
      'pt-query-digest not found (apt-get install percona-toolkit): the peer is grep -c, a read-and-match floor',
    );
  const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
  const o = [];
  const p = [];
  for (let i = 0; i < rounds; i++) {
    o.push(ours(file));
    p.push(peer(file));
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const oursMs = med(o.map((x) => x.ms));
  const peerMs = med(p.map((x) => x.ms));
  const mib = size / 2 ** 20;
  const cpu = cpus();
  const peerVersion =
    peerName === 'pt-query-digest'
      ? execFileSync('pt-query-digest', ['--version'], { encoding: 'utf8' }).trim()
      : execFileSync('grep', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  console.log(
    `\nmachine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${peerVersion}`,
  );
  console.log(
    `log: ${mib.toFixed(0)} MiB MariaDB slow log, ${o[0].entries} entries, ${o[0].lines} lines; median of ${rounds} alternating run(s)`,
  );
  console.log(`| case | ours MB/s | ${peerName} MB/s | ratio | ours peak RSS | peer peak RSS |`);
  console.log('| --- | --- | --- | --- | --- | --- |');
  const fmt = (v) => (v === null || v === undefined ? '-' : `${v.toFixed(0)} MiB`);
  console.log(
    `| ${mib.toFixed(0)} MiB slow log | ${(mib / (oursMs / 1000)).toFixed(1)} | ${(mib / (peerMs / 1000)).toFixed(1)} | ${(peerMs / oursMs).toFixed(2)}x | ${fmt(med(o.map((x) => x.maxRssMiB)))} | ${fmt(p[0].maxRssMiB)} |`,
  );
  console.log(`ours: ${(oursMs / 1000).toFixed(1)} s; peer: ${(peerMs / 1000).toFixed(1)} s`);
  if (p[0].classes) {
    // Grouping cross-check. pt's JSON gives the whole MD5 (our id is its last 16 hex digits); where
    // its fingerprint differs (a trailing space left by a stripped comment) the classes are matched
    // by the fingerprint with whitespace trimmed.
    const norm = (fp) => fp.trim();
    const theirs = new Map(p[0].classes.map((c) => [norm(c.fingerprint), c]));
    let sameId = 0;
    let sameCount = 0;
    for (const c of o[0].classes) {
      const t = theirs.get(norm(c.fingerprint));
      if (t && t.id.slice(-16).toUpperCase() === c.id) sameId++;
      if (t && t.count === c.count) sameCount++;
    }
    const ptTotal = p[0].classes.reduce((s, c) => s + c.count, 0);
    console.log(
      `grouping: ours ${o[0].classes.length} classes / ${o[0].entries} queries, pt-query-digest ${p[0].classes.length} classes / ${ptTotal} queries; ${sameCount} classes with the same fingerprint and count, ${sameId} also with the same checksum`,
    );
    const ourFps = new Set(o[0].classes.map((c) => norm(c.fingerprint)));
    for (const c of o[0].classes.filter((x) => !theirs.has(norm(x.fingerprint))).slice(0, 5))
      console.log(`  ours only: ${c.count} ${c.fingerprint.slice(0, 120)}`);
    for (const c of p[0].classes.filter((x) => !ourFps.has(norm(x.fingerprint))).slice(0, 5))
      console.log(`  pt only:   ${c.count} ${c.fingerprint.slice(0, 120)}`);
  }
  console.log(
    `peak RSS < 300 MB on ~1 GB: ${med(o.map((x) => x.maxRssMiB)) * 1.048576 < 300 ? 'met' : 'NOT met'}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
