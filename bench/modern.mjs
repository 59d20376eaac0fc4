#!/usr/bin/env node
// npm run bench, 2026-07-28 cases: our server against a bare SDK v2 server (createMcpHandler, one
// trivial tool: bench/bareModernServer.mjs) under the same load, one at a time, alternating over
// ROUNDS rounds; each figure is the median round. Each request is a stateless 2026-07-28 call
// (the envelope in _meta, the standard headers), no session, no handshake.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { cpuMs, start } from './serverProcess.mjs';

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
// A third peer for tools/list only: the same bare server listing our tool definitions (taken
// from our own listing), which separates the cost of our layers from that of a 30 KB answer.
{
  const listed = await fetch(servers.ours.url, {
    method: 'POST',
    headers: CASES[1].ours.headers,
    body: CASES[1].ours.body,
  });
  const file = join(mkdtempSync(join(tmpdir(), 'bench-tools-')), 'tools.json');
  writeFileSync(file, JSON.stringify((await listed.json()).result.tools));
  servers.bareOurTools = await start('bench/bareModernServer.mjs', { BARE_TOOLS_FILE: file });
  CASES[1].bareOurTools = CASES[1].bare;
}
const results = Object.fromEntries(Object.keys(servers).map((n) => [n, CASES.map(() => [])]));
try {
  for (const [n, s] of Object.entries(servers)) for (const c of CASES) if (c[n]) await load(s.url, c[n], 2); // warm-up
  for (let round = 0; round < ROUNDS; round++)
    for (const [i, c] of CASES.entries())
      for (const [n, s] of Object.entries(servers)) {
        if (!c[n]) continue;
        const cpu0 = cpuMs([s.child.pid]);
        const r = await load(s.url, c[n], SECONDS);
        const cpu = (cpuMs([s.child.pid]) - cpu0) / r.requests.total;
        if (r.non2xx > 0 || r.errors > 0)
          throw new Error(`${n} ${c.name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
        results[n][i].push({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, cpu });
      }
} finally {
  for (const s of Object.values(servers)) s.child.kill('SIGTERM');
}

const cpu = cpus();
console.log(`machine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, Node ${process.version}`);
console.log(
  `2026-07-28 load: ${CONNECTIONS} connections, ${SECONDS}s per case, median of ${ROUNDS} alternating rounds`,
);
console.log('| case | server | calls/s | vs bare | p50/p99 ms | CPU ms/call | vs bare (CPU) |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
let met = true;
for (const [i, c] of CASES.entries()) {
  const pick = (n) => ({
    rps: median(results[n][i].map((r) => r.rps)),
    p50: median(results[n][i].map((r) => r.p50)),
    p99: median(results[n][i].map((r) => r.p99)),
    cpu: median(results[n][i].map((r) => r.cpu)),
  });
  const bare = pick('bare');
  for (const n of Object.keys(servers).filter((n) => c[n])) {
    const o = pick(n);
    console.log(
      `| ${c.name} | ${n} | ${o.rps.toFixed(0)} | ${(o.rps / bare.rps).toFixed(2)}x | ${o.p50}/${o.p99} | ${o.cpu.toFixed(3)} | ${(bare.cpu / o.cpu).toFixed(2)}x |`,
    );
  }
  const ratio = pick('ours').rps / bare.rps;
  met &&= ratio >= 0.9;
  const cpuRatio = bare.cpu / pick('ours').cpu;
  console.log(
    `target: ${c.name} >= 0.90x bare: ${ratio.toFixed(2)}x calls/s, ${ratio >= 0.9 ? 'met' : 'NOT met'}; ${cpuRatio.toFixed(2)}x by CPU per call (bare's CPU/call over ours)`,
  );
  if (c.bareOurTools) {
    const same = pick('bareOurTools');
    console.log(
      `same listing: ours vs the bare server listing our tools: ${(pick('ours').rps / same.rps).toFixed(2)}x calls/s, ${(same.cpu / pick('ours').cpu).toFixed(2)}x by CPU per call`,
    );
  }
}
