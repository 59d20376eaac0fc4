/**
 * MySQL/MariaDB facts for check_database (mysql2): one short-lived connection per call, its session
 * set read-only with a statement time limit; every query is a read of status, variables,
 * information_schema or mysql.user (never a password hash: blank-password checks are computed in
 * SQL). A check that fails for lack of a privilege becomes a note, not a failure.
 */
import mysql from 'mysql2/promise';
import { maskSql } from '../../audit/database/maskSql.js';
import type { DbTarget } from '../../dbTargetsFile.js';
import { DatabaseError, num, raceAbort, sampleOf } from './common.js';
import type { CollectOptions, MysqlFacts, RunningQuery } from './types.js';

const SYSTEM_SCHEMAS = "('mysql','information_schema','performance_schema','sys')";

const VARIABLES = [
  'max_connections',
  'local_infile',
  'skip_name_resolve',
  'slow_query_log',
  'long_query_time',
  'read_only',
  'innodb_buffer_pool_size',
  'version_comment',
];
const STATUS = [
  'uptime',
  'threads_connected',
  'threads_running',
  'max_used_connections',
  'connections',
  'aborted_connects',
  'aborted_clients',
  'innodb_buffer_pool_read_requests',
  'innodb_buffer_pool_reads',
  'innodb_buffer_pool_pages_dirty',
  'innodb_buffer_pool_pages_total',
  'created_tmp_disk_tables',
  'created_tmp_tables',
];

type Row = Record<string, unknown>;

export async function collectMysql(target: DbTarget, o: CollectOptions): Promise<MysqlFacts> {
  const opts: mysql.ConnectionOptions = {
    user: target.user,
    password: target.password(),
    database: target.database,
    connectTimeout: o.connectTimeoutMs,
    supportBigNumbers: true,
    dateStrings: true,
    multipleStatements: false,
    ...(target.socket ? { socketPath: target.socket } : { host: target.host, port: target.port ?? 3306 }),
    ...(target.tls ? { ssl: target.tls } : {}),
  };
  let conn: mysql.Connection;
  try {
    conn = await raceAbort(mysql.createConnection(opts), o.signal, (c) => c.destroy());
  } catch (err) {
    throw translate(err, target);
  }
  const kill = () => conn.destroy();
  o.signal.addEventListener('abort', kill, { once: true });
  conn.on('error', () => undefined);
  const notes: string[] = [];
  const q = async (sql: string, values?: unknown[]): Promise<Row[]> => {
    const [rows] = await conn.query({ sql, values, timeout: o.statementTimeoutMs });
    return rows as Row[];
  };
  /** A check that may lack a privilege: its failure is a note. */
  const optional = async <T>(what: string, fn: () => Promise<T>, hint: string): Promise<T | null> => {
    try {
      return await fn();
    } catch (err) {
      if (o.signal.aborted) throw err;
      notes.push(
        `${what}: ${(err as { sqlMessage?: string }).sqlMessage ?? (err as Error).message} (${hint})`,
      );
      return null;
    }
  };
  try {
    await q('SET SESSION TRANSACTION READ ONLY');
    const [ver] = await q('SELECT VERSION() AS v, CURRENT_USER() AS u, CONNECTION_ID() AS id');
    const version = String(ver?.v ?? '');
    const flavor = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
    const seconds = Math.max(1, Math.ceil(o.statementTimeoutMs / 1000));
    await q(
      flavor === 'mariadb'
        ? `SET SESSION max_statement_time = ${seconds}`
        : `SET SESSION max_execution_time = ${o.statementTimeoutMs}`,
    ).catch(() => notes.push('could not set a statement time limit on the session'));
    await q('SET SESSION lock_wait_timeout = 5').catch(() => undefined);
    const ro = await q('SELECT @@SESSION.transaction_read_only AS ro').catch(() =>
      q('SELECT @@SESSION.tx_read_only AS ro'),
    );
    const readOnlySession = num(ro[0]?.ro) === 1;
    if (!readOnlySession) throw new DatabaseError('the session could not be made read-only', 'ENOTREADONLY');

    const variables: Record<string, string> = {};
    for (const r of await q(
      `SELECT LOWER(VARIABLE_NAME) AS n, VARIABLE_VALUE AS v FROM information_schema.GLOBAL_VARIABLES WHERE LOWER(VARIABLE_NAME) IN (?)`,
      [VARIABLES],
    ).catch(() => q(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (?)`, [VARIABLES]).then(lowerPairs)))
      variables[String(r.n)] = String(r.v);
    const status: Record<string, string> = {};
    for (const r of await q(
      `SELECT LOWER(VARIABLE_NAME) AS n, VARIABLE_VALUE AS v FROM information_schema.GLOBAL_STATUS WHERE LOWER(VARIABLE_NAME) IN (?)`,
      [STATUS],
    ).catch(() => q(`SHOW GLOBAL STATUS WHERE Variable_name IN (?)`, [STATUS]).then(lowerPairs)))
      status[String(r.n)] = String(r.v);

    const longQueries = await q(
      `SELECT ID AS id, USER AS user, DB AS db, TIME AS t, STATE AS state, INFO AS info
         FROM information_schema.PROCESSLIST
        WHERE COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump', 'Binlog Dump GTID', 'Slave_IO', 'Slave_SQL', 'Slave_worker')
          AND ID <> CONNECTION_ID() AND TIME >= ? AND USER <> 'system user' AND USER <> 'event_scheduler'
        ORDER BY TIME DESC LIMIT 20`,
      [o.longQuerySeconds],
    ).then((rows) =>
      rows.map((r): RunningQuery => ({
        id: num(r.id),
        user: r.user == null ? null : String(r.user),
        database: r.db == null ? null : String(r.db),
        seconds: num(r.t),
        state: r.state == null || r.state === '' ? null : String(r.state),
        query: r.info == null ? null : maskSql(String(r.info), 'mysql'),
      })),
    );
    if (num(status.threads_connected) > 1 && longQueries.length === 0) {
      // Without PROCESS only our own threads are visible: say so rather than report "none".
      const [p] = await q(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST`);
      if (num(p?.n) <= 1)
        notes.push(
          'processlist shows only this session: grant PROCESS to see long-running queries of others',
        );
    }

    const replica = await optional(
      'replication status',
      async () => {
        const rows = await q('SHOW REPLICA STATUS').catch(() => q('SHOW SLAVE STATUS'));
        const r = rows[0];
        if (!r) return null;
        const pick = (...keys: string[]) => keys.map((k) => r[k]).find((v) => v !== undefined);
        const behind = pick('Seconds_Behind_Source', 'Seconds_Behind_Master');
        const lastErr = [pick('Last_IO_Error'), pick('Last_SQL_Error')].filter((e) => e != null && e !== '');
        return {
          ioRunning: String(pick('Replica_IO_Running', 'Slave_IO_Running') ?? 'unknown'),
          sqlRunning: String(pick('Replica_SQL_Running', 'Slave_SQL_Running') ?? 'unknown'),
          secondsBehind: behind == null ? null : num(behind),
          lastError: lastErr.length > 0 ? replicationErrorText(String(lastErr[0])) : null,
        };
      },
      'grant REPLICATION CLIENT (SLAVE MONITOR on MariaDB 10.5+)',
    );

    const tablesWithoutPk = await optional(
      'tables without primary key',
      async () => {
        const rows = await q(
          `SELECT CONCAT(t.TABLE_SCHEMA, '.', t.TABLE_NAME) AS t
             FROM information_schema.TABLES t
             LEFT JOIN information_schema.TABLE_CONSTRAINTS c
               ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY'
            WHERE t.TABLE_TYPE = 'BASE TABLE' AND t.TABLE_SCHEMA NOT IN ${SYSTEM_SCHEMAS} AND c.CONSTRAINT_NAME IS NULL
            ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME LIMIT 1000`,
        );
        return sampleOf(rows as Array<{ t: unknown }>, rows.length);
      },
      'grant SELECT on the schemas to audit',
    );
    const myisamTables = await optional(
      'MyISAM tables',
      async () => {
        const rows = await q(
          `SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) AS t FROM information_schema.TABLES
            WHERE ENGINE = 'MyISAM' AND TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ${SYSTEM_SCHEMAS}
            ORDER BY TABLE_SCHEMA, TABLE_NAME LIMIT 1000`,
        );
        return sampleOf(rows as Array<{ t: unknown }>, rows.length);
      },
      'grant SELECT on the schemas to audit',
    );
    const users = await optional(
      'accounts',
      () => readUsers(q, flavor),
      'grant SELECT ON mysql.user (and mysql.global_priv on MariaDB)',
    );

    return {
      kind: 'mysql',
      version,
      flavor,
      uptimeSeconds: num(status.uptime),
      readOnlySession,
      currentUser: String(ver?.u ?? target.user),
      variables,
      status,
      longQueries,
      replica,
      tablesWithoutPk,
      myisamTables,
      users,
      notes,
    };
  } catch (err) {
    throw translate(err, target);
  } finally {
    o.signal.removeEventListener('abort', kill);
    await conn.end().catch(() => conn.destroy());
  }
}

function lowerPairs(rows: Row[]): Row[] {
  return rows.map((r) => ({ n: String(r.Variable_name).toLowerCase(), v: r.Value }));
}

/**
 * Accounts with the facts we judge, computed in SQL so no hash leaves the server: blank password
 * (a password plugin with an empty authentication string), all global privileges, locked.
 */
async function readUsers(
  q: (sql: string, values?: unknown[]) => Promise<Row[]>,
  flavor: 'mariadb' | 'mysql',
): Promise<NonNullable<MysqlFacts['users']>> {
  const cols = (
    await q(
      `SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME = 'user'`,
    )
  ).map((r) => String(r.c));
  // Column names come from the server's catalogue; only plain *_priv names reach the SQL.
  const privs = cols.filter((c) => /^[A-Za-z_]+_priv$/.test(c) && c !== 'Grant_priv');
  const allPriv = privs.length > 0 ? privs.map((c) => `\`${c}\` = 'Y'`).join(' AND ') : '0';
  const roleFilter = cols.includes('is_role') ? `AND is_role <> 'Y'` : '';
  const lockedExpr = cols.includes('account_locked') ? `account_locked = 'Y'` : '0';
  const rows = await q(
    `SELECT User AS user, Host AS host,
            (COALESCE(authentication_string, '') = ''${cols.includes('Password') ? " AND COALESCE(Password, '') = ''" : ''}
              AND COALESCE(plugin, '') IN ('', 'mysql_native_password', 'mysql_old_password', 'caching_sha2_password', 'sha256_password')) AS blank,
            (${allPriv}) AS allp,
            (${lockedExpr}) AS locked
       FROM mysql.user WHERE 1 = 1 ${roleFilter}`,
  );
  let locked = new Set<string>();
  if (flavor === 'mariadb') {
    // MariaDB keeps the lock flag in global_priv's JSON; mariadb.sys is locked by default.
    const l = await q(
      `SELECT CONCAT(User, '@', Host) AS k FROM mysql.global_priv WHERE JSON_VALUE(Priv, '$.account_locked') IN ('true', '1')`,
    ).catch(() => [] as Row[]);
    locked = new Set(l.map((r) => String(r.k)));
  }
  return rows
    .filter((r) => num(r.locked) !== 1 && !locked.has(`${String(r.user)}@${String(r.host)}`))
    .map((r) => ({
      user: String(r.user),
      host: String(r.host),
      blankPassword: num(r.blank) === 1,
      allPrivileges: num(r.allp) === 1,
    }));
}

/** Driver errors to messages an operator can act on; never the password or the connection options. */
function translate(err: unknown, target: DbTarget): Error {
  if (err instanceof DatabaseError) return err;
  const e = err as { code?: string; errno?: number; sqlMessage?: string; message?: string };
  if (e.code === 'ER_ACCESS_DENIED_ERROR' || e.code === 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR')
    return new DatabaseError(
      `authentication failed for user ${target.user} (password from ${target.passwordSource}): ${e.sqlMessage ?? ''}`.trim(),
      'EAUTH',
    );
  if (e.code === 'ER_BAD_DB_ERROR' || e.code === 'ER_DBACCESS_DENIED_ERROR')
    return new DatabaseError(`database ${target.database ?? ''}: ${e.sqlMessage ?? e.code}`, 'ENODB');
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * A replica's Last_SQL_Error quotes the failed statement with its data ("... Query: 'INSERT ...
 * VALUES ('alice', '<token>')'") and the duplicate key value: keep the message before the query,
 * literals masked.
 */
export function replicationErrorText(raw: string): string {
  return maskSql(raw.split(/\bQuery:/)[0] ?? '', 'mysql', 300);
}
