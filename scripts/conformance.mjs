#!/usr/bin/env node
// Runs the official MCP conformance suite against the built server (npm run build first).
// The suite needs Node >= 22; the project runs on Node 20, so npx brings a Node 22 for the suite only.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const SUITE = '@modelcontextprotocol/conformance@0.1.16';
// The scenarios that apply to a server without the suite's test_* fixture tools, resources and prompts
// (completion-complete asks about its test prompt: we answer no suggestions, see authorizationGate.ts).
const SCENARIOS = [
  'server-initialize',
  'ping',
  'logging-set-level',
  'tools-list',
  'tools-call-error',
  'server-sse-multiple-streams',
  'dns-rebinding-protection',
  'resources-list',
  'prompts-list',
  'completion-complete',
];

const server = spawn(process.execPath, ['dist/server.js'], {
  env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((resolve, reject) => {
  server.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
  // The server announces its URL (PORT=0 picks a free port) in its "listening" log line.
  createInterface({ input: server.stdout }).on('line', (line) => {
    try {
      const rec = JSON.parse(line);
      if (rec.msg === 'listening') resolve(rec.url);
    } catch {
      // not a log line
    }
  });
});

function runScenario(scenario) {
  return new Promise((resolve) => {
    const child = spawn(
      'npx',
      [
        '-y',
        '-p',
        'node@22',
        '-p',
        SUITE,
        '--',
        'conformance',
        'server',
        '--url',
        url,
        '--scenario',
        scenario,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

let failed = 0;
for (const scenario of SCENARIOS) {
  const { code, out } = await runScenario(scenario);
  const summary = /Passed: (\d+)\/(\d+), (\d+) failed, (\d+) warnings/.exec(out);
  const ok = code === 0 && summary !== null && summary[3] === '0' && summary[1] === summary[2];
  if (!ok) {
    failed++;
    process.stdout.write(out);
  }
  console.log(`${ok ? 'PASS' : 'FAIL'} ${scenario}: ${summary ? summary[0] : `no summary (exit ${code})`}`);
}
server.kill('SIGTERM');
console.log(
  failed === 0
    ? `conformance: all ${SCENARIOS.length} scenarios passed`
    : `conformance: ${failed} scenario(s) failed`,
);
process.exit(failed === 0 ? 0 : 1);
