#!/usr/bin/env node
// Issue 5: check_tls over 50 local targets. Peer: a bare tls.connect handshake to the same
// servers in the same run. Shows (1) concurrency: the total close to the slowest target's own
// time, not the sum; (2) per-target overhead of one check against one bare handshake.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { connect } from 'node:tls';
import { cpus } from 'node:os';
import { loadConfig } from '../dist/config.js';
import { createOutbound } from '../dist/net/outbound.js';
import { createLogger } from '../dist/observability/logger.js';
import { checkTlsTool } from '../dist/tools/checkTls.js';

const N = 50;
const RTT = Number(process.env.BENCH_TLS_RTT_MS ?? 0);
const child = spawn(
  process.execPath,
  [new URL('./tlsServers.mjs', import.meta.url).pathname, String(N), String(RTT)],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
// The child prints its ports on its first line.
const [line] = await once(createInterface({ input: child.stdout }), 'line');
const ports = JSON.parse(line);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function bare(port) {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const s = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      s.destroy();
      resolve(performance.now() - t);
    });
    s.on('error', reject);
  });
}

const config = loadConfig([], { LOG_LEVEL: 'silent' }).config;
const outbound = createOutbound(config);
const ctx = {
  config,
  host: { proc: '/proc', sys: '/sys', root: '/' },
  logger: createLogger('silent'),
  outbound,
  signal: new AbortController().signal,
  progress: async () => {},
};
const targets = ports.map((p) => `localhost:${p}`);
async function ours(full) {
  const t = performance.now();
  const { structured } = await checkTlsTool.handler(
    { targets, warnDays: 30, criticalDays: 14, checkProtocols: full, checkHeaders: full },
    ctx,
  );
  if (structured.results.some((r) => r.status === 'error')) throw new Error('a target failed');
  return performance.now() - t;
}
try {
  for (let i = 0; i < 3; i++) {
    await ours(true);
    for (const p of ports) await bare(p);
  }
  const rounds = 5;
  const bareEach = [];
  const bareTotal = [];
  const oursMin = [];
  const oursFull = [];
  const single = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (const p of ports) bareEach.push(await bare(p));
    bareTotal.push(performance.now() - t);
    oursMin.push(await ours(false));
    oursFull.push(await ours(true));
    const one = performance.now();
    await checkTlsTool.handler(
      { targets: [targets[0]], warnDays: 30, criticalDays: 14, checkProtocols: true, checkHeaders: true },
      ctx,
    );
    single.push(performance.now() - one);
  }
  const cpu = cpus();
  const b = median(bareEach);
  console.log(
    `\nmachine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, Node ${process.version}; ${N} local HTTPS servers (ECDSA P-256, TLS 1.3) in a separate process${RTT ? `, each connection delayed ${RTT} ms (a simulated round trip)` : ', raw loopback'}; median of ${rounds} rounds`,
  );
  console.log('| case | total ms | per target ms | vs one bare handshake |');
  console.log('| --- | --- | --- | --- |');
  console.log(
    `| bare tls.connect, one after another | ${median(bareTotal).toFixed(0)} | ${b.toFixed(2)} | 1.00x |`,
  );
  console.log(
    `| check_tls, 1 handshake per target (checkProtocols/checkHeaders false), 8 at a time | ${median(oursMin).toFixed(0)} | ${(median(oursMin) / N).toFixed(2)} | ${(median(oursMin) / N / b).toFixed(2)}x |`,
  );
  console.log(
    `| check_tls, full (1 + 4 protocol probes + 1 HTTPS GET per target), 8 at a time | ${median(oursFull).toFixed(0)} | ${(median(oursFull) / N).toFixed(2)} | ${(median(oursFull) / N / b).toFixed(2)}x |`,
  );
  console.log(`| check_tls, full, one target alone | ${median(single).toFixed(0)} | - | - |`);
  console.log(
    `concurrency: 50 full checks take ${(median(oursFull) / median(single)).toFixed(1)}x one check alone (50x if run one by one)`,
  );
} finally {
  outbound.close();
  child.kill();
}
