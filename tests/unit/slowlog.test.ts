import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SlowQueryAggregator } from '../../src/audit/slowlog/aggregator.js';
import { createSlowLogParser, detectSlowLogFormat } from '../../src/audit/slowlog/detect.js';
import {
  filteredColumns,
  fingerprint,
  fingerprintId,
  maskLiterals,
} from '../../src/audit/slowlog/fingerprint.js';
import { MysqlSlowLogParser, parseMysqlTime } from '../../src/audit/slowlog/mysqlParser.js';
import { PostgresLogParser, parsePostgresTime } from '../../src/audit/slowlog/postgresParser.js';
import type { SlowLogFormat, SlowQueryEntry } from '../../src/audit/slowlog/types.js';
import { createLogger } from '../../src/observability/logger.js';
import { analyzeSlowQueriesTool } from '../../src/tools/analyzeSlowQueries.js';
import type { ToolContext } from '../../src/tools/types.js';
import { configFrom } from '../helpers/servers.js';
import { cpuMs, cpuStopwatch } from '../helpers/cpuTime.js';

function parse(format: SlowLogFormat, text: string) {
  const entries: SlowQueryEntry[] = [];
  const p =
    format === 'mysql'
      ? new MysqlSlowLogParser((e) => entries.push(e))
      : new PostgresLogParser((e) => entries.push(e));
  for (const l of text.split('\n')) p.line(l);
  p.end();
  return { entries, skipped: p.skipped };
}

// 2026-11-20T10:00:01Z
const T0 = 1795168801;

describe('fingerprint', () => {
  const cases: Array<[string, string, SlowLogFormat?]> = [
    ['SELECT * FROM t WHERE id = 5', 'select * from t where id = ?'],
    ['select  *\n  from t\twhere id=42;', 'select * from t where id=?'],
    [
      'SELECT name FROM users WHERE email = \'a@b.c\' AND pw = "x"',
      'select name from users where email = ? and pw = ?',
    ],
    ["SELECT 'it''s', 'a\\'b', 'c\\\\' FROM dual", 'select ?, ?, ? from dual'],
    ['SELECT * FROM t WHERE id IN (1, 2, 3)', 'select * from t where id in(?+)'],
    ['SELECT * FROM t WHERE id IN (7)', 'select * from t where id in(?+)'],
    [
      "SELECT * FROM t WHERE a NOT IN ('x','y') AND b IN (1)",
      'select * from t where a not in(?+) and b in(?+)',
    ],
    ['SELECT * FROM t WHERE id IN (SELECT id FROM u)', 'select * from t where id in (select id from u)'],
    ['INSERT INTO t (a, b) VALUES (1, 2), (3, 4), (5, 6)', 'insert into t (a, b) values(?+)'],
    ["INSERT INTO t VALUES (1, now()), (2, 'a;b'), (3, now())", 'insert into t values (?, now())'],
    [
      'INSERT INTO t (a) VALUES (1),(2) ON DUPLICATE KEY UPDATE a = VALUES(a) + 1',
      'insert into t (a) values(?+) on duplicate key update a = values(a) + ?',
    ],
    [
      'SELECT /* controller:home */ a FROM t -- trailing\nWHERE b = 1 # mysql comment',
      'select a from t where b = ?',
    ],
    [
      'SELECT a FROM t WHERE b = -5 AND c = a - 1 AND d = +2.5e-3',
      'select a from t where b = ? and c = a - ? and d = ?',
    ],
    [
      "SELECT 0xFF, X'0a', b'101', 0b11, N'x', _utf8mb4'y' COLLATE utf8mb4_bin",
      'select ?, ?, ?, ?, ?, ? collate utf8mb4_bin',
    ],
    [
      'SELECT * FROM t WHERE a IS NULL AND b = TRUE AND c = false',
      'select * from t where a is ? and b = ? and c = ?',
    ],
    ['SELECT * FROM t1 JOIN t2 ON t1.id = t2.t1_id', 'select * from t1 join t2 on t1.id = t2.t1_id'],
    ['SELECT * FROM `Order` WHERE `Id` = 3', 'select * from `order` where `id` = ?'],
    ['SELECT a FROM t ORDER BY a ASC, b DESC LIMIT 10, 20', 'select a from t order by a, b desc limit ?'],
    ['SELECT a FROM t LIMIT 5 OFFSET 10', 'select a from t limit ?'],
    [
      'select a from t union select a from t union all select a from t',
      'select a from t /*repeat union all*/',
    ],
    ['CALL refresh_stats(1, "x")', 'call refresh_stats'],
    ['use shop', 'use ?'],
    ['SELECT /*!40001 SQL_NO_CACHE */ * FROM `film`', 'mysqldump'],
    ['administrator command: Quit;', 'administrator command: Quit'],
    ['SELECT * FROM 2fa_codes WHERE code = 123456', 'select * from 2fa_codes where code = ?'],
    // PostgreSQL
    [
      'SELECT * FROM "Users" WHERE id = $1 AND org = $12',
      'select * from "Users" where id = ? and org = ?',
      'postgres',
    ],
    ["SELECT $$it's$$, $tag$x$tag$, E'a\\'b', U&'d\\0061t' FROM t", 'select ?, ?, ?, ? from t', 'postgres'],
    [
      'SELECT * FROM t WHERE id = ANY(ARRAY[1, 2, 3])',
      'select * from t where id = any(array[?+])',
      'postgres',
    ],
    ["SELECT '5'::int, now() - interval '1 day'", 'select ?::int, now() - interval ?', 'postgres'],
    ['SELECT a--comment\nFROM t', 'select a from t', 'postgres'],
  ];
  it.each(cases)('%s', (sql, want, dialect) => {
    expect(fingerprint(sql, dialect ?? 'mysql')).toBe(want);
  });

  it('groups the same statement with different literals, list lengths, case and layout', () => {
    const a = fingerprint("SELECT * FROM orders WHERE id IN (1,2,3) AND status = 'new'");
    const b = fingerprint("select *\n from orders\n where id in (4, 5) and status = 'paid' /* retry */");
    expect(a).toBe(b);
  });

  it('ids are pt-query-digest checksums: last 16 hex digits of the MD5, upper case', () => {
    const fp = 'select * from t where id = ?';
    const want = createHash('md5').update(fp).digest('hex').slice(-16).toUpperCase();
    expect(fingerprintId(fp)).toBe(want);
    expect(fingerprintId(fp)).toMatch(/^[0-9A-F]{16}$/);
  });

  it('masks literals in examples but keeps case and list lengths', () => {
    expect(maskLiterals("SELECT * FROM users WHERE email = 'secret@example.org' AND id IN (1, 2)")).toBe(
      'SELECT * FROM users WHERE email = ? AND id IN (?, ?)',
    );
    expect(maskLiterals(`SELECT '${'x'.repeat(5000)}', ${'1, '.repeat(2000)}1`, 'mysql', 100)).toHaveLength(
      101,
    );
  });

  it('is linear on hostile input (unterminated quotes and comments, long lists)', () => {
    const ms = cpuMs(() => {
      fingerprint(`SELECT '${'\\'.repeat(100_000)}`);
      fingerprint(`SELECT /* ${'*'.repeat(100_000)}`);
      fingerprint(`SELECT * FROM t WHERE id IN (${'1,'.repeat(50_000)}1)`);
      fingerprint(`select a from t ${'union select a from t '.repeat(2000)}`);
    });
    expect(ms).toBeLessThan(1000); // CPU time: load-independent
  });

  it('finds the filtered columns for index hints', () => {
    expect(filteredColumns('select * from orders where customer_email = ? and status in(?+)')).toEqual([
      'customer_email',
      'status',
    ]);
    expect(filteredColumns('select * from a join b on a.id = b.a_id where b.x > ?')).toEqual(['a.id', 'b.x']);
    expect(filteredColumns('select * from t')).toEqual([]);
  });

  it('finds filtered columns in linear time (a long word, a long run of spaces)', () => {
    // Regression guard against quadratic backtracking (was ~6 s and ~22 s at 80 000 characters).
    const ms = cpuMs(() => {
      expect(filteredColumns(`select * from t where ${'a'.repeat(200_000)}`)).toEqual([]);
      expect(filteredColumns(`select * from t where a${' '.repeat(200_000)}`)).toEqual([]);
      expect(filteredColumns(`select * from t where ${'a1'.repeat(100_000)} = ?`)).toEqual([
        'a1'.repeat(100_000),
      ]);
    });
    expect(ms).toBeLessThan(1000); // CPU time: load-independent
    expect(filteredColumns('select * from t where `a`.`b` = ? and x  in(?+) and y is null')).toEqual([
      '`a`.`b`',
      'x',
      'y',
    ]);
  });
});

const MARIADB_LOG = `/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-0+deb12u1-log (Debian 12). started with:
Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock
Time		    Id Command	Argument
# Time: 261120 10:00:01
# User@Host: app[app] @ web1 [192.0.2.7]
# Thread_id: 31  Schema: shop  QC_hit: No
# Query_time: 2.500000  Lock_time: 0.000100  Rows_sent: 1  Rows_examined: 500000
# Rows_affected: 0  Bytes_sent: 120
# Full_scan: Yes  Full_join: No  Tmp_table: No  Tmp_table_on_disk: No
use shop;
SET timestamp=${T0};
SELECT *
  FROM orders
 WHERE customer_email = 'a@example.org';
# User@Host: app[app] @ web1 [192.0.2.7]
# Thread_id: 31  Schema: shop  QC_hit: No
# Query_time: 1.000000  Lock_time: 0.000100  Rows_sent: 0  Rows_examined: 400000
# Rows_affected: 0  Bytes_sent: 100
SET timestamp=${T0};
SELECT * FROM orders WHERE customer_email = 'b@example.org' /* second */;
# Time: 261120 10:00:07
# User@Host: root[root] @ localhost []
# Thread_id: 32  Schema:   QC_hit: No
# Query_time: 0.000050  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0
# Rows_affected: 0  Bytes_sent: 11
SET timestamp=${T0 + 6};
# administrator command: Quit;
/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-0+deb12u1-log (Debian 12). started with:
Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock
Time		    Id Command	Argument
# Time: 261120 10:05:00
# User@Host: batch[batch] @  [198.51.100.4]
# Thread_id: 40  Schema: shop  QC_hit: No
# Query_time: 0.300000  Lock_time: 0.250000  Rows_sent: 0  Rows_examined: 3
# Rows_affected: 3  Bytes_sent: 52
SET timestamp=${T0 + 299};
UPDATE stock SET qty = qty - 1 WHERE sku IN ('A-1', 'B-2', 'C-3');
`;

const MYSQL8_LOG = `/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:
Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock
Time                 Id Command    Argument
# Time: 2026-11-20T10:00:05.123456Z
# User@Host: report[report] @ localhost []  Id:    12
# Query_time: 0.000200  Lock_time: 0.000002 Rows_sent: 3  Rows_examined: 3
use reporting;
SET timestamp=${T0 + 4};
SELECT id FROM products WHERE id IN (1,2,3) /* page 1 */;
# Time: 2026-11-20T10:00:06.000001Z
# User@Host: report[report] @ localhost []  Id:    12
# Query_time: 0.000300  Lock_time: 0.000002 Rows_sent: 5  Rows_examined: 5
SET timestamp=${T0 + 5};
SELECT id FROM products WHERE id IN (4, 5, 6, 7, 8);
`;

describe('MySQL/MariaDB slow log parser', () => {
  it('reads MariaDB entries: extra headers, multi-line statements, use/SET lines, banners, admin commands', () => {
    const { entries, skipped } = parse('mysql', MARIADB_LOG);
    expect(entries).toHaveLength(4);
    const [first, second, quit, update] = entries as [
      SlowQueryEntry,
      SlowQueryEntry,
      SlowQueryEntry,
      SlowQueryEntry,
    ];
    expect(first).toMatchObject({
      time: T0 * 1000,
      queryTime: 2.5,
      lockTime: 0.0001,
      rowsSent: 1,
      rowsExamined: 500000,
      rowsAffected: 0,
      user: 'app',
      host: 'web1',
      db: 'shop',
      fullScan: true,
      statement: "SELECT *\n  FROM orders\n WHERE customer_email = 'a@example.org'",
    });
    expect(second?.fullScan).toBe(false);
    expect(fingerprint(first.statement)).toBe(fingerprint(second.statement));
    expect(quit).toMatchObject({
      statement: '# administrator command: Quit',
      user: 'root',
      host: 'localhost',
    });
    // The host name is empty: the IP stands in.
    expect(update).toMatchObject({ user: 'batch', host: '198.51.100.4', rowsAffected: 3, lockTime: 0.25 });
    expect(fingerprint(update.statement)).toBe('update stock set qty = qty - ? where sku in(?+)');
    expect(skipped.banner).toBe(6);
  });

  it('reads MySQL 8 entries (ISO # Time, Id on User@Host) and carries the database over', () => {
    const { entries } = parse('mysql', MYSQL8_LOG);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ db: 'reporting', user: 'report', host: 'localhost', rowsSent: 3 });
    expect(entries[1]?.db).toBe('reporting');
    expect(fingerprint(entries[0]?.statement ?? '')).toBe(fingerprint(entries[1]?.statement ?? ''));
  });

  it('uses # Time when there is no SET timestamp, and skips entries without a statement', () => {
    const { entries, skipped } = parse(
      'mysql',
      `# Time: 261120  9:05:01
# User@Host: a[a] @ localhost []
# Query_time: 1.0  Lock_time: 0.0  Rows_sent: 0  Rows_examined: 0
SELECT 1;
# User@Host: a[a] @ localhost []
# Query_time: 1.0  Lock_time: 0.0  Rows_sent: 0  Rows_examined: 0
# Time: 261120  9:05:02
# User@Host: a[a] @ localhost []
garbage without a Query_time
`,
    );
    expect(entries).toHaveLength(1);
    expect(entries[0]?.time).toBe(Date.UTC(2026, 10, 20, 9, 5, 1));
    expect(skipped).toMatchObject({ no_header: 1, no_statement: 1 });
  });

  it('marks statements over the cap as truncated', () => {
    const entries: SlowQueryEntry[] = [];
    const p = new MysqlSlowLogParser((e) => entries.push(e));
    for (const l of ['# Query_time: 1  Lock_time: 0  Rows_sent: 0  Rows_examined: 0', 'INSERT INTO t VALUES'])
      p.line(l);
    p.tooLong();
    p.line('# Query_time: 1  Lock_time: 0  Rows_sent: 0  Rows_examined: 0');
    p.line('SELECT 1;');
    p.end();
    expect(entries.map((e) => e.truncated)).toEqual([true, false]);
    expect(p.skipped.too_long).toBe(1);
  });

  it('keeps a statement line starting with "# " in the statement; only known header keys start an entry', () => {
    const { entries, skipped } = parse(
      'mysql',
      `# User@Host: app[app] @ web1 [192.0.2.7]
# Query_time: 1.0  Lock_time: 0.0  Rows_sent: 0  Rows_examined: 0
SET timestamp=${T0};
# a comment before the statement
INSERT INTO notes (body) VALUES ('line one
# Query: not a header
# Time is not a header either');
# Time: 261120 10:00:02
# User@Host: app[app] @ web1 [192.0.2.7]
# Query_time: 2.0  Lock_time: 0.0  Rows_sent: 1  Rows_examined: 1
SELECT 1;`,
    );
    expect(entries.map((e) => e.statement)).toEqual([
      "# a comment before the statement\nINSERT INTO notes (body) VALUES ('line one\n# Query: not a header\n# Time is not a header either')",
      'SELECT 1',
    ]);
    expect(entries.map((e) => e.queryTime)).toEqual([1, 2]);
    expect(fingerprint(entries[0]?.statement ?? '')).toBe('insert into notes (body) values(?+)');
    expect(skipped).toEqual({});
  });

  it("reads MariaDB's log_slow_verbosity=explain lines as headers", () => {
    const { entries, skipped } = parse(
      'mysql',
      `# User@Host: app[app] @ web1 [192.0.2.7]
# Query_time: 1.0  Lock_time: 0.0  Rows_sent: 0  Rows_examined: 0
# Full_scan: Yes  Full_join: No  Tmp_table: No  Tmp_table_on_disk: No
#
# explain: id	select_type	table	type	possible_keys	key	key_len	ref	rows	r_rows	filtered	r_filtered	Extra
# explain: 1	SIMPLE	City	ALL	NULL	NULL	NULL	NULL	4079	4079.00	100.00	100.00
#
SET timestamp=${T0};
SELECT * FROM City;`,
    );
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ statement: 'SELECT * FROM City', fullScan: true, time: T0 * 1000 });
    expect(skipped).toEqual({});
  });

  it('does not parse hostile 1 MiB "# " lines as headers, and stays linear on long ones', () => {
    // Regression guard against quadratic regular expressions (an 80 KB line took ~4.7 s).
    const entries: SlowQueryEntry[] = [];
    const p = new MysqlSlowLogParser((e) => entries.push(e));
    const MiB = 1024 * 1024;
    let t = cpuStopwatch(); // CPU time: load-independent
    p.line(`# ${'a'.repeat(MiB)}`);
    p.line(`# User@Host: a[b] @ ${'['.repeat(1_000_000)}`);
    p.line('# User@Host: app[app] @ web1 [192.0.2.7]');
    p.line('# Query_time: 1  Lock_time: 0  Rows_sent: 0  Rows_examined: 0');
    p.line(`# User@Host: a[b] @ ${'['.repeat(1_000_000)}`);
    p.line(`SET timestamp=${T0};`);
    p.line("SELECT 'x");
    // Inside the statement (a logged multi-line string): statement text, kept up to the cap.
    p.line(`# ${'a'.repeat(MiB)}`);
    p.line("';");
    p.end();
    expect(t()).toBeLessThan(1000);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ user: 'app', host: 'web1', queryTime: 1, truncated: true });
    expect(entries[0]?.statement.startsWith("SELECT 'x\n# aaaa")).toBe(true);
    expect(p.skipped).toEqual({ long_header: 3 });

    // Header-like lines just under the cap, many of them: each must cost linear time
    // (1000 of them took ~12 s before).
    const q = new MysqlSlowLogParser((e) => entries.push(e));
    t = cpuStopwatch();
    for (let i = 0; i < 500; i++) {
      q.line(`# ${'a'.repeat(4000)}`);
      q.line(`# User@Host: a[b] @ ${'['.repeat(4000)}`);
      q.line(`# Query_time: 1  Schema: ${'s'.repeat(4000)}`);
    }
    q.end();
    expect(t()).toBeLessThan(1000);
  });

  it('parses both # Time forms', () => {
    expect(parseMysqlTime('261120 10:00:01')).toBe(Date.UTC(2026, 10, 20, 10, 0, 1));
    expect(parseMysqlTime('2026-11-20T10:00:01.500000Z')).toBe(Date.UTC(2026, 10, 20, 10, 0, 1, 500));
    expect(parseMysqlTime('2026-11-20T11:00:01.000000+01:00')).toBe(Date.UTC(2026, 10, 20, 10, 0, 1));
    expect(parseMysqlTime('yesterday')).toBeNull();
  });
});

const PG_DEFAULT = `2026-11-20 10:00:01.250 UTC [4242] LOG:  database system is ready to accept connections
2026-11-20 10:00:02.000 UTC [4250] LOG:  duration: 1523.402 ms  statement: SELECT o.id, c.name
	FROM orders o
	JOIN customers c ON c.id = o.customer_id
	WHERE o.created_at > '2026-01-01' /* dashboard */;
2026-11-20 10:00:03.000 UTC [4250] LOG:  duration: 0.050 ms  parse <unnamed>: SELECT * FROM items WHERE id = $1
2026-11-20 10:00:03.000 UTC [4250] LOG:  duration: 0.020 ms  bind <unnamed>: SELECT * FROM items WHERE id = $1
2026-11-20 10:00:03.000 UTC [4250] DETAIL:  parameters: $1 = '5'
2026-11-20 10:00:03.001 UTC [4250] LOG:  duration: 0.731 ms  execute <unnamed>: SELECT * FROM items WHERE id = $1
2026-11-20 10:00:03.001 UTC [4250] DETAIL:  parameters: $1 = '5'
2026-11-20 10:00:04.000 UTC [4250] LOG:  duration: 0.500 ms  execute S_1: SELECT * FROM items WHERE id = $1
2026-11-20 10:00:05.000 UTC [4250] LOG:  duration: 12.000 ms
2026-11-20 10:00:06.000 UTC [4250] ERROR:  relation "nope" does not exist at character 15
2026-11-20 10:00:06.000 UTC [4250] STATEMENT:  SELECT * FROM nope
`;

const PG_PGBADGER = `2026-11-20 11:00:01 CET [5001]: [3-1] user=app,db=shop,app=psql,client=192.0.2.9 LOG:  duration: 250.000 ms  statement: UPDATE carts SET total = 10 WHERE id IN (1, 2, 3)
2026-11-20 11:00:02 CET [5001]: [4-1] user=app,db=shop,app=psql,client=192.0.2.9 LOG:  duration: 150.000 ms  statement: update carts set total = 99.5
	where id in (7)
2026-11-20 11:00:03 CET [5002]: [1-1] user=[unknown],db=[unknown],app=[unknown],client=[local] LOG:  connection received: host=[local]
`;

const PG_DEBIAN = `2026-11-20 10:00:01.000 +0200 [777] report@analytics LOG:  duration: 3000.000 ms  statement: select count(*) from events where kind = 'click'
2026-11-20 10:00:02.000 +0200 [778] [unknown]@[unknown] LOG:  connection received: host=[local]
`;

describe('PostgreSQL log parser', () => {
  it('reads the default %m [%p] prefix: multi-line statements, execute forms, skips parse/bind and other messages', () => {
    const { entries, skipped } = parse('postgres', PG_DEFAULT);
    expect(entries).toHaveLength(3);
    expect(entries[0]).toMatchObject({
      time: Date.UTC(2026, 10, 20, 10, 0, 2),
      queryTime: 1.523402,
      statement:
        "SELECT o.id, c.name\nFROM orders o\nJOIN customers c ON c.id = o.customer_id\nWHERE o.created_at > '2026-01-01' /* dashboard */",
      rowsExamined: null,
      user: null,
    });
    expect(fingerprint(entries[0]?.statement ?? '', 'postgres')).toBe(
      'select o.id, c.name from orders o join customers c on c.id = o.customer_id where o.created_at > ?',
    );
    expect(entries[1]?.statement).toBe('SELECT * FROM items WHERE id = $1');
    expect(entries[2]?.queryTime).toBe(0.0005);
    expect(skipped).toMatchObject({ parse_bind: 2, duration_only: 1 });
    expect(skipped.other_message).toBe(5);
  });

  it('reads %t [%p]: [%l-1] user=%u,db=%d prefixes with zone names', () => {
    const { entries } = parse('postgres', PG_PGBADGER);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      user: 'app',
      db: 'shop',
      host: '192.0.2.9',
      time: Date.UTC(2026, 10, 20, 10, 0, 1),
    });
    expect(fingerprint(entries[0]?.statement ?? '', 'postgres')).toBe(
      fingerprint(entries[1]?.statement ?? '', 'postgres'),
    );
  });

  it("reads Debian's %m [%p] %q%u@%d prefix with a numeric zone", () => {
    const { entries } = parse('postgres', PG_DEBIAN);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      user: 'report',
      db: 'analytics',
      time: Date.UTC(2026, 10, 20, 8, 0, 1),
    });
  });

  it('parses prefix times', () => {
    expect(parsePostgresTime('2026-11-20 10:00:01.5 UTC [1]')).toBe(Date.UTC(2026, 10, 20, 10, 0, 1, 500));
    expect(parsePostgresTime('2026-11-20 10:00:01 EST [1]')).toBe(Date.UTC(2026, 10, 20, 15, 0, 1));
    expect(parsePostgresTime('2026-11-20 10:00:01-05 [1]')).toBe(Date.UTC(2026, 10, 20, 15, 0, 1));
    expect(parsePostgresTime('Nov 20 10:00:01 host postgres[1]')).toBeNull();
  });
});

describe('format detection', () => {
  it('recognises each engine and says when it cannot', () => {
    expect(detectSlowLogFormat(MARIADB_LOG.split('\n'), false)).toBe('mysql');
    expect(detectSlowLogFormat(MYSQL8_LOG.split('\n').slice(3), false)).toBe('mysql');
    expect(detectSlowLogFormat(PG_DEFAULT.split('\n'), false)).toBe('postgres');
    const startup = [
      '2026-11-20 10:00:01.250 UTC [4242] LOG:  database system is ready to accept connections',
    ];
    expect(detectSlowLogFormat(startup, false)).toBeNull();
    expect(detectSlowLogFormat(startup, true)).toBe('postgres');
    expect(
      detectSlowLogFormat(['127.0.0.1 - - [20/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1'], true),
    ).toBeNull();
    expect(createSlowLogParser('postgres', () => undefined)).toBeInstanceOf(PostgresLogParser);
  });

  it('is linear on a long line of [pid]-like brackets', () => {
    // Regression guard: the prefix test was quadratic (~1.6 s at 80 KB).
    const ms = cpuMs(() => {
      expect(detectSlowLogFormat([`2026-11-20 10:00:01 ${'[1]'.repeat(350_000)}`], true)).toBeNull();
      expect(detectSlowLogFormat([`2026-11-20 10:00:01 ${'[1]'.repeat(350_000)} LOG:  x`], true)).toBe(
        'postgres',
      );
    });
    expect(ms).toBeLessThan(1000); // CPU time: load-independent
    expect(detectSlowLogFormat(['2026-11-20 10:00:01 LOG:  x [1]'], true)).toBeNull();
  });
});

function entry(over: Partial<SlowQueryEntry>): SlowQueryEntry {
  return {
    time: T0 * 1000,
    queryTime: 0.01,
    lockTime: 0,
    rowsSent: 1,
    rowsExamined: 1,
    rowsAffected: 0,
    user: 'app',
    host: 'web1',
    db: 'shop',
    statement: 'SELECT 1',
    fullScan: false,
    truncated: false,
    ...over,
  };
}

describe('aggregation', () => {
  it('counts per fingerprint with total/avg/p95/max, rows ratio, first/last seen, users and an example', () => {
    const agg = new SlowQueryAggregator();
    for (let i = 1; i <= 100; i++)
      agg.add(
        entry({
          statement: `SELECT * FROM orders WHERE customer_email = 'user${i}@example.org'`,
          queryTime: i / 100,
          rowsExamined: 200_000,
          rowsSent: 1,
          time: (T0 + i * 60) * 1000,
          user: i % 2 ? 'app' : 'report',
        }),
        'mysql',
      );
    agg.add(entry({ statement: 'SELECT * FROM products WHERE id = 3', queryTime: 0.001 }), 'mysql');
    const r = agg.finish(10);
    expect(r.entries).toBe(101);
    expect(r.distinctFingerprints).toBe(2);
    const q = r.queries[0];
    expect(q).toMatchObject({
      fingerprint: 'select * from orders where customer_email = ?',
      count: 100,
      maxTime: 1,
      minTime: 0.01,
      avgTime: 0.505,
      p95Time: 0.95,
      totalTime: 50.5,
      rowsExaminedAvg: 200000,
      rowsSentAvg: 1,
      examinedPerReturned: 200000,
      firstSeen: new Date((T0 + 60) * 1000).toISOString(),
      lastSeen: new Date((T0 + 6000) * 1000).toISOString(),
      example: 'SELECT * FROM orders WHERE customer_email = ?',
      exampleTime: 1,
      indexCandidates: ['customer_email'],
    });
    expect(q?.users).toEqual([
      { name: 'app', count: 50 },
      { name: 'report', count: 50 },
    ]);
    expect(q?.flags).toEqual(expect.arrayContaining(['full_scan', 'missing_index', 'dominant']));
    expect(q?.flags).not.toContain('burst');
    const f = r.findings.find((x) => x.id === `slowlog.missing_index:${q?.id}`);
    expect(f?.severity).toBe('high');
    expect(f?.recommendation).toContain('customer_email');
    expect(r.findings.some((x) => x.id.startsWith('slowlog.full_scan:'))).toBe(false);
    expect(r.queries[1]?.flags).toEqual([]);
  });

  it('flags a full scan without a filter as full_scan only, and lock-bound statements', () => {
    const agg = new SlowQueryAggregator();
    for (let i = 0; i < 5; i++) {
      agg.add(entry({ statement: 'SELECT * FROM events', rowsExamined: 2_000_000, rowsSent: 1 }), 'mysql');
      agg.add(
        entry({ statement: `UPDATE t SET a = ${i} WHERE id = 1`, queryTime: 1, lockTime: 0.9 }),
        'mysql',
      );
    }
    const r = agg.finish(10);
    const scan = r.queries.find((q) => q.fingerprint === 'select * from events');
    expect(scan?.flags).toContain('full_scan');
    expect(scan?.flags).not.toContain('missing_index');
    const upd = r.queries.find((q) => q.fingerprint.startsWith('update'));
    expect(upd?.flags).toContain('lock_wait');
    expect(upd?.lockTime).toBe(4.5);
    expect(r.flagged.full_scan).toBe(1);
  });

  it('flags a burst: many executions in one minute against a low rate otherwise', () => {
    const agg = new SlowQueryAggregator();
    for (let i = 0; i < 30; i++)
      agg.add(entry({ statement: `SELECT * FROM t WHERE id = ${i}`, time: T0 * 1000 + i * 1000 }), 'mysql');
    for (let i = 1; i <= 5; i++)
      agg.add(entry({ statement: 'SELECT * FROM t WHERE id = 1', time: (T0 + i * 600) * 1000 }), 'mysql');
    // Steady load is not a burst.
    for (let i = 0; i < 100; i++)
      agg.add(entry({ statement: `SELECT * FROM u WHERE id = ${i}`, time: (T0 + i * 30) * 1000 }), 'mysql');
    const r = agg.finish(10);
    const t = r.queries.find((q) => q.fingerprint === 'select * from t where id = ?');
    expect(t).toMatchObject({
      count: 35,
      peakPerMinute: 30,
      peakMinute: new Date(Math.floor(T0 / 60) * 60_000).toISOString(),
    });
    expect(t?.flags).toContain('burst');
    expect(r.queries.find((q) => q.fingerprint.includes(' u '))?.flags).not.toContain('burst');
    expect(r.findings.some((f) => f.id.startsWith('slowlog.burst:'))).toBe(true);
  });

  it('keeps memory bounded: fingerprints past the cap go to "other"', () => {
    const agg = new SlowQueryAggregator({ maxClasses: 50 });
    for (let i = 0; i < 80; i++) agg.add(entry({ statement: `SELECT * FROM t${i}` }), 'mysql');
    const r = agg.finish(10);
    expect(agg.capReached).toBe(true);
    expect(r.distinctFingerprints).toBe(50);
    expect(r.other).toEqual({ count: 30, totalTime: 0.3 });
    expect(r.entries).toBe(80);
    expect(r.truncated).toBe(true);
    expect(r.queries).toHaveLength(10);
    expect(r.findings.some((f) => f.id === 'slowlog.fingerprint_cap')).toBe(true);
  });

  it('p95 stays close on a sampled class (reservoir of 256)', () => {
    const agg = new SlowQueryAggregator();
    for (let i = 1; i <= 20_000; i++)
      agg.add(entry({ statement: 'SELECT 1', queryTime: (i % 1000) / 1000 }), 'mysql');
    const q = agg.finish(1).queries[0];
    expect(q?.count).toBe(20_000);
    expect(q?.p95Time).toBeGreaterThan(0.9);
    expect(q?.p95Time).toBeLessThan(0.99);
  });

  it('applies since/until and counts what fell outside', () => {
    const agg = new SlowQueryAggregator({ since: (T0 + 10) * 1000, until: (T0 + 20) * 1000 });
    for (const dt of [0, 10, 15, 20]) agg.add(entry({ time: (T0 + dt) * 1000 }), 'mysql');
    agg.add(entry({ time: null }), 'mysql');
    const r = agg.finish(5);
    expect(r.entries).toBe(2);
    expect(agg.skipped).toEqual({ before_since: 1, after_until: 1, undated: 1 });
    expect(r.timeline).toEqual([{ hour: '2026-11-20T10:00:00.000Z', count: 2, totalTime: 0.02 }]);
  });

  it('orders by count when asked', () => {
    const agg = new SlowQueryAggregator();
    agg.add(entry({ statement: 'SELECT a FROM slow', queryTime: 10 }), 'mysql');
    for (let i = 0; i < 3; i++) agg.add(entry({ statement: 'SELECT a FROM fast', queryTime: 0.1 }), 'mysql');
    expect(agg.finish(5, 'totalTime').queries[0]?.fingerprint).toBe('select a from slow');
    expect(agg.finish(5, 'count').queries[0]?.fingerprint).toBe('select a from fast');
  });
});

describe('the tool handler', () => {
  it('honours cancellation: an aborted call answers with a tool error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slowlog-unit-'));
    try {
      const file = join(dir, 'slow.log');
      writeFileSync(file, `${MARIADB_LOG}\n`.repeat(2000));
      const config = configFrom({ AUDIT_ALLOWED_PATHS: dir });
      const controller = new AbortController();
      controller.abort();
      const ctx = {
        config,
        host: { proc: '/proc', sys: '/sys', root: '/' },
        logger: createLogger('silent'),
        signal: controller.signal,
        progress: async () => undefined,
        notify: () => undefined,
      } as unknown as ToolContext;
      const args: Parameters<typeof analyzeSlowQueriesTool.handler>[0] = {
        paths: [file],
        format: 'auto',
        top: 20,
        orderBy: 'totalTime',
        maxLines: 1e9,
        maxBytes: 1e12,
      };
      await expect(analyzeSlowQueriesTool.handler(args, ctx)).rejects.toThrow('Cancelled by the client');
      const done = await analyzeSlowQueriesTool.handler(args, {
        ...ctx,
        signal: new AbortController().signal,
      });
      expect(done.structured.summary.entries).toBe(4 * 2000);
      expect(done.structured.partial).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('untrusted numbers in a log', () => {
  it('skips an entry whose duration is not a finite number, and dates one past the Date range as undated', () => {
    const agg = new SlowQueryAggregator();
    agg.add(entry({ queryTime: Number.POSITIVE_INFINITY, statement: 'SELECT 1' }), 'postgres');
    agg.add(entry({ queryTime: 0.5, time: 1e20, statement: 'SELECT 2' }), 'mysql');
    expect(agg.skipped).toEqual({ bad_duration: 1 });
    const report = agg.finish(10);
    expect(report.queries).toHaveLength(1);
    expect(report.queries[0]?.firstSeen ?? null).toBeNull();
    expect(JSON.stringify(report)).not.toMatch(/Infinity|NaN/);
  });
});
