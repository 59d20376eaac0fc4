import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeMysql, analyzePostgres } from '../../src/audit/database/analyze.js';
import { maskSql } from '../../src/audit/database/maskSql.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { loadDbTargetsFile } from '../../src/dbTargetsFile.js';
import type { MysqlFacts, PostgresFacts } from '../../src/net/database/types.js';
import { replicationErrorText } from '../../src/net/database/mysql.js';
import { durationMs } from '../../src/net/database/postgres.js';

describe('maskSql', () => {
  it.each([
    [
      "SELECT * FROM users WHERE email = 'a@b.c' AND id = 42",
      'SELECT * FROM users WHERE email = ? AND id = ?',
    ],
    ["SELECT 'it''s', \"dq\" FROM t", 'SELECT ?, ? FROM t'],
    ["SELECT 'a\\'b' , 1.5e3, -7, .5, 0xDEAD, x'ff'", 'SELECT ? , ?, -?, ?, ?, ?'],
    [
      'SELECT col1, t2.c3 FROM t2 /* user 1234 */ -- card 4111\nLIMIT 10',
      'SELECT col1, t2.c3 FROM t2 LIMIT ?',
    ],
    ['SELECT `weird 42` FROM db1.t_9 # hash comment 99', 'SELECT `weird 42` FROM db1.t_9'],
    ["INSERT INTO t VALUES ('unterminated secret", 'INSERT INTO t VALUES (?'],
    ["SELECT _utf8mb4'x', N'y'", 'SELECT ?, ?'],
  ])('mysql: %s', (input, out) => {
    expect(maskSql(input, 'mysql')).toBe(out);
  });

  it.each([
    ['SELECT "Col 1" FROM "t" WHERE a = $1 AND b = 3', 'SELECT "Col 1" FROM "t" WHERE a = $1 AND b = ?'],
    ["SELECT E'a\\'b', $$dollar 'q' 5$$, $tag$x$tag$", 'SELECT ?, ?, ?'],
    ["SELECT pg_sleep(30), 'x' AS leak", 'SELECT pg_sleep(?), ? AS leak'],
    ["SELECT 'a\\' , 5", 'SELECT ? , ?'],
  ])('postgres: %s', (input, out) => {
    expect(maskSql(input, 'postgres')).toBe(out);
  });

  it('cuts after masking, never inside a literal', () => {
    const q = `SELECT * FROM t WHERE secret = '${'s'.repeat(500)}' AND ${'x = 1 AND '.repeat(40)}y = 2`;
    const m = maskSql(q, 'mysql', 60);
    expect(m.length).toBe(60);
    expect(m.endsWith('…')).toBe(true);
    expect(m).not.toContain('ss');
    expect(m).not.toMatch(/\d/);
  });
});

describe('DB_TARGETS_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dbt-unit-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('loads YAML and JSON, lists or {targets}, with passwords from env and file, never enumerable', () => {
    const pwFile = file('pw', 'from-file-secret\n');
    const y = file(
      'ok.yaml',
      `targets:\n  - { name: a, kind: mysql, host: db, user: u, passwordEnv: A_PW }\n  - { name: b-2, kind: postgres, socket: /run/postgresql, user: u, passwordFile: ${pwFile}, database: app }\n`,
    );
    const t = loadDbTargetsFile(y, { A_PW: 'env-secret' });
    expect(t.map((x) => x.name)).toEqual(['a', 'b-2']);
    expect(t[0]!.password()).toBe('env-secret');
    expect(t[1]!.password()).toBe('from-file-secret');
    expect(t[1]!.passwordSource).toBe('passwordFile');
    // Unreadable later (replaced by a directory): a clear error naming the target, not the path.
    rmSync(pwFile);
    mkdirSync(pwFile);
    expect(() => t[1]!.password()).toThrow(
      /^the passwordFile of target "b-2" cannot be read now \(EISDIR\)$/,
    );
    expect(JSON.stringify(t)).not.toContain('secret"');
    expect(JSON.stringify(t)).not.toMatch(/env-secret|from-file-secret/);
    const j = file(
      'ok.json',
      JSON.stringify([{ name: 'c', kind: 'postgres', host: 'h', port: 5433, user: 'u', tls: true }]),
    );
    const [c] = loadDbTargetsFile(j, {});
    expect(c!.tls).toEqual({ rejectUnauthorized: true });
    expect(c!.password()).toBeUndefined();
  });

  it.each([
    [
      '[{ name: a, kind: oracle, host: h, user: u }]',
      /targets\[0\]\.kind \(target "a"\): must be mysql or postgres/,
    ],
    ['[{ name: a, kind: mysql, user: u }]', /targets\[0\] \(target "a"\): needs host or socket/],
    ['[{ name: a, kind: mysql, host: h, socket: /s, user: u }]', /set host or socket, not both/],
    [
      '[{ name: a, kind: mysql, host: h, user: u, password: x }]',
      /targets\[0\] \(target "a"\): Unrecognized key: "password"/,
    ],
    ['[{ name: "a b", kind: mysql, host: h, user: u }]', /targets\[0\]\.name .*must be 1-64 letters/],
    ['[{ name: a, kind: mysql, host: h, user: u, port: 70000 }]', /targets\[0\]\.port/],
    [
      '[{ name: a, kind: mysql, host: h, user: u, passwordEnv: NOPE_UNSET }]',
      /passwordEnv NOPE_UNSET is not set/,
    ],
    [
      '[{ name: a, kind: mysql, host: h, user: u, passwordFile: /nonexistent/pw }]',
      /passwordFile \/nonexistent\/pw cannot be read \(ENOENT\)/,
    ],
    [
      '[{ name: a, kind: mysql, host: h, user: u }, { name: a, kind: mysql, host: h, user: u }]',
      /"a" appears twice/,
    ],
    ['[{ name: a', /not valid YAML\/JSON/],
    ['just a string', /must be a list|expected array/i],
  ])('refuses %s', (text, message) => {
    const p = file('bad.yaml', text);
    expect(() => loadDbTargetsFile(p, {})).toThrow(ConfigError);
    expect(() => loadDbTargetsFile(p, {})).toThrow(message);
    expect(() => loadDbTargetsFile(p, {})).toThrow(`Invalid DB_TARGETS_FILE (got "${p}")`);
  });

  it('is loaded by loadConfig at start-up: a bad file stops it, a good one lands in config.dbTargets', () => {
    const bad = file('bad2.yaml', '[{ name: a, kind: mysql, host: h, user: u, passwordEnv: MISSING_PW }]');
    expect(() => loadConfig([], { DB_TARGETS_FILE: bad })).toThrow(
      /Invalid DB_TARGETS_FILE .*MISSING_PW is not set/,
    );
    const good = file('good.yaml', '[{ name: a, kind: mysql, host: h, user: u, passwordEnv: SET_PW }]');
    const action = loadConfig([], { DB_TARGETS_FILE: good, SET_PW: 'x-secret-x' });
    expect(action.kind === 'run' && action.config.dbTargets.map((t) => t.name)).toEqual(['a']);
    expect(JSON.stringify(action)).not.toContain('x-secret-x');
    const none = loadConfig([], {});
    expect(none.kind === 'run' && none.config.dbTargets).toEqual([]);
  });
});

const mysqlFacts = (over: Partial<MysqlFacts> = {}): MysqlFacts => ({
  kind: 'mysql',
  version: '10.11.6-MariaDB',
  flavor: 'mariadb',
  uptimeSeconds: 1000,
  readOnlySession: true,
  currentUser: 'audit@%',
  variables: {
    max_connections: '100',
    local_infile: 'OFF',
    skip_name_resolve: 'ON',
    slow_query_log: 'ON',
    long_query_time: '1',
  },
  status: {
    threads_connected: '10',
    threads_running: '2',
    connections: '1000',
    aborted_connects: '1',
    innodb_buffer_pool_read_requests: '100000',
    innodb_buffer_pool_reads: '100',
    created_tmp_tables: '10',
    created_tmp_disk_tables: '1',
  },
  longQueries: [],
  replica: null,
  tablesWithoutPk: { count: 0, sample: [] },
  myisamTables: { count: 0, sample: [] },
  users: [],
  notes: [],
  ...over,
});

describe('analyzeMysql', () => {
  const o = { longQuerySeconds: 60, idleInTransactionSeconds: 60 };
  it('a healthy server: no findings, metrics named db.<target>.<quantity>', () => {
    const v = analyzeMysql('shop', mysqlFacts(), o);
    expect(v.findings).toEqual([]);
    expect(v.metrics).toMatchObject({
      'db.shop.connections_used_percent': 10,
      'db.shop.buffer_pool_hit_percent': 99.9,
      'db.shop.tmp_disk_tables_percent': 10,
    });
  });
  it('thresholds: connections, buffer pool, replication, aborted connects, users', () => {
    const v = analyzeMysql(
      'shop',
      mysqlFacts({
        status: {
          threads_connected: '96',
          connections: '1000',
          aborted_connects: '100',
          innodb_buffer_pool_read_requests: '100000',
          innodb_buffer_pool_reads: '20000',
        },
        replica: { ioRunning: 'Yes', sqlRunning: 'No', secondsBehind: 400, lastError: 'Duplicate entry' },
        users: [
          { user: 'app', host: '%', blankPassword: false, allPrivileges: true },
          { user: 'x', host: 'localhost', blankPassword: true, allPrivileges: false },
        ],
      }),
      o,
    );
    const sev = Object.fromEntries(v.findings.map((f) => [f.id, f.severity]));
    expect(sev).toEqual({
      'db.connections.used_percent:shop': 'critical',
      'db.innodb.buffer_pool_hit_ratio:shop': 'high',
      'db.replication.stopped:shop': 'critical',
      'db.replication.lag:shop': 'high',
      'db.connections.aborted:shop': 'medium',
      'db.users.blank_password:shop': 'critical',
      'db.users.wildcard_all_privileges:shop': 'high',
    });
    expect(v.findings[0]!.severity).toBe('critical');
  });
});

describe('analyzePostgres', () => {
  const base: PostgresFacts = {
    kind: 'postgres',
    version: '16.2',
    versionNum: 160002,
    uptimeSeconds: 100,
    readOnlySession: true,
    currentUser: 'audit',
    currentUserSuper: false,
    inRecovery: false,
    maxConnections: 100,
    reservedConnections: 3,
    connectionsByState: { active: 1, idle: 4 },
    idleInTransaction: [],
    oldestXactSeconds: 0,
    longQueries: [],
    blocked: [],
    cache: { hit: 99_000, read: 1000 },
    slots: [],
    standbys: [],
    replayLagSeconds: null,
    wraparound: { database: 'app', age: 1_200_000_000 },
    deadTuples: [{ table: 'public.big', live: 50_000, dead: 50_000, lastAutovacuum: null }],
    tablesWithoutPk: { count: 0, sample: [] },
    statements: null,
    superusers: ['postgres', 'ops'],
    rolesWithoutExpiry: [],
    logMinDurationMs: -1,
    notes: [],
  };
  it('wraparound, dead tuples, inactive slots, extra superusers', () => {
    const v = analyzePostgres(
      'pg',
      { ...base, slots: [{ name: 's1', type: 'physical', active: false, retainedBytes: 5 * 1024 ** 3 }] },
      {
        longQuerySeconds: 60,
        idleInTransactionSeconds: 60,
      },
    );
    const sev = Object.fromEntries(v.findings.map((f) => [f.id, f.severity]));
    expect(sev).toEqual({
      'db.xid.wraparound:pg': 'high',
      'db.tables.dead_tuples:pg': 'medium',
      'db.replication.slot_inactive:pg': 'high',
      'db.roles.superuser:pg': 'medium',
    });
    expect(v.metrics['db.pg.connections_used_percent']).toBe(5);
    expect(v.metrics['db.pg.cache_hit_percent']).toBe(99);
  });
});

describe('durationMs (current_setting units)', () => {
  it.each([
    ['-1', -1],
    ['0', 0],
    ['250ms', 250],
    ['1s', 1000],
    ['2min', 120_000],
  ])('%s', (v, ms) => expect(durationMs(v)).toBe(ms));
});

describe('replication errors', () => {
  it('keep the message, never the failed statement or its data', () => {
    const raw =
      "Could not execute Write_rows_v1 event on table shop.users; Duplicate entry 'alice@example.org' for key 'email', Error_code: 1062; Query: 'INSERT INTO users VALUES (7, 'alice@example.org', 'tok_live_abc123')'";
    const masked = replicationErrorText(raw);
    expect(masked).not.toMatch(/alice|tok_live/);
    expect(masked).toContain('Duplicate entry ? for key ?');
  });
});
