/**
 * Issue 10: check_database latency against real local database servers, with a peer measured in
 * the same run. PostgreSQL and MariaDB are started in temp dirs on free loopback ports
 * (tests/helpers/databases.ts); our server runs in this process with a DB_TARGETS_FILE naming
 * both, and is called through a real MCP client over loopback HTTP.
 *
 * - Ours: one `tools/call` of check_database (one connection, ~20 catalogue queries, analysis,
 *   output-schema validation on both sides), end to end as a client sees it.
 * - Peer: the driver's bare round trip to the same server with the same credentials: connect
 *   (TCP + auth) + `SELECT 1` + close, with pg / mysql2 directly.
 * - Context: MCP `ping` over the same client (the HTTP + JSON-RPC floor, no database).
 *
 * The three are interleaved call by call (after BENCH_DB_WARMUP warm-ups of each, default 3;
 * BENCH_DB_CALLS measured, default 30), so drift on a shared machine hits them alike. Rate limits
 * off, LOG_LEVEL silent. Run (not part of `npm test`):
 *   npx vitest run --config bench/vitest.bench.config.ts bench/database.bench.test.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningHttp } from '../src/runtime.js';
import {
  type MariadbPeer,
  type PgPeer,
  requireMariadb,
  requirePostgres,
  startMariadb,
  startPostgres,
} from '../tests/helpers/databases.js';
import { connectClient, startInProcess } from '../tests/helpers/servers.js';

const CALLS = Number(process.env.BENCH_DB_CALLS ?? 30);
const WARMUP = Number(process.env.BENCH_DB_WARMUP ?? 3);
const PG_PW = 'bench-pg-password-1';
const MY_PW = 'bench-my-password-1';

interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: { status: string; version: string; findings: unknown[] };
}

interface Stats {
  p50: number;
  p95: number;
  n: number;
}

/** Nearest-rank percentile of sorted samples. */
const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;

function stats(ms: number[]): Stats {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: pct(s, 0.5), p95: pct(s, 0.95), n: s.length };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function machine(): string {
  let n = String(cpus().length);
  try {
    n = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // no coreutils: os.cpus() it is
  }
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) model = line.split(':').slice(1).join(':').trim();
  } catch {
    // not Linux
  }
  return `nproc ${n}, ${model}, Node ${process.version}`;
}

let pgPeer: PgPeer | undefined;
let myPeer: MariadbPeer | undefined;
let server: RunningHttp | undefined;
let client: Client | undefined;
let dir: string | undefined;

beforeAll(async () => {
  if (!requirePostgres() || !requireMariadb())
    throw new Error(
      'the database bench needs PostgreSQL (initdb, postgres) and MariaDB (mariadbd, mariadb-install-db)',
    );
  // allSettled: if one fails to start, the other is still assigned, so afterAll stops it.
  const [p, m] = await Promise.allSettled([
    startPostgres({ adminPassword: PG_PW }),
    startMariadb({ adminPassword: MY_PW }),
  ]);
  if (p.status === 'fulfilled') pgPeer = p.value;
  if (m.status === 'fulfilled') myPeer = m.value;
  if (p.status === 'rejected') throw p.reason;
  if (m.status === 'rejected') throw m.reason;
  dir = mkdtempSync(join(tmpdir(), 'bench-dbtargets-'));
  const file = join(dir, 'targets.yaml');
  writeFileSync(
    file,
    [
      `- { name: pg, kind: postgres, host: 127.0.0.1, port: ${p.value.port}, user: postgres, passwordEnv: DB_PW_PG, database: postgres }`,
      `- { name: my, kind: mysql, host: 127.0.0.1, port: ${m.value.port}, user: admin, passwordEnv: DB_PW_MY }`,
      '',
    ].join('\n'),
  );
  server = await startInProcess({
    DB_TARGETS_FILE: file,
    DB_PW_PG: PG_PW,
    DB_PW_MY: MY_PW,
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_BURST: '0',
  });
  client = await connectClient(server.url, 'bench-client');
});

afterAll(async () => {
  await client?.close();
  await server?.shutdown('bench done');
  await Promise.all([pgPeer?.stop(), myPeer?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('check_database latency vs a bare driver round trip (connect + SELECT 1 + close)', async () => {
  const c = client!;
  const pgP = pgPeer!;
  const myP = myPeer!;
  let version = { pg: '', my: '' };

  const tool = (target: 'pg' | 'my') => async () => {
    const r = (await c.callTool({ name: 'check_database', arguments: { target } })) as ToolResult;
    if (r.isError || !r.structuredContent)
      throw new Error(`check_database ${target} failed: ${r.content[0]?.text ?? 'no text'}`);
    version = { ...version, [target]: r.structuredContent.version };
  };
  const barePg = async () => {
    const conn = new pg.Client({
      host: '127.0.0.1',
      port: pgP.port,
      user: 'postgres',
      password: PG_PW,
      database: 'postgres',
    });
    await conn.connect();
    try {
      await conn.query('SELECT 1');
    } finally {
      await conn.end();
    }
  };
  const bareMy = async () => {
    const conn = await mysql.createConnection({
      host: '127.0.0.1',
      port: myP.port,
      user: 'admin',
      password: MY_PW,
    });
    try {
      await conn.query('SELECT 1');
    } finally {
      await conn.end();
    }
  };
  const ping = () => c.ping();

  const cases = {
    pgTool: tool('pg'),
    pgBare: barePg,
    myTool: tool('my'),
    myBare: bareMy,
    ping,
  } as const;
  const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, [] as number[]])) as Record<
    keyof typeof cases,
    number[]
  >;
  for (let i = 0; i < WARMUP + CALLS; i++) {
    for (const [name, fn] of Object.entries(cases) as Array<[keyof typeof cases, () => Promise<unknown>]>) {
      const ms = await timed(fn);
      if (i >= WARMUP) samples[name].push(ms);
    }
  }

  const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stats(v)])) as Record<
    keyof typeof cases,
    Stats
  >;
  const f = (x: number) => x.toFixed(2);
  const ratio = (a: Stats, b: Stats) => `${(a.p50 / b.p50).toFixed(2)}x`;
  const rows: Array<[string, string, Stats, string]> = [
    [
      `PostgreSQL ${version.pg.split(' ')[0] ?? ''}`,
      'check_database via MCP client over HTTP',
      s.pgTool,
      ratio(s.pgTool, s.pgBare),
    ],
    [`PostgreSQL`, 'bare pg: connect + SELECT 1 + close (peer)', s.pgBare, '1.00x'],
    [
      `MariaDB ${version.my.split('-')[0] ?? ''}`,
      'check_database via MCP client over HTTP',
      s.myTool,
      ratio(s.myTool, s.myBare),
    ],
    ['MariaDB', 'bare mysql2: connect + SELECT 1 + close (peer)', s.myBare, '1.00x'],
    ['-', 'MCP ping over the same client (HTTP/JSON-RPC floor)', s.ping, '-'],
  ];
  const out = [
    '',
    `## check_database latency (issue 10): bench/database.bench.test.ts`,
    `machine: ${machine()}`,
    `${CALLS} measured calls per case after ${WARMUP} warm-ups, cases interleaved call by call; loopback TCP, password auth (scram-sha-256 / mysql_native_password); rate limits off, LOG_LEVEL silent`,
    '',
    '| engine | case | p50 ms | p95 ms | vs peer (p50) |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(([e, name, st, r]) => `| ${e} | ${name} | ${f(st.p50)} | ${f(st.p95)} | ${r} |`),
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  for (const st of Object.values(s)) expect(st.n).toBe(CALLS);
});
