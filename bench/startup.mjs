#!/usr/bin/env node
// Issue 18: how fast the server starts. Each case is a fresh process, median of N runs, with
// bare `node -e 0` measured in the same run as the floor nobody can go under:
// - `--version` and `--help` (answered before config, the SDK, express or pino load);
// - HTTP start: spawn to the "listening" log line, and spawn to the first 200 from /health.
// BENCH_SERVER=/path/to/server.js measures another build (e.g. an older commit) the same way.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const N = Number(process.env.BENCH_ITERATIONS ?? 15);
const SERVER = process.env.BENCH_SERVER ?? join(import.meta.dirname, '..', 'dist', 'server.js');
const dataDir = mkdtempSync(join(tmpdir(), 'bench-startup-'));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timeExec(args) {
  const ms = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    execFileSync(process.execPath, args, { stdio: 'ignore', env: { ...process.env, DATA_DIR: dataDir } });
    ms.push(performance.now() - t);
  }
  return median(ms);
}

function health(port) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health' }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function httpStart() {
  const t = performance.now();
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', LOG_FORMAT: 'json', DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const port = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const rec = JSON.parse(line);
        if (rec.msg === 'listening') resolve(rec.port);
      } catch {
        // not a log line
      }
    });
  });
  const listening = performance.now() - t;
  while ((await health(port)) !== 200);
  const healthy = performance.now() - t;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  return { listening, healthy };
}

const bare = timeExec(['-e', '0']);
const version = timeExec([SERVER, '--version']);
const help = timeExec([SERVER, '--help']);
const starts = [];
for (let i = 0; i < N; i++) starts.push(await httpStart());
rmSync(dataDir, { recursive: true, force: true });

const f = (ms) => `${Math.round(ms)} ms`;
console.log(`startup (${SERVER}), median of ${N}, ${cpus().length} CPUs, node ${process.version}`);
console.log(`  node -e 0 (floor)     ${f(bare)}`);
console.log(`  --version             ${f(version)}  (+${f(version - bare)} over bare node)`);
console.log(`  --help                ${f(help)}  (+${f(help - bare)})`);
console.log(`  HTTP: listening       ${f(median(starts.map((s) => s.listening)))}`);
console.log(`  HTTP: /health 200     ${f(median(starts.map((s) => s.healthy)))}`);
