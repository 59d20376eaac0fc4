/**
 * Property-based fuzzing (fast-check) of the whole server, through a real MCP client over real
 * HTTP on loopback:
 *  1. every tool's arguments, generated from its input schema (zod -> JSON Schema -> arbitraries)
 *     with domain values (hosts, URLs, paths, log formats, baseline ids) and junk mixed in;
 *  2. raw JSON-RPC on POST /mcp: wrong types, huge ids, batches, deep nesting, non-JSON bodies;
 *  3. directly, what cannot go through MCP often enough: the loopback-only SSRF policy, and the
 *     access-log parsers and analyzer (log lines are written by whoever sends requests).
 * Safety: outbound tools may reach loopback only. OUTBOUND_DENY is the complement of
 * 127.0.0.0/8 and ::1, DNS goes to a stub on loopback, NTP to a closed loopback port, loopback
 * targets always carry one of the test's own ports, and a guard in this process stops (and
 * records) any socket aimed elsewhere; the test fails if there is one. check_database reaches a
 * real PostgreSQL the test starts on 127.0.0.1 (tests/helpers/databases.ts) and closed loopback
 * ports, through DB_TARGETS_FILE; its passwords carry the canary.
 * On failure fast-check prints the seed and the shrunk counterexample: rerun it with
 * FUZZ_SEED=<seed> FUZZ_PATH=<path>. FUZZ_RUNS=<n> multiplies the runs for a longer hunt.
 */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import { gzipSync } from 'node:zlib';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/client';
import type { Client } from '@modelcontextprotocol/client';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BotAnalyzer } from '../../src/audit/bots/analyzer.js';
import { compileFormat, type LogEntry, parseJsonLine, parserFor } from '../../src/audit/logs/logFormat.js';
import { SsrfError, SsrfPolicy } from '../../src/net/ssrf.js';
import type { RunningHttp } from '../../src/runtime.js';
import { tools } from '../../src/tools/index.js';
import { type PgPeer, requirePostgres, startPostgres } from '../helpers/databases.js';
import { type DnsStub, startDnsStub } from '../helpers/dnsStub.js';
import {
  type HostileWeb,
  installNetworkGuard,
  isLoopbackDestination,
  type JsonSchema,
  junkString,
  junkValue,
  LOOPBACK_ONLY_DENY,
  type NetworkGuard,
  type SchemaArbitraryOptions,
  setOwn,
  startHostileWeb,
  toolArguments,
} from '../helpers/fuzz.js';
import { freePort } from '../helpers/peers.js';
import { connectClient, FIXTURES, MCP_HEADERS, startInProcess } from '../helpers/servers.js';
import { type SntpStub, startSntpStub } from '../helpers/sntpStub.js';
import { TlsTestBed } from '../helpers/tlsTestBed.js';
import { cpuStopwatch } from '../helpers/cpuTime.js';

/** Runs per property: the whole file takes ~20 s on two cores. FUZZ_RUNS=<n> multiplies them all. */
const SCALE = Math.max(1, Number(process.env.FUZZ_RUNS ?? 1) || 1);
const RUNS_PER_TOOL = 40 * SCALE;
const RAW_RUNS = 150 * SCALE;
const seedOption = process.env.FUZZ_SEED
  ? { seed: Number(process.env.FUZZ_SEED), path: process.env.FUZZ_PATH }
  : {};

const work = mkdtempSync(join(tmpdir(), 'fuzz-it-'));
const hostRoot = join(work, 'host');
const outside = join(work, 'outside');
/** Planted outside the allowed paths: no answer may ever contain it. */
const CANARY = `CANARY${Math.random().toString(36).slice(2, 10)}`;
const canaryLine = `203.0.113.9 - - [17/May/2015:10:05:03 +0000] "GET /${CANARY} HTTP/1.1" 200 1 "-" "${CANARY}-agent"`;

let guard: NetworkGuard;
let dns: DnsStub;
let sntp: SntpStub;
let web: HostileWeb;
let server: RunningHttp;
let client: Client;
let closedPort: number;
let mcpPort: number;
const baselineIds: string[] = [];
let pgPeer: PgPeer | undefined;
/** check_database needs a real PostgreSQL (on loopback); under CI=true a missing one fails the suite. */
const havePostgres = requirePostgres();
/** Database passwords carry the canary: no answer may ever contain one. */
const DB_PASSWORD = `${CANARY}-db-pw`;

/** A host tree copied from the fixtures, plus logs, certificates and traps for path handling. */
function buildHostTree(rootPem: string): void {
  cpSync(join(FIXTURES, 'health', 'stressed', 'root'), hostRoot, { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'canary.log'), `${canaryLine}\n`.repeat(60));
  writeFileSync(join(hostRoot, 'etc', 'shadow'), `${canaryLine}\n`.repeat(60));
  const logs = join(hostRoot, 'var', 'log');
  const nginx = join(logs, 'nginx');
  mkdirSync(nginx, { recursive: true });
  const lines = readFileSync(join(FIXTURES, 'logs', 'elastic-apache-10k.log'), 'utf8').split('\n');
  writeFileSync(join(nginx, 'access.log'), `${lines.slice(0, 400).join('\n')}\nnot a log line\n`);
  writeFileSync(join(nginx, 'access.log.1.gz'), gzipSync(`${lines.slice(400, 700).join('\n')}\n`));
  writeFileSync(join(nginx, 'broken.log.gz'), 'this is not gzip at all');
  writeFileSync(
    join(nginx, 'long.log'),
    `${lines[0]}\n${'x'.repeat(40_000)}\n${lines.slice(1, 60).join('\n')}\n${'y'.repeat(20_000)}`,
  );
  writeFileSync(
    join(nginx, 'binary.log'),
    Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
  );
  writeFileSync(
    join(nginx, 'json.log'),
    `${[
      '{"remote_addr":"198.51.100.7","time_local":"17/May/2015:10:05:03 +0000","request":"GET / HTTP/1.1","status":200,"body_bytes_sent":5,"http_user_agent":"curl/8"}',
      '{"__proto__":{"polluted":1},"remote_addr":"::ffff:198.51.100.8"}',
      '[1,2,3]',
      'null',
      '{"remote_addr":{"x":1},"status":"NaN"}',
      '{"remote_addr":"198.51.100.9","host":123,"request":"GET /vhost-number HTTP/1.1"}',
      '{"remote_addr":"198.51.100.10","request":"GET /huge HTTP/1.1","body_bytes_sent":1e400,"status":1e400}',
      '{"remote_addr":"198.51.100.11","request":"GET /far-future HTTP/1.1","time":1e20}',
      '{"remote_addr":"198.51.100.12","request":"GET /far-past HTTP/1.1","time":-1e20}',
      '{"remote_addr":"198.51.100.13","method":{"a":1},"uri":["x"],"http_user_agent":{"b":2},"host":{"c":3}}',
    ].join('\n')}\n`,
  );
  writeFileSync(
    join(nginx, 'huge-bytes.log'),
    `198.51.100.14 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 ${'9'.repeat(400)} "-" "curl/8"\n`,
  );
  writeFileSync(join(nginx, 'empty.log'), '');
  // Runs of spaces: a format with "  " once compiled to a pattern that took seconds per line.
  writeFileSync(
    join(nginx, 'spaces.log'),
    `${lines.slice(0, 5).join('\n')}\n${`203.0.113.5${' '.repeat(3000)}x\n`.repeat(3)}203.0.113.5 "${' '.repeat(15_000)}\n`,
  );
  symlinkSync(join(outside, 'canary.log'), join(logs, 'secret.log'));
  symlinkSync('../../..', join(nginx, 'up'));
  execFileSync('mkfifo', [join(logs, 'fifo')]);
  const certs = join(hostRoot, 'certs');
  mkdirSync(certs, { recursive: true });
  writeFileSync(join(certs, 'root.pem'), rootPem);
  writeFileSync(join(certs, 'notpem.pem'), 'hello\n');
  writeFileSync(join(certs, 'big.pem'), `-----BEGIN CERTIFICATE-----\n${'A'.repeat(1_200_000)}\n`);
  writeFileSync(join(certs, 'garbage.pem'), '-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n');
  symlinkSync(join(outside, 'canary.log'), join(certs, 'link.pem'));

  buildSlowLogs(logs);

  // A deployment for audit_compose, scan_secrets and check_permissions, with traps.
  const app = join(hostRoot, 'srv', 'app');
  mkdirSync(join(app, 'config'), { recursive: true });
  writeFileSync(
    join(app, 'compose.yml'),
    [
      'x-common: &common',
      '  restart: always',
      'services:',
      '  web:',
      '    <<: *common',
      '    image: nginx',
      '    privileged: true',
      '    ports: ["80:80", "${WEB_PORT:-8080}:8080"]',
      '    environment:',
      '      TOKEN: ${FUZZ_CANARY_TOKEN}',
      '      DB_PASSWORD: ${DB_PASSWORD:?set it}',
      '    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]',
      '  worker:',
      '    extends: { file: base.yml, service: worker }',
      '',
    ].join('\n'),
  );
  writeFileSync(join(app, 'base.yml'), 'services:\n  worker:\n    image: busybox:1.36\n');
  writeFileSync(
    join(app, 'loop.yml'),
    'services:\n  worker:\n    extends: { file: loop.yml, service: worker }\n',
  );
  writeFileSync(
    join(app, 'laughs.yml'),
    `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n${Array.from(
      { length: 8 },
      (_, i) =>
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(',')}]`,
    ).join('\n')}\nservices: { x: { image: *i } }\n`,
  );
  writeFileSync(join(app, 'broken.yml'), 'services: [unclosed\n\t- {{\n');
  writeFileSync(join(app, '.env'), 'DB_PASSWORD=Xk9#pQ2!vL7zR4mW8sT1\nWEB_PORT=99999999999999999999\n');
  writeFileSync(join(app, 'config', 'settings.py'), 'SECRET_KEY = "q8Zr7Lm2Vx9Kp4Tw6Ny3Bd5Hf1Gj0Sc"\n');
  writeFileSync(
    join(app, 'id_rsa'),
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
  );
  chmodSync(join(app, 'id_rsa'), 0o644);
  writeFileSync(join(app, 'world.txt'), 'anyone may write\n');
  chmodSync(join(app, 'world.txt'), 0o666);
  writeFileSync(join(app, 'long-line.js'), `const k = "${'A1b2C3d4'.repeat(20_000)}";\n`);
  // Planted outside: a secret in a file whose name is the canary, reachable only through links.
  writeFileSync(join(outside, `${CANARY}.env`), `API_KEY=${CANARY}Zq8Lm2Vx9Kp4Tw6Ny3\n`);
  symlinkSync(outside, join(app, 'escape'));
  symlinkSync(join(outside, `${CANARY}.env`), join(app, 'escape.env'));
  symlinkSync('.', join(app, 'self'));
  execFileSync('mkfifo', [join(app, 'fifo.env')]);
}

// 2026-11-20T10:00:01Z, the time of the hand-written slow logs (as in tests/unit/slowlog.test.ts).
const SLOW_T0 = 1795168801;

/** A MariaDB slow-log entry as mariadbd writes it; `qt` may be any text, to fuzz the header parser. */
function mariaEntry(
  t: number | string,
  sql: string,
  o: { qt?: string; examined?: number; user?: string } = {},
) {
  return [
    `# User@Host: ${o.user ?? 'app'}[${o.user ?? 'app'}] @ web1 [192.0.2.7]`,
    '# Thread_id: 31  Schema: shop  QC_hit: No',
    `# Query_time: ${o.qt ?? '0.500000'}  Lock_time: 0.000100  Rows_sent: 1  Rows_examined: ${o.examined ?? 250000}`,
    '# Rows_affected: 0  Bytes_sent: 120',
    `SET timestamp=${t};`,
    `${sql};`,
  ].join('\n');
}

/** MySQL/MariaDB slow logs and PostgreSQL logs for analyze_slow_queries: real shapes, then traps. */
function buildSlowLogs(logs: string): void {
  const mysql = join(logs, 'mysql');
  const pg = join(logs, 'postgresql');
  mkdirSync(mysql, { recursive: true });
  mkdirSync(pg, { recursive: true });
  const banner = [
    '/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-0+deb12u1-log (Debian 12). started with:',
    'Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock',
    'Time\t\t    Id Command\tArgument',
  ].join('\n');
  const entries: string[] = [banner, '# Time: 261120 10:00:01'];
  for (let i = 0; i < 12; i++)
    entries.push(
      mariaEntry(SLOW_T0 + i, `SELECT *\n  FROM orders\n WHERE customer_email = 'u${i}@example.org'`, {
        qt: (0.5 + i / 10).toFixed(6),
      }),
    );
  entries.push(
    mariaEntry(SLOW_T0 + 60, "UPDATE stock SET qty = qty - 1 WHERE sku IN ('A-1', 'B-2', 'C-3')", {
      examined: 3,
      user: 'batch',
    }),
    [
      '# User@Host: root[root] @ localhost []',
      '# Query_time: 0.000050  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0',
      `SET timestamp=${SLOW_T0 + 61};`,
      '# administrator command: Quit;',
    ].join('\n'),
  );
  writeFileSync(join(mysql, 'mariadb-slow.log'), `${entries.join('\n')}\n`);
  writeFileSync(
    join(mysql, 'mariadb-slow.log.1.gz'),
    gzipSync(
      [
        '/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:',
        '# Time: 2026-11-19T10:00:05.123456Z',
        '# User@Host: report[report] @ localhost []  Id:    12',
        '# Query_time: 0.000200  Lock_time: 0.000002 Rows_sent: 3  Rows_examined: 3',
        'use reporting;',
        `SET timestamp=${SLOW_T0 - 86_400};`,
        'SELECT id FROM products WHERE id IN (1,2,3) /* page 1 */;',
        '',
      ].join('\n'),
    ),
  );
  writeFileSync(join(mysql, 'broken-slow.log.gz'), 'this is not gzip at all');
  // Hostile numbers, times, names and statements; a line over the 1 MiB line cap.
  writeFileSync(
    join(mysql, 'hostile-slow.log'),
    `${[
      banner,
      mariaEntry(SLOW_T0, "SELECT * FROM t WHERE a = 'unterminated", { qt: '1e400' }),
      mariaEntry(SLOW_T0, 'SELECT /* unterminated comment', { qt: '-5' }),
      mariaEntry(SLOW_T0, 'SELECT 1', { qt: 'NaN', examined: Number.MAX_SAFE_INTEGER }),
      mariaEntry('999999999999', 'SELECT 2', { qt: '0.1' }),
      mariaEntry('-1', 'SELECT 3', { qt: '0.1' }),
      mariaEntry(SLOW_T0, `SELECT * FROM t WHERE id IN (${'1,'.repeat(20_000)}1)`, { qt: '0.2' }),
      mariaEntry(SLOW_T0, `INSERT INTO t VALUES ('${'x'.repeat(1_100_000)}')`, { qt: '0.3' }),
      mariaEntry(SLOW_T0, 'SELECT * FROM "__proto__" WHERE constructor = 1', { user: '__proto__' }),
      '# Time: yesterday',
      '# Query_time: 1  Lock_time: 0  Rows_sent: 0  Rows_examined: 0',
      '# User@Host: [] @  []',
      '# Query_time:   Lock_time:',
      'garbage without a header',
    ].join('\n')}\n`,
  );
  writeFileSync(
    join(pg, 'postgresql-16-main.log'),
    `${[
      '2026-11-20 10:00:01.250 UTC [4242] LOG:  database system is ready to accept connections',
      '2026-11-20 10:00:02.000 UTC [4250] LOG:  duration: 1523.402 ms  statement: SELECT o.id, c.name',
      '\tFROM orders o',
      '\tJOIN customers c ON c.id = o.customer_id',
      "\tWHERE o.created_at > '2026-01-01' /* dashboard */;",
      '2026-11-20 10:00:03.000 UTC [4250] LOG:  duration: 0.050 ms  parse <unnamed>: SELECT * FROM items WHERE id = $1',
      '2026-11-20 10:00:03.000 UTC [4250] LOG:  duration: 0.020 ms  bind <unnamed>: SELECT * FROM items WHERE id = $1',
      "2026-11-20 10:00:03.000 UTC [4250] DETAIL:  parameters: $1 = '5'",
      '2026-11-20 10:00:03.001 UTC [4250] LOG:  duration: 0.731 ms  execute <unnamed>: SELECT * FROM items WHERE id = $1',
      '2026-11-20 10:00:05.000 UTC [4250] LOG:  duration: 12.000 ms',
      '2026-11-20 10:00:06.000 UTC [4250] ERROR:  relation "nope" does not exist at character 15',
      '2026-11-20 10:00:06.000 UTC [4250] STATEMENT:  SELECT * FROM nope',
      '2026-11-20 11:00:01 CET [5001]: [3-1] user=app,db=shop,app=psql,client=192.0.2.9 LOG:  duration: 250.000 ms  statement: UPDATE carts SET total = 10 WHERE id IN (1, 2, 3)',
      '2026-11-20 10:00:01.000 +0200 [777] report@analytics LOG:  duration: 3000.000 ms  statement: select count(*) from events where kind = $$click$$',
      // Traps: absurd durations and times, prototype names, an unterminated dollar quote.
      `2026-11-20 10:00:07.000 UTC [4251] LOG:  duration: ${'9'.repeat(20)}.5 ms  statement: SELECT 1`,
      '9999-99-99 99:99:99.000 UTC [4252] LOG:  duration: 1.000 ms  statement: SELECT 2',
      '2026-11-20 10:00:08.000 +9999 [4253] LOG:  duration: 1.000 ms  statement: SELECT 3',
      '2026-11-20 10:00:09.000 UTC [4254] __proto__@constructor LOG:  duration: 2.000 ms  statement: SELECT $tag$ never closed',
      '2026-11-20 10:00:10.000 UTC [4255] LOG:  duration: 0.000 ms  execute S_1:',
    ].join('\n')}\n`,
  );
  writeFileSync(join(pg, 'notalog.log'), 'hello\nthis is no database log\n');
  // Known bugs (see the it.fails tests below), kept out of the fuzzed paths so the rest still runs.
  const bugs = join(logs, 'slowbugs');
  mkdirSync(bugs, { recursive: true });
  writeFileSync(
    join(bugs, 'pg-huge-duration.log'),
    [
      '2026-11-20 10:00:02.000 UTC [4250] LOG:  duration: 5.000 ms  statement: SELECT 1',
      `2026-11-20 10:00:07.000 UTC [4251] LOG:  duration: ${'9'.repeat(400)}.5 ms  statement: SELECT 1`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(bugs, 'mysql-huge-timestamp.log'),
    `${[banner, mariaEntry(SLOW_T0, 'SELECT 1'), mariaEntry('99999999999999999999', 'SELECT 2')].join('\n')}\n`,
  );
  symlinkSync(join(outside, 'canary.log'), join(mysql, 'escape-slow.log'));
}

beforeAll(async () => {
  guard = installNetworkGuard();
  // PostgreSQL (~1 s to start) comes up while the rest is set up; it listens on 127.0.0.1 only.
  const pgStarting = havePostgres
    ? startPostgres({ adminPassword: DB_PASSWORD }).then((p) => (pgPeer = p))
    : undefined;
  // audit_compose must never interpolate from the server's own environment.
  process.env.FUZZ_CANARY_TOKEN = CANARY;
  const bed = new TlsTestBed(join(work, 'pki'));
  const leaf = bed.leaf({ name: 'localhost', sans: ['localhost', '127.0.0.1'] });
  buildHostTree(bed.rootPem);
  dns = await startDnsStub({
    // Everything else is NXDOMAIN. These exercise resolution through the SSRF policy.
    // Null-prototype maps: the stub looks names up by key, and the fuzzer asks for "constructor".
    a: Object.assign(Object.create(null) as Record<string, string[]>, {
      'loop.fuzz.test': ['127.0.0.1'],
      'meta.fuzz.test': ['169.254.169.254'],
      'mixed.fuzz.test': ['127.0.0.1', '198.51.100.34'],
    }),
    aaaa: Object.assign(Object.create(null) as Record<string, string[]>, {
      'loop.fuzz.test': ['::1'],
      'mapped.fuzz.test': ['::ffff:169.254.169.254'],
    }),
    other: [{ type: 'MX', name: 'loop.fuzz.test', data: { preference: 10, exchange: 'mx.fuzz.test' } }],
    servfail: ['servfail.fuzz.test'],
  });
  sntp = await startSntpStub(0);
  web = await startHostileWeb({ key: leaf.key, cert: bed.fullChain(leaf) });
  closedPort = await freePort();
  await pgStarting;
  const dbTargets = join(work, 'db-targets.yaml');
  // Outside `work`: a refused login names the password file (by design, for the operator), and
  // answers are checked for paths under `work` (host paths the client never gave).
  const wrongPw = pgPeer ? join(pgPeer.dir, 'wrong.pw') : '/nonexistent';
  if (pgPeer) writeFileSync(wrongPw, `${CANARY}-wrong\n`, { mode: 0o600 });
  writeFileSync(
    dbTargets,
    [
      ...(pgPeer
        ? [
            `- { name: pg, kind: postgres, host: 127.0.0.1, port: ${pgPeer.port}, user: postgres, passwordEnv: FUZZ_DB_PW, database: postgres }`,
            `- { name: pgbad, kind: postgres, host: 127.0.0.1, port: ${pgPeer.port}, user: postgres, passwordFile: ${wrongPw} }`,
            `- { name: pgnodb, kind: postgres, host: 127.0.0.1, port: ${pgPeer.port}, user: postgres, passwordEnv: FUZZ_DB_PW, database: no_such_db }`,
          ]
        : []),
      // Nothing listens there: the error path, and the breaker opening.
      `- { name: down, kind: postgres, host: 127.0.0.1, port: ${closedPort}, user: audit, passwordEnv: FUZZ_DB_PW }`,
      `- { name: mydown, kind: mysql, host: 127.0.0.1, port: ${closedPort}, user: audit, passwordEnv: FUZZ_DB_PW }`,
      '',
    ].join('\n'),
  );
  // One registry host whose agent is not there: list_hosts and fleet_health run, and answer
  // with it unreachable (issue 19).
  const hostsFile = join(work, 'hosts.yaml');
  writeFileSync(
    hostsFile,
    `hosts:\n  - name: down\n    url: http://127.0.0.1:${closedPort}/mcp\n    apiKeyEnv: FUZZ_AGENT_KEY\n`,
  );
  server = await startInProcess({
    HOSTS_FILE: hostsFile,
    FUZZ_AGENT_KEY: 'sam_fuzz_key_not_a_real_one_0123456789',
    HOST_PROC: join(FIXTURES, 'health', 'stressed', 'proc'),
    HOST_SYS: join(FIXTURES, 'health', 'stressed', 'sys'),
    HOST_ROOT: hostRoot,
    AUDIT_ALLOWED_PATHS: '/var/log,/certs,/srv',
    DATA_DIR: join(work, 'data'),
    DNS_SERVERS: dns.server,
    OUTBOUND_DENY: LOOPBACK_ONLY_DENY.join(','),
    NTP_SERVERS: `127.0.0.1:${closedPort}`,
    OUTBOUND_TIMEOUT_MS: '150',
    TOOL_DEADLINE_SECONDS: '1',
    RETRY_COUNT: '0',
    RETRY_MIN_MS: '10',
    RETRY_MAX_MS: '50',
    BREAKER_RESET_MS: '500',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_BURST: '0',
    MAX_BODY_BYTES: String(8 * 1024 * 1024),
    DB_TARGETS_FILE: dbTargets,
    FUZZ_DB_PW: DB_PASSWORD,
  });
  mcpPort = Number(new URL(server.url).port);
  client = await connectClient(server.url, 'fuzzer');
  // Two saved baselines, so compare_baselines has real ids to work with.
  for (let i = 0; i < 2; i++) {
    const r = await client.callTool({ name: 'run_health_check', arguments: { cpuSampleMs: 0 } });
    const id = (r.structuredContent as { baselineId?: string } | undefined)?.baselineId;
    if (id) baselineIds.push(id);
  }
  expect(baselineIds).toHaveLength(2);
}, 60_000);

afterAll(async () => {
  delete process.env.FUZZ_CANARY_TOKEN;
  await client?.close();
  await server?.shutdown('test done');
  await web?.close();
  await dns?.close();
  await sntp?.close();
  await pgPeer?.stop();
  guard?.restore();
  rmSync(work, { recursive: true, force: true });
}, 30_000);

// ---------------------------------------------------------------------------------------------
// Domain values: hosts, URLs, paths. Mostly loopback; the rest must be refused by the policy.
// ---------------------------------------------------------------------------------------------

const LOOPBACK_HOSTS = [
  '127.0.0.1',
  'localhost',
  '127.1',
  '0x7f.1',
  '2130706433',
  '0177.0.0.1',
  '127.255.255.254',
  '[::1]',
  '[::ffff:127.0.0.1]',
  'loop.fuzz.test',
];
const FORBIDDEN_HOSTS = [
  '169.254.169.254',
  '0xa9fea9fe',
  '2852039166',
  '0251.0376.0251.0376',
  '[::ffff:a9fe:a9fe]',
  '[fd00:ec2::254]',
  '[64:ff9b::7f00:1]',
  '[2002:7f00:1::]',
  '[::7f00:1]',
  '[::]',
  '0.0.0.0',
  '10.0.0.1',
  '192.168.1.1',
  '100.100.100.200',
  '224.0.0.1',
  '255.255.255.255',
  '8.8.8.8',
  '1.1.1.1',
  '[2001:4860:4860::8888]',
  '[fe80::1]',
  'example.com',
  'metadata.google.internal',
  'meta.fuzz.test',
  'mixed.fuzz.test',
  'mapped.fuzz.test',
  'servfail.fuzz.test',
];

const hostArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...LOOPBACK_HOSTS) },
  { weight: 3, arbitrary: fc.constantFrom(...FORBIDDEN_HOSTS) },
  { weight: 1, arbitrary: fc.domain() },
  { weight: 1, arbitrary: fc.ipV4() },
  { weight: 1, arbitrary: fc.ipV4Extended() },
  { weight: 1, arbitrary: fc.ipV6().map((a) => `[${a}]`) },
);
const portArb = () =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(web.httpPort, web.httpsPort, closedPort, mcpPort, sntp.port) },
    { weight: 1, arbitrary: fc.constantFrom(0, 65536, 99999) },
  );
/** Random addresses that happen to be loopback (127.x, 0x7f.1) are left to the loopback branch. */
function notLoopback(host: string): boolean {
  try {
    return !isLoopbackDestination(SsrfPolicy.normalizeHost(host));
  } catch {
    return true;
  }
}

/**
 * host:port. Loopback hosts always get one of our ports, never a default (80, 443, 123): whatever
 * else listens on this machine is left alone. Other hosts are refused by the policy, port or not.
 */
const hostPortArb = () =>
  fc.oneof(
    fc.tuple(fc.constantFrom(...LOOPBACK_HOSTS), portArb()).map(([h, p]) => `${h}:${p}`),
    fc
      .tuple(
        fc.oneof(
          fc.constantFrom(...FORBIDDEN_HOSTS),
          fc.domain(),
          fc.ipV4().filter(notLoopback),
          fc.ipV4Extended().filter(notLoopback),
          fc
            .ipV6()
            .filter(notLoopback)
            .map((a) => `[${a}]`),
        ),
        fc.option(portArb(), { nil: undefined }),
      )
      .map(([h, p]) => (p === undefined ? h : `${h}:${p}`)),
  );
const urlPathArb = (inner: fc.Arbitrary<string>) =>
  fc.oneof(
    fc.constantFrom('/', '/loop', '/slow', '/big', '/500', '/bad-location', '/health', '/mcp', '/x?a=%00'),
    inner.map((to) => `/redirect?to=${encodeURIComponent(to)}`),
  );
const REDIRECT_TARGETS = [
  'http://169.254.169.254/latest/meta-data/',
  'http://[fd00:ec2::254]/',
  'http://0xa9fea9fe/',
  'http://meta.fuzz.test/',
  'http://example.com/',
  'file:///etc/passwd',
  'gopher://127.0.0.1:1/_x',
  'javascript:alert(1)',
  '//example.com/x',
  'http://[::1',
  '/loop',
];
const urlArb = (): fc.Arbitrary<string> => {
  const plain = fc.tuple(fc.constantFrom('http', 'https'), hostPortArb()).map(([s, hp]) => `${s}://${hp}`);
  const redirectTo = fc.oneof(
    fc.constantFrom(...REDIRECT_TARGETS),
    plain.map((u) => `${u}/`),
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(plain, urlPathArb(redirectTo)).map(([u, p]) => `${u}${p}`) },
    { weight: 1, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'ftp://127.0.0.1/',
        'file:///etc/passwd',
        'http://',
        'http://[::1',
        `https://user:pw@127.0.0.1:${closedPort}/`,
      ),
    },
  );
};

const LOG_PATHS = [
  '/var/log/nginx/access.log',
  '/var/log/nginx/access.log*',
  '/var/log/nginx/*.gz',
  '/var/log/nginx/access.log.1.gz',
  '/var/log/nginx/broken.log.gz',
  '/var/log/nginx/long.log',
  '/var/log/nginx/binary.log',
  '/var/log/nginx/json.log',
  '/var/log/nginx/huge-bytes.log',
  '/var/log/nginx/spaces.log',
  '/var/log/nginx/empty.log',
  '/var/log/nginx/*',
  '/var/log/nginx/?????.log',
  '/var/log/nginx/*a*c*c*e*s*s*',
  '/var/log/nginx',
  '/var/log/nginx/missing.log',
  '/var/log/auth.log',
  '/var/log/fifo',
  '/var/log/secret.log',
  '/var/log/nginx/up/etc/shadow',
  '/var/log/../../etc/shadow',
  '/var/log/nginx/../../../etc/shadow',
  '/etc/shadow',
  '/etc/*',
  '/var/*/access.log',
  'var/log/nginx/access.log',
  '../../etc/shadow',
  '/var/log/nginx/access.log\u0000.png',
  '/var/log/%2e%2e/%2e%2e/etc/shadow',
  '//var//log//nginx//access.log',
  '/var/log/./nginx/./access.log',
];
const LOG_FORMATS = [
  'auto',
  'combined',
  'common',
  'vhost_combined',
  'nginx',
  'json',
  '%h %l %u %t "%r" %>s %b',
  '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"',
  '%{X-Forwarded-For}i %h',
  '%',
  '%{',
  '%{}i',
  '%>s%>s%>s%>s',
  '%h%h%h%h%h%h%h%h%h%h%h%h%h%h%h%h%h%h%h%h x',
  '%h   "%r"',
  '%h     %r',
  '%h "%r x"',
  '%h "x %r"',
  '(((((((',
  '.*.*.*.*.*.*.*.*.*.*.*.*.*',
  '\\',
  '$1 $2',
];
const formatTokenArb = fc
  .array(
    fc.constantFrom(
      '%h',
      '%l',
      '%u',
      '%t',
      '"%r"',
      '%>s',
      '%s',
      '%b',
      '%B',
      '%D',
      '%T',
      '%v',
      '%a',
      '%U',
      '%q',
      '%m',
      '%H',
      '%%',
      '%{User-Agent}i',
      '%{Host}i',
      '%{%Y}t',
      ' ',
      '  ',
      '"',
      '[',
      ']',
      '.',
      '*',
      '(',
      '\\',
      '%z',
      '%{',
      '}',
    ),
    { minLength: 1, maxLength: 24 },
  )
  .map((t) => t.join(''));

/** Files and directories for the tree-walking tools (scan_secrets, check_permissions, audit_compose). */
const TREE_PATHS = [
  '/srv/app',
  '/srv',
  '/srv/app/config',
  '/srv/app/.env',
  '/srv/app/id_rsa',
  '/srv/app/world.txt',
  '/srv/app/long-line.js',
  '/srv/app/escape',
  '/srv/app/escape/',
  '/srv/app/escape.env',
  '/srv/app/self',
  '/srv/app/self/self/self',
  '/srv/app/fifo.env',
  '/srv/app/missing',
  '/srv/app/../../etc/shadow',
  '/srv/../etc',
  '/etc/shadow',
  '/',
  '/var/log',
  'srv/app',
  '/srv/app/\u0000',
];

const certPaths = [
  '/certs/root.pem',
  '/certs/notpem.pem',
  '/certs/big.pem',
  '/certs/garbage.pem',
  '/certs/link.pem',
  '/certs/missing.pem',
  '/certs',
  '/var/log/fifo',
  '/var/log/secret.log',
  '/etc/shadow',
  '/certs/../etc/shadow',
  'certs/root.pem',
];

/** Slow logs (buildSlowLogs) and traps for analyze_slow_queries; LOG_PATHS are mixed in too. */
const SLOW_LOG_PATHS = [
  '/var/log/mysql/mariadb-slow.log',
  '/var/log/mysql/mariadb-slow.log*',
  '/var/log/mysql/mariadb-slow.log.1.gz',
  '/var/log/mysql/*',
  '/var/log/mysql/hostile-slow.log',
  '/var/log/mysql/broken-slow.log.gz',
  '/var/log/mysql/escape-slow.log',
  '/var/log/mysql/missing-slow.log',
  '/var/log/mysql',
  '/var/log/mysql/../../../etc/shadow',
  '/var/log/postgresql/postgresql-16-main.log',
  '/var/log/postgresql/postgresql-*.log',
  '/var/log/postgresql/notalog.log',
  '/var/log/postgresql/*',
];
const SLOW_TIMES = [
  '2026-11-20T10:00:00Z',
  '2026-11-20T10:00:05+00:00',
  '2026-11-20T11:00:00.500+01:00',
  '2026-11-19T00:00:00Z',
  '2030-01-01T00:00:00Z',
  '1970-01-01T00:00:00Z',
];
/** Not ISO 8601 with a zone: the schema refuses them. */
const BAD_SLOW_TIMES = ['2026-11-20T10:00:00', '2026-13-40T99:99:99Z', '2026-11-20', 'yesterday'];

/** Hints and cost caps per tool: domain values mixed into what the schema alone generates. */
function toolOptions(name: string): SchemaArbitraryOptions {
  const base: SchemaArbitraryOptions = { maxArrayItems: 6, maxStringLength: 64 };
  const orJunk = <T>(arb: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 8, arbitrary: arb }, { weight: 1, arbitrary: junkString });
  switch (name) {
    case 'run_health_check':
      // A CPU sample of up to 5 s per call would make the run minutes long; 0-20 ms covers the code.
      return { ...base, ranges: { cpuSampleMs: { max: 20 } } };
    case 'compare_baselines':
      return {
        ...base,
        hints: {
          from: orJunk(
            fc.constantFrom(
              'latest',
              'previous',
              'current',
              ...baselineIds,
              `${baselineIds[0]?.slice(0, -1)}0`,
              'x~20260101T000000000Z~abcdef',
              '../../../etc/passwd',
            ),
          ),
          to: orJunk(fc.constantFrom('latest', 'previous', 'current', ...baselineIds)),
          metrics: orJunk(fc.constantFrom('disk.', 'memory.used_percent', 'processes.', '.', 'x')),
        },
      };
    case 'analyze_bots':
      return {
        ...base,
        hints: {
          paths: orJunk(fc.constantFrom(...LOG_PATHS)),
          format: orJunk(fc.oneof(fc.constantFrom(...LOG_FORMATS), formatTokenArb)),
          allowlist: orJunk(
            fc.oneof(
              fc.constantFrom(
                '83.149.9.216',
                '10.0.0.0/8',
                '0.0.0.0/0',
                '::/0',
                '::1/129',
                '1.2.3.4/33',
                '999.1.1.1',
                'ua:',
                'ua:ab',
                'ua:bot',
                'ua:Mozilla',
              ),
              fc.ipV4(),
              fc.ipV6(),
            ),
          ),
          domains: orJunk(fc.constantFrom('semicomplete.com', 'example.com', 'EXAMPLE.com', '*')),
        },
      };
    case 'check_tls':
      return {
        ...base,
        hints: {
          targets: orJunk(
            fc.oneof(
              hostPortArb(),
              urlArb(),
              fc.constantFrom(`localhost:${web.httpsPort}`, `https://127.0.0.1:${web.httpsPort}/`),
            ),
          ),
          servername: orJunk(fc.constantFrom('localhost', '127.0.0.1', 'example.com', 'a'.repeat(253))),
          caFile: orJunk(
            fc.oneof({ weight: 3, arbitrary: fc.constant('/certs/root.pem') }, fc.constantFrom(...certPaths)),
          ),
        },
      };
    case 'audit_compose':
      return {
        ...base,
        hints: {
          paths: orJunk(
            fc.constantFrom(
              ...TREE_PATHS,
              '/srv/app/compose.yml',
              '/srv/app/loop.yml',
              '/srv/app/laughs.yml',
              '/srv/app/broken.yml',
            ),
          ),
          env_file: orJunk(
            fc.constantFrom(
              '/srv/app/.env',
              '/srv/app/escape.env',
              '/srv/app/fifo.env',
              '/etc/shadow',
              '/srv/app/../../etc/shadow',
            ),
          ),
          profiles: orJunk(fc.constantFrom('*', 'debug', '', '__proto__')),
        },
      };
    case 'scan_secrets':
      return {
        ...base,
        hints: {
          paths: orJunk(fc.constantFrom(...TREE_PATHS)),
          include: orJunk(
            fc.constantFrom('*.env', 'config/**', '**', '*', '[', '**/**/**/**', '.*', '*.{js,py}'),
          ),
          exclude: orJunk(fc.constantFrom('node_modules', '*.min.js', 'escape', '**', '')),
        },
        ranges: { maxFileBytes: { max: 4 * 1024 * 1024 } },
      };
    case 'check_permissions':
      return { ...base, hints: { paths: orJunk(fc.constantFrom(...TREE_PATHS)) } };
    case 'check_database':
      return {
        ...base,
        hints: {
          target: orJunk(
            fc.constantFrom(
              'pg',
              'pg',
              'pg',
              'pgbad',
              'pgnodb',
              'down',
              'mydown',
              'PG',
              'pg ',
              'missing',
              '__proto__',
              'constructor',
              'toString',
              '../pg',
            ),
          ),
          label: orJunk(fc.constantFrom('fuzz', '', '../../etc/shadow', 'x'.repeat(100))),
        },
      };
    case 'analyze_slow_queries':
      return {
        ...base,
        hints: {
          paths: orJunk(
            fc.oneof(
              { weight: 3, arbitrary: fc.constantFrom(...SLOW_LOG_PATHS) },
              { weight: 1, arbitrary: fc.constantFrom(...LOG_PATHS) },
            ),
          ),
          // The enum plus near misses, which the schema must refuse.
          format: fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom('auto', 'mysql', 'postgres') },
            { weight: 1, arbitrary: fc.constantFrom('MySQL', 'mariadb', 'pg', '') },
          ),
          since: fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom(...SLOW_TIMES) },
            { weight: 1, arbitrary: fc.constantFrom(...BAD_SLOW_TIMES) },
          ),
          until: fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom(...SLOW_TIMES) },
            { weight: 1, arbitrary: fc.constantFrom(...BAD_SLOW_TIMES) },
          ),
        },
      };
    case 'delete_baselines':
      return {
        ...base,
        hints: {
          ids: orJunk(
            fc.constantFrom(
              ...baselineIds,
              'x~20260101T000000000Z~abcdef',
              '../../../etc/passwd',
              '..',
              '.',
              'latest',
            ),
          ),
        },
      };
    case 'check_http':
      return { ...base, hints: { urls: urlArb() }, ranges: { timeoutMs: { max: 300 } } };
    case 'check_dns': {
      const name = fc.oneof(
        fc.constantFrom(
          'loop.fuzz.test',
          'meta.fuzz.test',
          'servfail.fuzz.test',
          'example.com',
          'localhost',
          '_dmarc.loop.fuzz.test',
          'a'.repeat(64) + '.test',
          `${'a.'.repeat(126)}a`,
          '.',
          '..',
          '-',
          'xn--',
        ),
        fc.domain(),
      );
      const resolver = fc.oneof(
        // Loopback resolvers always on our ports: a local resolver on :53 would forward upstream.
        {
          weight: 3,
          arbitrary: fc.constantFrom(dns.server, `[::1]:${closedPort}`, `127.0.0.1:${closedPort}`),
        },
        fc.constantFrom(
          '192.0.2.53',
          '169.254.169.254',
          '[fd00:ec2::254]:53',
          '0.0.0.0',
          '::',
          '[::ffff:a9fe:a9fe]:53',
        ),
        fc.constantFrom('127.0.0.1:0', '127.0.0.1:65536', 'localhost', '[::1'),
        fc.ipV4().filter(notLoopback),
        fc.ipV6().filter(notLoopback),
      );
      return {
        ...base,
        hints: {
          names: orJunk(name),
          resolvers: orJunk(resolver),
          'expect.key': fc.oneof(
            name,
            name.map((n) => `${n} MX`),
            name.map((n) => `${n} BOGUS`),
            fc.constantFrom('__proto__', 'constructor', ' '),
          ),
          'expect.value': fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom('127.0.0.1', '::1', '10 mx.fuzz.test', '0.0.0.0') },
            { weight: 1, arbitrary: junkString },
          ),
        },
      };
    }
    case 'check_clock':
      return {
        ...base,
        hints: {
          servers: orJunk(
            fc.oneof(
              fc.constantFrom(
                sntp.server,
                `127.0.0.1:${closedPort}`,
                `[::1]:${sntp.port}`,
                `localhost:${sntp.port}`,
                `loop.fuzz.test:${sntp.port}`,
                'pool.ntp.org',
                'time.google.com:123',
                '169.254.169.123',
                `127.0.0.1:${web.httpPort}`,
                '127.0.0.1:0',
                '127.0.0.1:99999',
              ),
              hostPortArb(),
            ),
          ),
        },
      };
    default:
      return base;
  }
}

// ---------------------------------------------------------------------------------------------
// Judging one call
// ---------------------------------------------------------------------------------------------

const INTERNALS = [
  'TypeError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'AssertionError',
  '[object Object]',
  'node_modules',
];

/**
 * A message a person can act on: no stack frames, no internals, not empty. What the input itself
 * carried (an argument "[object Object]" echoed back in "not found") does not count.
 */
function expectCleanMessage(text: string, context: string, input = ''): void {
  expect(text.trim(), `empty message: ${context}`).not.toBe('');
  expect(text, context).not.toMatch(/^\s*at\s+\S.*(:\d+:\d+\)?|<anonymous>|\(native\))\s*$/m);
  for (const word of INTERNALS) if (!input.includes(word)) expect(text, context).not.toContain(word);
}

type Outcome = 'ok' | 'refused' | 'invalid';
const outcomes = new Map<string, Record<Outcome, number>>();

async function callAndJudge(tool: (typeof tools)[number], args: unknown): Promise<Outcome> {
  // What the server sees is the JSON of the arguments: judge the same thing locally.
  const sent: unknown = args === undefined ? undefined : JSON.parse(JSON.stringify(args));
  const isObject = sent === undefined || (typeof sent === 'object' && sent !== null && !Array.isArray(sent));
  const local = isObject ? z.object(tool.inputSchema).safeParse(sent ?? {}) : { success: false };
  const sentText = JSON.stringify(args) ?? '';
  const context = `${tool.name}(${sentText.slice(0, 600)})`;
  let outcome: Outcome;
  try {
    const res = await client.request(
      { method: 'tools/call', params: { name: tool.name, arguments: args as Record<string, unknown> } },
      { timeout: 20_000 },
    );
    const all = JSON.stringify(res);
    expect(all, `${context}: the canary outside the allowed paths leaked`).not.toContain(CANARY);
    const text = res.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
    if (res.isError) {
      expectCleanMessage(text, context, sentText);
      // Refusals name paths as the client gave them, never where they live on this machine.
      expect(text, `${context}: a real server path leaked`).not.toContain(work);
      expect(text, `${context}: an unexpected failure (not a ToolError)`).not.toMatch(/failed unexpectedly/);
      expect(text, `${context}: the result broke the output schema`).not.toMatch(/Output validation error/);
      if (/^(MCP error -32602: )?Input validation error/.test(text)) {
        expect(local.success, `${context}: schema-valid arguments refused: ${text}`).toBe(false);
        outcome = 'invalid';
      } else {
        expect(local.success, `${context}: schema-invalid arguments reached the tool: ${text}`).toBe(true);
        outcome = 'refused';
      }
    } else {
      expect(local.success, `${context}: schema-invalid arguments succeeded`).toBe(true);
      expect(text.trim(), `${context}: empty summary`).not.toBe('');
      const out = z.object(tool.outputSchema).safeParse(res.structuredContent);
      expect(
        out.success,
        `${context}: structuredContent breaks the output schema: ${out.error?.message}`,
      ).toBe(true);
      outcome = 'ok';
    }
  } catch (err) {
    if (!(err instanceof ProtocolError) || err.code !== ProtocolErrorCode.InvalidParams) throw err;
    expectCleanMessage(err.message, context, sentText);
    expect(local.success, `${context}: schema-valid arguments refused: ${err.message}`).toBe(false);
    outcome = 'invalid';
  }
  const tally = outcomes.get(tool.name) ?? { ok: 0, refused: 0, invalid: 0 };
  tally[outcome]++;
  outcomes.set(tool.name, tally);
  return outcome;
}

/** Hand-picked cases every run starts with (fast-check `examples`), then random ones. */
function examplesFor(name: string): Array<[unknown]> {
  const e: unknown[] = [{}, setOwn({}, '__proto__', { polluted: true }), { constructor: { prototype: 1 } }];
  switch (name) {
    case 'detect_system':
      e.push({ maxAgeSeconds: 0 }, { maxAgeSeconds: 3601 }, { maxAgeSeconds: '0' }, { maxAgeSeconds: 1e308 });
      break;
    case 'run_health_check':
      e.push(
        { cpuSampleMs: 0, saveBaseline: false },
        { cpuSampleMs: 0, checks: [] },
        { cpuSampleMs: 0, thresholds: { diskUsedPercent: { high: 99, critical: 1 } } },
        { cpuSampleMs: 0, thresholds: setOwn({}, '__proto__', { high: 1 }) },
        { cpuSampleMs: 0, thresholds: { recentRebootSeconds: { high: 1 } } },
        { cpuSampleMs: 0, saveBaseline: false, label: '../../etc/shadow', limit: 1 },
      );
      break;
    case 'compare_baselines':
      e.push(
        { from: 'previous', to: 'latest', trendWindow: 1000, onlyChanged: false },
        { from: '../../../etc/passwd' },
        { from: 'current', to: 'current', metrics: ['disk.'] },
        { from: baselineIds[0], to: baselineIds[1], limit: 1 },
      );
      break;
    case 'analyze_bots':
      e.push(
        { paths: ['/var/log/nginx/access.log*'], verifyBots: true, top: 500 },
        { paths: ['/var/log/../../etc/shadow'] },
        { paths: ['/var/log/nginx/up/etc/shadow'] },
        { paths: ['/var/log/secret.log'] },
        { paths: ['/var/log/fifo'] },
        { paths: ['/var/log/nginx/broken.log.gz'], format: 'combined' },
        { paths: ['/var/log/nginx/long.log'], format: 'combined' },
        { paths: ['/var/log/nginx/json.log'], format: 'json' },
        { paths: ['/var/log/nginx/json.log'] },
        { paths: ['/var/log/nginx/huge-bytes.log'] },
        { paths: ['/var/log/nginx/spaces.log'], format: '%h    "%r"' },
        { paths: ['/var/log/nginx/spaces.log'], format: '%h "%r x"' },
        { paths: ['/var/log/nginx/binary.log'], format: '%h%h%h%h%h%h%h%h%h%h%h%h%h%h%h%h%h%h%h%h x' },
        {
          paths: ['/var/log/nginx/access.log'],
          since: '2030-01-01T00:00:00Z',
          until: '2020-01-01T00:00:00Z',
        },
        { paths: ['/var/log/nginx/access.log'], allowlist: ['::1/129'] },
        { paths: ['/var/log/nginx/access.log'], maxLines: 1, maxBytes: 1 },
      );
      break;
    case 'check_tls':
      e.push(
        { targets: [`127.0.0.1:${web.httpsPort}`], checkProtocols: false, caFile: '/certs/root.pem' },
        {
          targets: [`https://loop.fuzz.test:${web.httpsPort}/`],
          servername: 'localhost',
          checkHeaders: true,
          caFile: '/certs/root.pem',
        },
        { targets: [`https://localhost:${web.httpsPort}/`], caFile: '/certs/link.pem' },
        { targets: ['169.254.169.254:443', '[::ffff:a9fe:a9fe]', 'meta.fuzz.test', 'mixed.fuzz.test'] },
        { targets: [`127.0.0.1:${web.httpPort}`, `127.0.0.1:${closedPort}`], checkProtocols: false },
        { targets: ['example.com'], warnDays: 1, criticalDays: 2 },
        { targets: ['http://127.0.0.1/'], caFile: '/var/log/fifo' },
      );
      break;
    case 'check_http':
      e.push(
        { urls: [`http://127.0.0.1:${web.httpPort}/`] },
        {
          urls: [
            `http://127.0.0.1:${web.httpPort}/redirect?to=${encodeURIComponent('http://169.254.169.254/')}`,
          ],
        },
        {
          urls: [
            `http://127.0.0.1:${web.httpPort}/redirect?to=${encodeURIComponent('http://meta.fuzz.test/')}`,
          ],
        },
        {
          urls: [`http://127.0.0.1:${web.httpPort}/redirect?to=${encodeURIComponent('file:///etc/passwd')}`],
        },
        { urls: [`http://127.0.0.1:${web.httpPort}/bad-location`, `http://127.0.0.1:${web.httpPort}/loop`] },
        {
          urls: [`https://localhost:${web.httpsPort}/big`, `http://127.0.0.1:${web.httpPort}/500`],
          method: 'HEAD',
        },
        { urls: [`http://127.0.0.1:${web.httpPort}/slow`], timeoutMs: 100 },
        { urls: ['http://2852039166/', 'http://[fd00:ec2::254]/', 'http://0x7f.1:1/'] },
      );
      break;
    case 'check_dns':
      e.push(
        { names: ['loop.fuzz.test'], types: ['A', 'AAAA', 'MX', 'TXT', 'CAA', 'NS', 'CNAME'] },
        { names: ['loop.fuzz.test'], resolvers: ['192.0.2.53'] },
        { names: ['loop.fuzz.test'], resolvers: ['169.254.169.254:53', dns.server] },
        { names: ['loop.fuzz.test'], resolvers: ['127.0.0.1:0'] },
        { names: ['x'], expect: setOwn({}, '__proto__', ['127.0.0.1']) },
        { names: ['loop.fuzz.test'], expect: { 'loop.fuzz.test': ['10.0.0.1'], 'loop.fuzz.test MX': ['x'] } },
      );
      break;
    case 'audit_compose':
      e.push(
        { paths: ['/srv/app'] },
        { paths: ['/srv/app/compose.yml'], env_file: '/srv/app/.env', profiles: ['*'] },
        { paths: ['/srv/app/loop.yml'] },
        { paths: ['/srv/app/laughs.yml'] },
        { paths: ['/srv/app/broken.yml', '/srv/app/compose.yml'] },
        { paths: ['/srv/app/compose.yml'], env_file: '/srv/app/fifo.env' },
        { paths: ['/srv/app/compose.yml'], env_file: '/srv/app/escape.env' },
        { paths: ['/srv/app/escape'] },
      );
      break;
    case 'scan_secrets':
      e.push(
        { paths: ['/srv/app'], respectGitignore: false },
        { paths: ['/srv'], include: ['**'], entropyThreshold: 0 },
        { paths: ['/srv/app/escape', '/srv/app/escape.env', '/srv/app/fifo.env'] },
        { paths: ['/srv/app/self/self/self'], maxFiles: 1 },
        { paths: ['/srv/app/long-line.js'], maxFileBytes: 1 },
      );
      break;
    case 'check_permissions':
      e.push(
        { paths: ['/srv/app'] },
        { paths: ['/srv'], maxDepth: 0, maxFiles: 1 },
        { paths: ['/srv/app/escape', '/srv/app/self', '/srv/app/fifo.env'], maxDepth: 256 },
      );
      break;
    case 'delete_baselines':
      e.push(
        { ids: ['../../../etc/passwd', '..', '/', 'x~20260101T000000000Z~abcdef'] },
        { ids: [`${baselineIds[0]}/../${baselineIds[1]}`, `${baselineIds[0]}\u0000`] },
      );
      break;
    case 'check_database':
      e.push(
        { target: 'pg' },
        { target: 'pg', saveBaseline: true, label: 'fuzz', limit: 1 },
        { target: 'pg', longQuerySeconds: 0.1, idleInTransactionSeconds: 0.1, limit: 200 },
        { target: 'pgbad' },
        { target: 'pgnodb' },
        { target: 'down' },
        { target: 'mydown' },
        { target: '__proto__' },
        { target: 'constructor' },
        { target: 'pg', longQuerySeconds: 0 },
      );
      break;
    case 'analyze_slow_queries':
      e.push(
        { paths: ['/var/log/mysql/mariadb-slow.log*'] },
        { paths: ['/var/log/postgresql/postgresql-16-main.log'] },
        { paths: ['/var/log/mysql/mariadb-slow.log', '/var/log/postgresql/postgresql-16-main.log'], top: 1 },
        { paths: ['/var/log/mysql/mariadb-slow.log'], format: 'postgres' },
        { paths: ['/var/log/postgresql/postgresql-16-main.log'], format: 'mysql' },
        { paths: ['/var/log/mysql/hostile-slow.log'] },
        { paths: ['/var/log/mysql/hostile-slow.log'], format: 'mysql', orderBy: 'rowsExamined', top: 200 },
        { paths: ['/var/log/mysql/hostile-slow.log'], format: 'postgres', orderBy: 'avgTime' },
        { paths: ['/var/log/mysql/broken-slow.log.gz'] },
        { paths: ['/var/log/mysql/escape-slow.log'] },
        { paths: ['/var/log/secret.log'], format: 'mysql' },
        { paths: ['/var/log/fifo'], format: 'postgres' },
        { paths: ['/var/log/postgresql/*'] },
        { paths: ['/var/log/nginx/access.log'] },
        { paths: ['/var/log/nginx/binary.log'], format: 'mysql' },
        { paths: ['/var/log/nginx/long.log'], format: 'postgres' },
        { paths: ['/var/log/nginx/empty.log'] },
        { paths: ['/var/log/mysql/../../../etc/shadow'] },
        {
          paths: ['/var/log/mysql/mariadb-slow.log*', '/var/log/postgresql/postgresql-16-main.log'],
          since: '2026-11-20T10:00:05Z',
          until: '2026-11-20T11:00:00+01:00',
        },
        {
          paths: ['/var/log/mysql/mariadb-slow.log'],
          since: '2030-01-01T00:00:00Z',
          until: '2020-01-01T00:00:00Z',
        },
        { paths: ['/var/log/mysql/mariadb-slow.log'], maxLines: 1, maxBytes: 1 },
        { paths: ['/var/log/mysql/mariadb-slow.log', '/var/log/mysql/mariadb-slow.log'], format: 'MySQL' },
      );
      break;
    case 'check_clock':
      e.push(
        { samples: 1 },
        { servers: [sntp.server, `127.0.0.1:${closedPort}`], samples: 2 },
        { servers: ['169.254.169.123', 'pool.ntp.org', 'meta.fuzz.test:123', '[::ffff:a9fe:a9fe]:123'] },
        { servers: ['127.0.0.1:0'] },
      );
      break;
  }
  return e.map((x) => [x]);
}

describe('the network guard', () => {
  it('stops and records a connection or datagram beyond loopback', async () => {
    const before = guard.violations.length;
    const tcp = net.connect(9, '192.0.2.1');
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => tcp.once('error', resolve));
    expect(err.code).toBe('EGUARD');
    const udp = dgram.createSocket('udp4');
    const udpErr = await new Promise<NodeJS.ErrnoException>((resolve) =>
      udp.send(Buffer.from('x'), 9, '192.0.2.1', (e) => resolve(e as NodeJS.ErrnoException)),
    );
    udp.close();
    expect(udpErr.code).toBe('EGUARD');
    expect(guard.violations.splice(before)).toEqual(['tcp 192.0.2.1:9', 'udp 192.0.2.1:9']);
  });
});

describe('fuzzing every tool through a real MCP client over HTTP', () => {
  for (const tool of tools) {
    it.skipIf(tool.name === 'check_database' && !havePostgres)(
      `${tool.name}: generated and junk arguments never crash it, and every answer is clean`,
      async () => {
        const schema = z.toJSONSchema(z.object(tool.inputSchema), { io: 'input', unrepresentable: 'any' });
        const args = toolArguments(schema as JsonSchema, toolOptions(tool.name));
        await fc.assert(
          fc.asyncProperty(args, async (a) => {
            await callAndJudge(tool, a);
          }),
          { numRuns: RUNS_PER_TOOL, examples: examplesFor(tool.name), ...seedOption },
        );
        // The fuzzer reached the handler, not only the schema validator. A new tool that fails
        // here needs hints (toolOptions) or examples (examplesFor) that it can act on.
        const tally = outcomes.get(tool.name);
        const why = `${tool.name}: ${JSON.stringify(tally)}; add hints or examples for it`;
        expect(tally?.ok, why).toBeGreaterThan(0);
        expect(tally?.invalid, why).toBeGreaterThan(0);
      },
      60_000 * SCALE,
    );
  }

  const NON_OBJECTS: unknown[] = [null, 'junk', 5, [1, 2], true, [{ maxAgeSeconds: 0 }]];

  it('refuses arguments that are no object with a JSON-RPC error, before any tool runs', async () => {
    for (const tool of tools) {
      for (const bad of NON_OBJECTS) {
        const context = `${tool.name}(${JSON.stringify(bad)})`;
        const err = await client
          .request({
            method: 'tools/call',
            params: { name: tool.name, arguments: bad as Record<string, unknown> },
          })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err, `${context} was accepted`).toBeInstanceOf(ProtocolError);
        expect([ProtocolErrorCode.InvalidParams, ProtocolErrorCode.InternalError], context).toContain(
          (err as ProtocolError).code,
        );
        expectCleanMessage((err as ProtocolError).message, context);
      }
    }
  });

  // The SDK's request-schema check would answer these with -32603 and a zod dump; the
  // authorization gate checks params first (authorizationGate.ts, invalidParams).
  it('refuses arguments that are no object with -32602 Invalid params', async () => {
    for (const bad of NON_OBJECTS) {
      const err = await client
        .request({
          method: 'tools/call',
          params: { name: 'detect_system', arguments: bad as Record<string, unknown> },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((err as ProtocolError | undefined)?.code, JSON.stringify(bad)).toBe(
        ProtocolErrorCode.InvalidParams,
      );
    }
  });

  it('leaves the server healthy: /health 200, detect_system works, no tool call failed unexpectedly', async () => {
    const health = await fetch(new URL('/health', server.url), { signal: AbortSignal.timeout(5000) });
    expect(health.status).toBe(200);
    const res = await client.callTool({ name: 'detect_system', arguments: { maxAgeSeconds: 0 } });
    expect(res.isError).toBeFalsy();
    expect(res.structuredContent).toMatchObject({ cacheAgeSeconds: 0, hostname: 'web01' });
    const metrics = await fetch(new URL('/metrics', server.url), { signal: AbortSignal.timeout(5000) });
    const text = await metrics.text();
    // Refusals were counted (so the series exist), failures of the server never.
    expect(text).toMatch(/mcp_tool_calls_total\{[^}]*outcome="refused"[^}]*\} [1-9]/);
    expect(text).not.toMatch(/mcp_tool_calls_total\{[^}]*outcome="error"[^}]*\} [1-9]/);
    expect(text).not.toMatch(/mcp_http_requests_total\{[^}]*status="5\d\d"[^}]*\} [1-9]/);
  });

  it('never contacted anything but loopback', () => {
    expect(guard.violations).toEqual([]);
    // The guard saw the traffic it should have: TCP to the web server, UDP to the SNTP stub.
    expect([...guard.contacted]).toEqual(
      expect.arrayContaining([
        `tcp 127.0.0.1:${web.httpPort}`,
        `tcp 127.0.0.1:${web.httpsPort}`,
        `udp 127.0.0.1:${sntp.port}`,
        ...(pgPeer ? [`tcp 127.0.0.1:${pgPeer.port}`] : []),
      ]),
    );
  });

  // After the health check above: these fail unexpectedly, which it counts.

  // Found by this fuzzing: a PostgreSQL duration too big for a double ("duration: 999…9.5 ms",
  // 400 digits) was read as Infinity and broke the output schema. Such entries are skipped now.
  it('analyze_slow_queries: a PostgreSQL duration beyond a double is no Output validation error', async () => {
    const args = { paths: ['/var/log/slowbugs/pg-huge-duration.log'] };
    const res = await client.callTool({ name: 'analyze_slow_queries', arguments: args });
    expect(JSON.stringify(res.content)).not.toMatch(/Output validation error/);
    expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
  });

  // Found by this fuzzing: a MySQL entry with `SET timestamp=99999999999999999999;` (past the
  // Date range) made toISOString throw. Such entries count as undated now.
  it('analyze_slow_queries: a MySQL timestamp beyond the Date range is no unexpected failure', async () => {
    const args = { paths: ['/var/log/slowbugs/mysql-huge-timestamp.log'] };
    const res = await client.callTool({ name: 'analyze_slow_queries', arguments: args });
    expect(JSON.stringify(res.content)).not.toMatch(/failed unexpectedly|RangeError/);
    expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
  });
});

// ---------------------------------------------------------------------------------------------
// The SSRF policy as configured here, on its own: every non-loopback address is refused.
// ---------------------------------------------------------------------------------------------

describe('the loopback-only policy the fuzz server runs with', () => {
  const policy = () =>
    new SsrfPolicy({
      denyPrivate: false,
      allow: [],
      deny: LOOPBACK_ONLY_DENY,
      dnsServers: [dns.server],
      timeoutMs: 300,
    });

  it('refuses every address outside 127.0.0.0/8 and ::1, and no loopback address', () => {
    const p = policy();
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended()), (ip) => {
        let canonical: string | undefined;
        try {
          canonical = SsrfPolicy.normalizeHost(ip);
        } catch {
          return; // not an address at all
        }
        const why = p.refusal(canonical);
        if (isLoopbackDestination(canonical)) expect(why, canonical).toBeUndefined();
        else expect(why, canonical).toBeDefined();
      }),
      { numRuns: 2000 * SCALE, ...seedOption },
    );
    for (const ip of [
      '126.255.255.255',
      '128.0.0.0',
      '0.0.0.1',
      '::',
      '::2',
      '::ffff:126.0.0.1',
      '8000::',
      'ffff::1',
    ])
      expect(p.refusal(ip), ip).toBeDefined();
    for (const ip of ['127.0.0.1', '127.255.255.255', '::1', '::ffff:127.0.0.1'])
      expect(p.refusal(ip), ip).toBeUndefined();
  });

  it(
    'resolves any host string to loopback or refuses it',
    async () => {
      const p = policy();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            hostArb,
            fc.string({ maxLength: 30 }),
            fc.domain(),
            fc.constantFrom(...FORBIDDEN_HOSTS, ...LOOPBACK_HOSTS),
          ),
          async (host) => {
            try {
              const r = await p.resolve(host);
              expect(isLoopbackDestination(r.address), `${host} -> ${r.address}`).toBe(true);
            } catch (err) {
              expect(err, host).toBeInstanceOf(SsrfError);
            }
          },
        ),
        { numRuns: 300 * SCALE, ...seedOption },
      );
    },
    60_000 * SCALE,
  );
});

// ---------------------------------------------------------------------------------------------
// Raw JSON-RPC on POST /mcp
// ---------------------------------------------------------------------------------------------

describe('fuzzing raw JSON-RPC on POST /mcp', () => {
  let sessionId: string | undefined;

  beforeAll(async () => {
    const init = await post(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'raw-fuzz', version: '1' },
        },
      }),
    );
    expect(init.status).toBe(200);
    sessionId = init.sessionId as string;
    expect(sessionId).toMatch(/^[\w-]{16,}$/);
    const ready = await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    expect(ready.status).toBe(202);
  });

  interface Answer {
    status: number;
    type: string;
    body: string;
    sessionId?: string;
  }

  /**
   * One POST on its own connection (no keep-alive: a reused socket the server is closing would
   * fail a request for reasons that are not the body's). Never a hang: every answer, SSE streams
   * included, must be complete within seconds.
   */
  function post(body: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        server.url,
        {
          method: 'POST',
          agent: false,
          headers: {
            ...MCP_HEADERS,
            ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' } : {}),
            ...headers,
          },
          signal: AbortSignal.timeout(timeoutMs),
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (data += d));
          res.on('error', reject);
          res.on('close', () => {
            if (!res.complete) reject(new Error('the response was cut short'));
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              type: String(res.headers['content-type'] ?? ''),
              body: data,
              sessionId: res.headers['mcp-session-id'] as string | undefined,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** The JSON-RPC messages of a response: SSE `data:` lines, or a JSON body. */
  function messagesOf(a: Answer): unknown[] {
    if (a.type.startsWith('text/event-stream')) {
      return a.body
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as unknown);
    }
    if (a.body.trim() === '') return [];
    expect(a.type, a.body.slice(0, 200)).toMatch(/^application\/json/);
    return [JSON.parse(a.body) as unknown].flat();
  }

  /** `lenientIds`: a logging/setLevel body, whose echoed ids are a known bug with its own test. */
  function expectRpcAnswer(a: Answer, context: string, lenientIds = false): void {
    expect(a.status, `${context} -> ${a.status} ${a.body.slice(0, 300)}`).toBeLessThan(500);
    if (a.status === 202) {
      expect(a.body, context).toBe('');
      return;
    }
    const messages = messagesOf(a);
    if (a.status !== 200)
      expect(messages.length, `${context}: an HTTP error without a JSON-RPC body`).toBeGreaterThan(0);
    for (const m of messages) {
      const msg = m as Record<string, unknown>;
      const shown = `${context} -> ${JSON.stringify(m).slice(0, 300)}`;
      expect(typeof msg, shown).toBe('object');
      expect(msg.jsonrpc, shown).toBe('2.0');
      if ('method' in msg) continue; // a notification on the call's stream (progress, log)
      expect('result' in msg !== 'error' in msg, `${shown}: exactly one of result and error`).toBe(true);
      if (!lenientIds)
        expect(['string', 'number'].includes(typeof msg.id) || msg.id === null, `${shown}: id`).toBe(true);
      if ('error' in msg) {
        const e = msg.error as { code?: unknown; message?: unknown };
        expect(Number.isInteger(e.code), shown).toBe(true);
        expect(typeof e.message, shown).toBe('string');
        expectCleanMessage(e.message as string, shown);
      }
    }
  }

  const toolNames = tools.map((t) => t.name);
  const METHODS = [
    'initialize',
    'ping',
    'tools/list',
    'tools/call',
    'resources/list',
    'resources/read',
    'resources/templates/list',
    'resources/subscribe',
    'prompts/list',
    'prompts/get',
    'completion/complete',
    'logging/setLevel',
    'sampling/createMessage',
    'roots/list',
    'tasks/get',
    'tasks/list',
    'notifications/initialized',
    'notifications/cancelled',
    'notifications/progress',
    'notifications/roots/list_changed',
    'rpc.discover',
    '',
  ];
  const idArb = fc.oneof(
    fc.integer(),
    fc.string({ maxLength: 20 }),
    fc.constantFrom(null, 0, -1, 1e308, 2 ** 53 + 1, -0, 1.5, true, 'a'.repeat(100_000)),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
  );
  const paramsArb = fc.oneof(
    junkValue,
    fc.record(
      {
        name: fc.oneof(fc.constantFrom(...toolNames, 'nope'), junkString),
        arguments: fc.oneof(
          fc.constant({ maxAgeSeconds: 0, cpuSampleMs: 0, saveBaseline: false }),
          junkValue,
        ),
        _meta: fc.record(
          { progressToken: fc.oneof(fc.integer(), fc.string(), junkValue) },
          { requiredKeys: [] },
        ),
        uri: fc.constantFrom(
          'audit://baselines',
          'audit://baselines/../../etc/passwd',
          'audit://baselines/%2e%2e%2f',
          'file:///etc/passwd',
          'audit://baselines/x~20260101T000000000Z~abcdef',
        ),
        level: fc.oneof(fc.constantFrom('debug', 'emergency', 'loud'), junkValue),
        requestId: idArb,
        progressToken: idArb,
        cursor: junkString,
      },
      { requiredKeys: [] },
    ),
  );
  const messageArb = fc.record(
    {
      jsonrpc: fc.oneof({ weight: 5, arbitrary: fc.constant('2.0') }, { weight: 1, arbitrary: junkValue }),
      id: idArb,
      method: fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...METHODS) },
        { weight: 1, arbitrary: junkValue },
      ),
      params: paramsArb,
      result: junkValue,
      error: junkValue,
    },
    { requiredKeys: [] },
  );
  function cancelsOwnRequest(batch: Array<Record<string, unknown>>): boolean {
    const ids = new Set(batch.filter((m) => 'id' in m).map((m) => JSON.stringify(m.id)));
    return batch.some(
      (m) =>
        m.method === 'notifications/cancelled' &&
        typeof m.params === 'object' &&
        m.params !== null &&
        ids.has(JSON.stringify((m.params as { requestId?: unknown }).requestId)),
    );
  }
  const rawText = fc.oneof(
    fc.constantFrom(
      '',
      ' ',
      'null',
      'true',
      '1',
      '"str"',
      '[]',
      '{}',
      '[[]]',
      '[{}]',
      '{',
      '{"jsonrpc":"2.0","id":1,"method":"ping"',
      '{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}',
      '{"jsonrpc":"2.0","id":1e400,"method":"ping"}',
      '{"jsonrpc":"2.0","id":-0,"method":"ping"}',
      '{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}',
      '{"jsonrpc":"2.0","id":1,"method":"ping","__proto__":{"method":"tools/list"}}',
      '\ufeff{"jsonrpc":"2.0","id":1,"method":"ping"}',
      '{"jsonrpc":"2.0","id":1,"method":"ping"}garbage',
      '{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}',
      "{'jsonrpc':'2.0'}",
      'NaN',
      '\u0000\u0001\u0002',
    ),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.jsonValue().map((v) => JSON.stringify(v)),
  );
  const bodyArb = fc.oneof(
    { weight: 6, arbitrary: messageArb.map((m) => JSON.stringify(m)) },
    {
      weight: 2,
      arbitrary: fc
        .array(messageArb, { maxLength: 8 })
        // A batch cancelling its own request hangs (known bug, its own test below): keep it out of the random runs.
        .filter((b) => !cancelsOwnRequest(b))
        .map((b) => JSON.stringify(b)),
    },
    { weight: 1, arbitrary: junkValue.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: rawText },
  );

  it(
    'answers generated junk with a JSON-RPC error or result, below 500, within seconds',
    async () => {
      await fc.assert(
        fc.asyncProperty(bodyArb, async (body) => {
          expectRpcAnswer(await post(body), body.slice(0, 300), body.includes('logging/setLevel'));
        }),
        { numRuns: RAW_RUNS, ...seedOption },
      );
    },
    60_000 * SCALE,
  );

  it(
    'survives deep nesting, huge ids, big batches and bodies',
    async () => {
      const deepArrays = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
      const deepObjects = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
      const call = (args: string) =>
        `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"detect_system","arguments":${args}}}`;
      const cases: Array<[string, string]> = [
        ['10k nested arrays', deepArrays(10_000)],
        ['100k nested arrays', deepArrays(100_000)],
        ['10k nested objects', deepObjects(10_000)],
        ['nested arguments', call(`{"maxAgeSeconds":0,"x":${deepArrays(10_000)}}`)],
        ['nested arguments object', call(deepObjects(10_000))],
        ['nested id', `{"jsonrpc":"2.0","id":${deepArrays(10_000)},"method":"ping"}`],
        ['nested params', `{"jsonrpc":"2.0","id":1,"method":"ping","params":${deepObjects(10_000)}}`],
        [
          'nested _meta',
          `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":${deepObjects(10_000)}}}`,
        ],
        [
          'nested setLevel',
          `{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":${deepArrays(10_000)}}}`,
        ],
        ['nested in a batch', `[${deepArrays(5_000)},{"jsonrpc":"2.0","id":1,"method":"ping"}]`],
        ['huge numeric id', `{"jsonrpc":"2.0","id":${'9'.repeat(5000)},"method":"ping"}`],
        ['huge string id', JSON.stringify({ jsonrpc: '2.0', id: 'i'.repeat(1_000_000), method: 'ping' })],
        ['empty batch', '[]'],
        [
          'batch of 500 pings',
          JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' }))),
        ],
        [
          'mixed batch',
          JSON.stringify([
            { jsonrpc: '2.0', id: 1, method: 'ping' },
            { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
            { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'detect_system', arguments: {} } },
            { jsonrpc: '2.0', id: 3, method: 'nope' },
            42,
            null,
            { jsonrpc: '2.0', id: 4, result: {} },
          ]),
        ],
        [
          'duplicate ids in a batch',
          JSON.stringify([
            {
              jsonrpc: '2.0',
              id: 1,
              method: 'tools/call',
              params: { name: 'check_clock', arguments: { samples: 1 } },
            },
            { jsonrpc: '2.0', id: 1, method: 'ping' },
          ]),
        ],
        [
          'a batch cancelling an unknown id',
          JSON.stringify([
            { jsonrpc: '2.0', id: 1, method: 'ping' },
            { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 99 } },
          ]),
        ],
        [
          'initialize inside a session',
          JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
        ],
        [
          'body over MAX_BODY_BYTES',
          JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'ping',
            params: { x: 'x'.repeat(9 * 1024 * 1024) },
          }),
        ],
      ];
      const failures: string[] = [];
      for (const [name, body] of cases) {
        try {
          expectRpcAnswer(await post(body), name);
        } catch (err) {
          failures.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      expect(failures).toEqual([]);
    },
    60_000 * SCALE,
  );

  // The SDK drops a cancelled request's response and the stateless transport would wait for it
  // forever; the gate answers it (-32800) so the stream ends.
  it('ends a batch that cancels its own request', async () => {
    const body = JSON.stringify([
      { jsonrpc: '2.0', id: 5, method: 'ping' },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 5, reason: 'fuzz' } },
    ]);
    await post(body, {}, 3000);
  });

  // logging/setLevel is answered by the session layer only when well formed; the rest goes to the
  // SDK transport like any request.
  it('answers logging/setLevel like any other request: envelope checked, notifications unanswered', async () => {
    const bad = await post(
      JSON.stringify({
        jsonrpc: '2.0',
        id: [1, 2],
        method: 'logging/setLevel',
        params: { level: 'debug' },
      }),
    );
    for (const m of messagesOf(bad)) expect((m as { id?: unknown }).id ?? null).not.toEqual([1, 2]);
    const notification = await post(
      JSON.stringify({ jsonrpc: '2.0', method: 'logging/setLevel', params: { level: 'debug' } }),
    );
    expect(notification.status).toBe(202);
  });

  it(
    'answers odd headers below 500',
    async () => {
      const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
      const headerArb = fc.record(
        {
          'content-type': fc.constantFrom(
            'text/plain',
            'application/json; charset=utf-16',
            'application/x-www-form-urlencoded',
            '',
          ),
          accept: fc.constantFrom('application/json', 'text/event-stream', '*/*', ''),
          'mcp-protocol-version': fc.constantFrom('1999-01-01', '', 'x'.repeat(300), '2025-03-26'),
          'mcp-session-id': fc.constantFrom(
            '00000000-0000-4000-8000-000000000000',
            'not-a-session',
            '../../etc/passwd',
          ),
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(headerArb, async (headers) => {
          expectRpcAnswer(await post(ping, headers), JSON.stringify(headers));
        }),
        { numRuns: 40 * SCALE, ...seedOption },
      );
    },
    60_000 * SCALE,
  );

  it('still serves afterwards: /health 200, the session answers, a new client calls detect_system', async () => {
    const health = await fetch(new URL('/health', server.url), { signal: AbortSignal.timeout(5000) });
    expect(health.status).toBe(200);
    const pong = await post(JSON.stringify({ jsonrpc: '2.0', id: 'last', method: 'ping' }));
    expect(pong.status).toBe(200);
    expect(messagesOf(pong)).toEqual([{ jsonrpc: '2.0', id: 'last', result: {} }]);
    const fresh = await connectClient(server.url, 'after-fuzz');
    try {
      const res = await fresh.callTool({ name: 'detect_system', arguments: {} });
      expect(res.isError).toBeFalsy();
    } finally {
      await fresh.close();
    }
    expect(guard.violations).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Log lines are written by whoever sends requests to the audited site: the parsers and the
// analyzer behind analyze_bots, fuzzed directly with many more cases than the MCP round trip allows.
// ---------------------------------------------------------------------------------------------

describe('log lines and formats, fuzzed directly', () => {
  const MAX_DATE_MS = 8.64e15;

  function expectWellTyped(e: LogEntry, context: string): void {
    expect(typeof e.ip, context).toBe('string');
    expect(Number.isNaN(e.time) || Math.abs(e.time) <= MAX_DATE_MS, `${context}: time ${e.time}`).toBe(true);
    for (const k of ['method', 'path', 'userAgent', 'referer'] as const) {
      expect(typeof e[k], `${context}: ${k}`).toBe('string');
      expect(e[k], `${context}: ${k}`).not.toContain('[object Object]');
    }
    expect(Number.isFinite(e.status) && e.status >= 0, `${context}: status ${e.status}`).toBe(true);
    expect(Number.isFinite(e.bytes) && e.bytes >= 0, `${context}: bytes ${e.bytes}`).toBe(true);
    expect(e.vhost === null || typeof e.vhost === 'string', `${context}: vhost ${String(e.vhost)}`).toBe(
      true,
    );
  }

  /** The analyzer takes the entries and its result survives JSON (no Infinity, NaN, bad dates). */
  function expectAnalyzable(entries: LogEntry[]): void {
    const analyzer = new BotAnalyzer({ isAllowed: () => false, domains: undefined });
    for (const e of entries) analyzer.add({ ...e });
    const result = analyzer.finish(10, new Map());
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  }

  const JSON_KEYS = [
    'remote_addr',
    'client_ip',
    'ip',
    'request',
    'method',
    'uri',
    'path',
    'status',
    'body_bytes_sent',
    'bytes',
    'size',
    'time',
    'ts',
    'timestamp',
    'time_iso8601',
    'time_local',
    '@timestamp',
    'host',
    'server_name',
    'vhost',
    'http_user_agent',
    'user_agent',
    'http_referer',
    'headers',
    '__proto__',
  ];
  /** 1e400 and friends cannot be built in JavaScript; they are spliced into the text. */
  const RAW_NUMBERS = [
    '1e400',
    '-1e400',
    '1e20',
    '-1e20',
    '1.7e18',
    '-0',
    '1e-400',
    '123456789012345678901234567890',
  ];
  const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.constantFrom(
      'GET / HTTP/1.1',
      '17/May/2015:10:05:03 +0000',
      '2026-01-01T00:00:00Z',
      '',
      '-',
      'Googlebot/2.1',
    ),
    fc.constantFrom(...RAW_NUMBERS).map((n) => `__RAW__${n}__`),
    fc.string({ maxLength: 30 }),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.jsonValue({ maxDepth: 2 }),
  );
  const jsonLine = fc
    .tuple(
      fc.array(fc.tuple(fc.constantFrom(...JSON_KEYS), fieldValue), { maxLength: 10 }),
      fc.option(
        fc.array(fc.tuple(fc.constantFrom('remote_ip', 'method', 'host', 'uri', 'headers'), fieldValue), {
          maxLength: 5,
        }),
      ),
    )
    .map(([fields, request]) => {
      const o = fields.reduce<Record<string, unknown>>((acc, [k, v]) => setOwn(acc, k, v), {});
      if (request)
        setOwn(
          o,
          'request',
          request.reduce<Record<string, unknown>>((acc, [k, v]) => setOwn(acc, k, v), {}),
        );
      return JSON.stringify(o).replace(/"__RAW__(.*?)__"/g, '$1');
    });

  it(
    'parses any JSON line to a well-typed entry or none, and the analyzer takes it',
    () => {
      fc.assert(
        fc.property(fc.array(jsonLine, { minLength: 1, maxLength: 12 }), (lines) => {
          const entries: LogEntry[] = [];
          for (const line of lines) {
            const e = parseJsonLine(line);
            if (!e) continue;
            expectWellTyped(e, line);
            entries.push(e);
          }
          expectAnalyzable(entries);
        }),
        { numRuns: 400 * SCALE, ...seedOption },
      );
    },
    60_000 * SCALE,
  );

  const SAMPLE = readFileSync(join(FIXTURES, 'logs', 'elastic-apache-10k.log'), 'utf8')
    .split('\n')
    .slice(0, 20);
  const hostileLine = fc.oneof(
    fc.constantFrom(...SAMPLE),
    fc
      .tuple(fc.constantFrom(...SAMPLE), fc.nat(), fc.string({ unit: 'binary', maxLength: 20 }))
      .map(([l, at, ins]) => l.slice(0, at % (l.length + 1)) + ins + l.slice(at % (l.length + 1))),
    fc
      .tuple(
        fc.constantFrom(' ', '"', '\\', '[', 'a ', '\\"', '%', '-'),
        fc.integer({ min: 1, max: 16_000 }),
        fc.constantFrom('', 'x', '"', '1.2.3.4 '),
      )
      .map(([unit, n, around]) => `${around}${unit.repeat(Math.ceil(n / unit.length))}${around}`),
    fc.constantFrom(SAMPLE[0] ?? '').map((l) => l.replace(/ (\d+) "/, ` ${'9'.repeat(400)} "`)),
    fc.string({ unit: 'binary', maxLength: 200 }),
  );
  const formatArb = fc.oneof(
    fc.constantFrom(
      'combined',
      'common',
      'vhost_combined',
      'nginx',
      ...LOG_FORMATS.filter((f) => f !== 'auto' && f !== 'json'),
    ),
    fc
      .array(
        fc.constantFrom(
          '%h',
          '%a',
          '%l',
          '%u',
          '%t',
          '"%r"',
          '%r',
          '%>s',
          '%b',
          '%O',
          '%v',
          '%{Referer}i',
          '"%{User-Agent}i"',
          '%{Host}i',
          '%D',
          ' ',
          '  ',
          '"',
          '[',
          ']',
          '-',
          ':',
          '\\',
        ),
        { minLength: 1, maxLength: 16 },
      )
      .map((t) => t.join('')),
  );

  const sandbox = vm.createContext({ parse: undefined as unknown, line: '' });

  it(
    'compiles any LogFormat or refuses it clearly, and parses hostile lines in linear time',
    () => {
      fc.assert(
        fc.property(formatArb, fc.array(hostileLine, { minLength: 1, maxLength: 8 }), (format, lines) => {
          let parse: ReturnType<typeof compileFormat>;
          try {
            parse = parserFor(format);
          } catch (err) {
            expect(err, format).toBeInstanceOf(Error);
            expectCleanMessage((err as Error).message, format);
            return;
          }
          const entries: LogEntry[] = [];
          for (const line of lines) {
            const context = `${format} on ${JSON.stringify(line.slice(0, 80))} (${line.length} chars)`;
            // Run under a watchdog: a backtracking pattern fails the property instead of hanging it.
            sandbox.parse = parse;
            sandbox.line = line;
            const cpu = cpuStopwatch();
            let e: LogEntry | undefined;
            try {
              // The watchdog only stops a hang; the CPU bound below judges.
              e = vm.runInContext('parse(line)', sandbox, { timeout: 10_000 }) as LogEntry | undefined;
            } catch (err) {
              throw new Error(`${context}: ${(err as Error).message}`);
            }
            // Linear is well under a millisecond of CPU for 16 KiB; backtracking is hundreds.
            // CPU time, not wall-clock: other load on the machine does not count.
            expect(cpu(), context).toBeLessThan(150);
            if (!e) continue;
            expectWellTyped(e, `${format}: ${line.slice(0, 200)}`);
            entries.push(e);
          }
          expectAnalyzable(entries);
        }),
        { numRuns: 300 * SCALE, ...seedOption },
      );
    },
    60_000 * SCALE,
  );
});
