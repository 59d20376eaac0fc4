/**
 * check_database against real servers started by the test (tests/helpers/databases.ts): each
 * condition is provoked for real, seen by the tool through an MCP client over HTTP, and gone
 * after cleanup. Passwords are distinctive strings searched for in every result and in the logs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { type RunningHttp, startHttp } from '../../src/runtime.js';
import { checkDatabaseTool } from '../../src/tools/checkDatabase.js';
import { tools } from '../../src/tools/index.js';
import {
  type MariadbPeer,
  type PgPeer,
  requireMariadb,
  requirePostgres,
  startMariadb,
  startPostgres,
} from '../helpers/databases.js';
import { configFrom, connectClient, startInProcess } from '../helpers/servers.js';

const haveServers = requirePostgres() && requireMariadb();
const allTools = tools.some((t) => t.name === 'check_database') ? tools : [...tools, checkDatabaseTool];

const PG_PW = 'Pg-Unmistakable-Secret-4417';
const MY_PW = 'My-Unmistakable-Secret-9023';
const BAD_PW = 'Wrong-Unmistakable-Secret-5521';

interface Result {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: {
    status: string;
    findings: Array<{ id: string; severity: string; title: string; evidence: string }>;
    metrics: Record<string, number>;
    longQueries: Array<{ id: number; seconds: number; query: string | null }>;
    notes: string[];
    readOnlySession: boolean;
    baselineId: string | null;
    version: string;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!haveServers)('check_database against real PostgreSQL and MariaDB', () => {
  let pgPeer: PgPeer;
  let myPeer: MariadbPeer;
  let server: RunningHttp;
  let client: Client;
  let dir: string;
  let env: Record<string, string>;
  const seen: string[] = [];

  const call = async (target: string, args: Record<string, unknown> = {}, c = client): Promise<Result> => {
    const r = (await c.callTool({ name: 'check_database', arguments: { target, ...args } })) as Result;
    seen.push(JSON.stringify(r));
    return r;
  };
  const ids = (r: Result) => (r.structuredContent?.findings ?? []).map((f) => f.id);
  const finding = (r: Result, id: string) => r.structuredContent?.findings.find((f) => f.id === id);

  beforeAll(async () => {
    [pgPeer, myPeer] = await Promise.all([
      startPostgres({ adminPassword: PG_PW, settings: { max_connections: 12 } }),
      startMariadb({ adminPassword: MY_PW }),
    ]);
    dir = mkdtempSync(join(tmpdir(), 'dbtargets-'));
    const file = join(dir, 'targets.yaml');
    writeFileSync(
      file,
      [
        `- { name: pg, kind: postgres, host: 127.0.0.1, port: ${pgPeer.port}, user: postgres, passwordEnv: DB_PW_PG, database: postgres }`,
        `- { name: my, kind: mysql, host: 127.0.0.1, port: ${myPeer.port}, user: admin, passwordEnv: DB_PW_MY }`,
        `- { name: mysock, kind: mysql, socket: ${myPeer.socket}, user: admin, passwordEnv: DB_PW_MY }`,
        `- { name: pgbad, kind: postgres, host: 127.0.0.1, port: ${pgPeer.port}, user: postgres, passwordEnv: DB_PW_BAD }`,
        '',
      ].join('\n'),
    );
    env = {
      DB_TARGETS_FILE: file,
      DB_PW_PG: PG_PW,
      DB_PW_MY: MY_PW,
      DB_PW_BAD: BAD_PW,
      AUDIT_LOG_FILE: join(dir, 'audit.log'),
    };
    server = await startInProcess(env, { tools: allTools });
    client = await connectClient(server.url);
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await server?.shutdown('test done');
    await Promise.all([pgPeer?.stop(), myPeer?.stop()]);
  }, 60_000);

  describe('MariaDB', () => {
    it('reports version, metrics and a read-only session; over TCP and the socket', async () => {
      const r = await call('my');
      expect(r.isError).toBeFalsy();
      const s = r.structuredContent!;
      expect(s.readOnlySession).toBe(true);
      expect(s.version).toMatch(/MariaDB/);
      expect(s.metrics['db.my.max_connections']).toBe(151);
      expect(s.metrics['db.my.connections_used_percent']).toBeGreaterThan(0);
      expect(ids(r)).toContain('db.config.name_resolve:my');
      expect(ids(r)).not.toContain('db.users.anonymous:my');
      expect(finding(r, 'db.users.blank_password:my')?.evidence).toBeUndefined();
      const sock = await call('mysock');
      expect(sock.isError).toBeFalsy();
      expect(sock.structuredContent!.metrics['db.mysock.max_connections']).toBe(151);
    });

    it('a long SELECT SLEEP: reported with its literals masked, gone once killed', async () => {
      const bg = await myPeer.connect();
      const [[{ id }]] = (await bg.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
      const running = bg.query("SELECT SLEEP(30), 'card-4111-1111' AS leak").catch(() => undefined);
      await sleep(1300);
      const r = await call('my', { longQuerySeconds: 1 });
      const f = finding(r, 'db.queries.long_running:my');
      expect(f?.severity).toBe('medium');
      const q = r.structuredContent!.longQueries.find((x) => x.id === id);
      expect(q?.query).toBe('SELECT SLEEP(?), ? AS leak');
      expect(JSON.stringify(r)).not.toContain('4111');
      await myPeer.query(`KILL QUERY ${id}`);
      await running;
      await bg.end();
      const after = await call('my', { longQuerySeconds: 1 });
      expect(ids(after)).not.toContain('db.queries.long_running:my');
    });

    it('a table without a primary key and a MyISAM table', async () => {
      await myPeer.query('CREATE DATABASE app');
      await myPeer.query('CREATE TABLE app.nopk (a INT) ENGINE=InnoDB');
      await myPeer.query('CREATE TABLE app.legacy (id INT PRIMARY KEY) ENGINE=MyISAM');
      const r = await call('my');
      expect(finding(r, 'db.tables.no_primary_key:my')?.evidence).toContain('app.nopk');
      expect(finding(r, 'db.tables.no_primary_key:my')?.evidence).not.toContain('app.legacy');
      expect(finding(r, 'db.tables.myisam:my')?.evidence).toBe('app.legacy');
      expect(r.structuredContent!.metrics['db.my.myisam_tables']).toBe(1);
      await myPeer.query('DROP DATABASE app');
      const after = await call('my');
      expect(ids(after)).not.toContain('db.tables.no_primary_key:my');
      expect(ids(after)).not.toContain('db.tables.myisam:my');
    });

    it('connections near a lowered max_connections', async () => {
      await myPeer.query('SET GLOBAL max_connections = 10');
      const held = await Promise.all(Array.from({ length: 8 }, () => myPeer.connect()));
      try {
        const r = await call('my');
        const f = finding(r, 'db.connections.used_percent:my');
        expect(f?.severity).toBe('high');
        expect(f?.evidence).toMatch(/^9 of 10 connections/);
        expect(r.structuredContent!.metrics['db.my.connections_used_percent']).toBe(90);
      } finally {
        await Promise.all(held.map((c) => c.end()));
      }
      await sleep(200);
      const after = await call('my');
      expect(ids(after)).not.toContain('db.connections.used_percent:my');
      await myPeer.query('SET GLOBAL max_connections = 151');
    });

    it('an anonymous user, a user without a password and a %-host ALL PRIVILEGES user', async () => {
      await myPeer.query("CREATE USER ''@'localhost'");
      await myPeer.query("CREATE USER 'nopw'@'localhost'");
      await myPeer.query("CREATE USER 'wide'@'%' IDENTIFIED BY 'Wide-Secret-77'");
      await myPeer.query("GRANT ALL PRIVILEGES ON *.* TO 'wide'@'%'");
      const r = await call('my');
      expect(finding(r, 'db.users.anonymous:my')).toMatchObject({
        severity: 'high',
        evidence: "''@'localhost'",
      });
      expect(finding(r, 'db.users.blank_password:my')).toMatchObject({
        severity: 'critical',
        evidence: "'nopw'@'localhost'",
      });
      expect(finding(r, 'db.users.wildcard_all_privileges:my')?.evidence).toBe("'wide'@'%'");
      await myPeer.query("DROP USER ''@'localhost', 'nopw'@'localhost', 'wide'@'%'");
      const after = await call('my');
      for (const id of [
        'db.users.anonymous:my',
        'db.users.blank_password:my',
        'db.users.wildcard_all_privileges:my',
      ])
        expect(ids(after)).not.toContain(id);
    });

    it('local_infile on, then off', async () => {
      await myPeer.query('SET GLOBAL local_infile = 1');
      expect(finding(await call('my'), 'db.config.local_infile:my')?.severity).toBe('medium');
      await myPeer.query('SET GLOBAL local_infile = 0');
      expect(ids(await call('my'))).not.toContain('db.config.local_infile:my');
    });
  });

  describe('PostgreSQL', () => {
    it('reports version, metrics and a read-only session', async () => {
      const r = await call('pg');
      expect(r.isError).toBeFalsy();
      const s = r.structuredContent!;
      expect(s.readOnlySession).toBe(true);
      expect(s.version).toMatch(/^\d+/);
      expect(s.metrics['db.pg.max_connections']).toBe(12);
      expect(s.metrics['db.pg.cache_hit_percent']).toBeGreaterThan(0);
      expect(s.metrics['db.pg.xid_wraparound_used_percent']).toBeLessThan(1);
      expect(ids(r)).toContain('db.roles.monitor_superuser:pg');
    });

    it('a long pg_sleep: reported masked, gone once cancelled', async () => {
      const bg = await pgPeer.connect();
      const pid = (await bg.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const running = bg.query("SELECT pg_sleep(30), 'iban-DE89370400' AS leak").catch(() => undefined);
      await sleep(1300);
      const r = await call('pg', { longQuerySeconds: 1 });
      expect(finding(r, 'db.queries.long_running:pg')?.severity).toBe('medium');
      const q = r.structuredContent!.longQueries.find((x) => x.id === pid);
      expect(q?.query).toBe('SELECT pg_sleep(?), ? AS leak');
      expect(JSON.stringify(r)).not.toContain('DE89370400');
      await pgPeer.query('SELECT pg_cancel_backend($1)', [pid]);
      await running;
      await bg.end();
      expect(ids(await call('pg', { longQuerySeconds: 1 }))).not.toContain('db.queries.long_running:pg');
    });

    it('an idle-in-transaction session, gone after rollback', async () => {
      const bg = await pgPeer.connect();
      await bg.query('BEGIN');
      await bg.query("SELECT 'in-tx-literal' AS x");
      await sleep(1300);
      const r = await call('pg', { idleInTransactionSeconds: 1 });
      const f = finding(r, 'db.sessions.idle_in_transaction:pg');
      expect(f?.severity).toBe('medium');
      expect(f?.evidence).toContain('SELECT ? AS x');
      expect(r.structuredContent!.metrics['db.pg.idle_in_transaction']).toBe(1);
      await bg.query('ROLLBACK');
      await bg.end();
      expect(ids(await call('pg', { idleInTransactionSeconds: 1 }))).not.toContain(
        'db.sessions.idle_in_transaction:pg',
      );
    });

    it('a blocked lock, gone once the holder lets go', async () => {
      await pgPeer.query('CREATE TABLE locked (id int PRIMARY KEY)');
      const holder = await pgPeer.connect();
      const waiter = await pgPeer.connect();
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const waiting = waiter.query('SELECT count(*) FROM locked');
      await sleep(300);
      const r = await call('pg');
      const f = finding(r, 'db.locks.blocked:pg');
      expect(f?.severity).toBe('medium');
      expect(f?.evidence).toContain(`blocked by #${holderPid}`);
      expect(r.structuredContent!.metrics['db.pg.blocked_sessions']).toBe(1);
      await holder.query('ROLLBACK');
      await waiting;
      await Promise.all([holder.end(), waiter.end()]);
      expect(ids(await call('pg'))).not.toContain('db.locks.blocked:pg');
      await pgPeer.query('DROP TABLE locked');
    });

    it('a table without a primary key', async () => {
      await pgPeer.query('CREATE TABLE nopk (a int)');
      expect(finding(await call('pg'), 'db.tables.no_primary_key:pg')?.evidence).toBe('public.nopk');
      await pgPeer.query('DROP TABLE nopk');
      expect(ids(await call('pg'))).not.toContain('db.tables.no_primary_key:pg');
    });

    it('connections near max_connections (12)', async () => {
      const held = await Promise.all(Array.from({ length: 9 }, () => pgPeer.connect()));
      try {
        const r = await call('pg');
        const f = finding(r, 'db.connections.used_percent:pg');
        expect(f?.severity).toBe('high');
        expect(f?.evidence).toMatch(/^10 of 12 connections/);
      } finally {
        await Promise.all(held.map((c) => c.end()));
      }
      await sleep(200);
      expect(ids(await call('pg'))).not.toContain('db.connections.used_percent:pg');
    });

    it('saves a baseline that compare_baselines compares', async () => {
      const a = await call('pg', { saveBaseline: true });
      const b = await call('pg', { saveBaseline: true });
      const from = a.structuredContent!.baselineId!;
      const to = b.structuredContent!.baselineId!;
      expect(from).toBeTruthy();
      const cmp = (await client.callTool({
        name: 'compare_baselines',
        arguments: { from, to, onlyChanged: false },
      })) as {
        isError?: boolean;
        structuredContent?: { metrics: Array<{ name: string }> };
      };
      expect(cmp.isError).toBeFalsy();
      expect(cmp.structuredContent!.metrics.map((m) => m.name)).toContain('db.pg.connections_used_percent');
    });
  });

  it('a wrong password is a clear error that never shows the password', async () => {
    const r = await call('pgbad');
    expect(r.isError).toBe(true);
    expect(r.content[0]?.text).toMatch(
      /authentication failed for user postgres \(password from env DB_PW_BAD\)/,
    );
  });

  it('an unknown target names the configured ones', async () => {
    const r = await call('nope');
    expect(r.isError).toBe(true);
    expect(r.content[0]?.text).toContain('configured targets are pg, my, mysock, pgbad');
  });

  it('a stopped database opens the breaker, answers fast with a clear error, and recovers', async () => {
    const sink = new PassThrough();
    let log = '';
    sink.on('data', (d) => (log += String(d)));
    const config = configFrom({
      ...env,
      AUDIT_LOG_FILE: join(dir, 'audit2.log'),
      LOG_LEVEL: 'debug',
      BREAKER_VOLUME: '2',
      RETRY_COUNT: '0',
      BREAKER_RESET_MS: '1500',
      OUTBOUND_TIMEOUT_MS: '2000',
    });
    const s2 = await startHttp(config, createLogger('debug', sink), { tools: allTools });
    const c2 = await connectClient(s2.url);
    try {
      expect((await call('pg', {}, c2)).isError).toBeFalsy();
      await pgPeer.stopServer();
      const first = await call('pg', {}, c2);
      expect(first.isError).toBe(true);
      expect(first.content[0]?.text).toMatch(/pg \(postgres at 127\.0\.0\.1:\d+\): connection refused/);
      await call('pg', {}, c2);
      const open = await call('pg', {}, c2);
      expect(open.isError).toBe(true);
      // The breaker's own answer, given without a connection attempt (judged by the message, not
      // by a wall clock that only measures the machine's load).
      expect(open.content[0]?.text).toMatch(/database target pg is failing; calls are paused/);
      // Other targets are not affected by pg's breaker.
      expect((await call('my', {}, c2)).isError).toBeFalsy();
      await pgPeer.start();
      await sleep(1600);
      const back = await call('pg', {}, c2);
      expect(back.isError).toBeFalsy();
      expect(back.structuredContent!.status).toMatch(/ok|warning|critical/);
    } finally {
      await c2.close();
      await s2.shutdown('test done');
    }
    // Passwords never appear: not in any result of this file, nor the logs, nor the audit trails.
    await sleep(100);
    const everything = [
      ...seen,
      log,
      readFileSync(join(dir, 'audit.log'), 'utf8'),
      readFileSync(join(dir, 'audit2.log'), 'utf8'),
    ].join('\n');
    expect(log.length).toBeGreaterThan(0);
    for (const pw of [PG_PW, MY_PW, BAD_PW]) expect(everything).not.toContain(pw);
  }, 60_000);
});
