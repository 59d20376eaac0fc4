#!/usr/bin/env node
// npm run bench, 2026-07-28 cases: our server against a bare SDK v2 server (createMcpHandler, one
// trivial tool: bench/bareModernServer.mjs) under the same load, one at a time, alternating over
// ROUNDS rounds; each figure is the median round. Each request is a stateless 2026-07-28 call
// (the envelope in _meta, the standard headers), no session, no handshake.
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { start } from './serverProcess.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MODERN = '2026-07-28';

const request = (method, params, name) => ({
  headers: {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
    ...(name ? { 'mcp-name': name } : {}),
  },
  body: JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method,
    params: {
      ...params,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': MODERN,
        'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
        'io.modelcontextprotocol/clientCapabilities': {},
      },
    },
  }),
});

const CASES = [
  {
    name: 'tools/call (ours: detect_system cached; bare: echo)',
    ours: request(
      'tools/call',
      { name: 'detect_system', arguments: { maxAgeSeconds: 3600 } },
      'detect_system',
    ),
    bare: request('tools/call', { name: 'echo', arguments: { text: 'hi' } }, 'echo'),
  },
  { name: 'tools/list', ours: request('tools/list', {}), bare: request('tools/list', {}) },
];

function load(url, req, seconds) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: 'POST',
        connections: CONNECTIONS,
        duration: seconds,
        body: req.body,
        headers: req.headers,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const servers = {
  ours: await start('dist/server.js', {
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_BURST: '0',
  }),
  bare: await start('bench/bareModernServer.mjs'),
};
const results = { ours: CASES.map(() => []), bare: CASES.map(() => []) };
try {
  for (const [n, s] of Object.entries(servers)) for (const c of CASES) await load(s.url, c[n], 2); // warm-up
  for (let round = 0; round < ROUNDS; round++)
    for (const [i, c] of CASES.entries())
      for (const [n, s] of Object.entries(servers)) {
        const r = await load(s.url, c[n], SECONDS);
        if (r.non2xx > 0 || r.errors > 0)
          throw new Error(`${n} ${c.name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
        results[n][i].push({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 });
      }
} finally {
  for (const s of Object.values(servers)) s.child.kill('SIGTERM');
}

const cpu = cpus();
console.log(`machine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, Node ${process.version}`);
console.log(
  `2026-07-28 load: ${CONNECTIONS} connections, ${SECONDS}s per case, median of ${ROUNDS} alternating rounds`,
);
console.log('| case | server | calls/s | vs bare | p50/p99 ms |');
console.log('| --- | --- | --- | --- | --- |');
let met = true;
for (const [i, c] of CASES.entries()) {
  const pick = (n) => ({
    rps: median(results[n][i].map((r) => r.rps)),
    p50: median(results[n][i].map((r) => r.p50)),
    p99: median(results[n][i].map((r) => r.p99)),
  });
  const bare = pick('bare');
  for (const n of ['ours', 'bare']) {
    const o = pick(n);
    console.log(
      `| ${c.name} | ${n} | ${o.rps.toFixed(0)} | ${(o.rps / bare.rps).toFixed(2)}x | ${o.p50}/${o.p99} |`,
    );
  }
  const ratio = pick('ours').rps / bare.rps;
  met &&= ratio >= 0.9;
  console.log(`target: ${c.name} >= 0.90x bare: ${ratio.toFixed(2)}x, ${ratio >= 0.9 ? 'met' : 'NOT met'}`);
}
