/**
 * PostgreSQL facts for check_database (pg): one short-lived connection per call, started with
 * `default_transaction_read_only=on` and statement, lock and idle timeouts in the startup packet;
 * reads pg_stat_* views and catalogues only. A check that fails for lack of a privilege becomes a
 * note. pg_stat_activity shows other users' query text only to superusers and pg_read_all_stats
 * members (grant pg_monitor).
 */
import { basename, dirname } from 'node:path';
import pg from 'pg';
import { maskSql } from '../../audit/database/maskSql.js';
import type { DbTarget } from '../../dbTargetsFile.js';
import { DatabaseError, num, raceAbort, sampleOf } from './common.js';
import type { CollectOptions, PostgresFacts, RunningQuery } from './types.js';

type Row = Record<string, unknown>;

/** A socket given as the file (`/run/postgresql/.s.PGSQL.5432`) or its directory. */
function socketParts(socket: string, port: number | undefined): { host: string; port: number } {
  const m = /^\.s\.PGSQL\.(\d+)$/.exec(basename(socket));
  return m ? { host: dirname(socket), port: Number(m[1]) } : { host: socket, port: port ?? 5432 };
}

export async function collectPostgres(target: DbTarget, o: CollectOptions): Promise<PostgresFacts> {
  const where = target.socket
    ? socketParts(target.socket, target.port)
    : { host: target.host as string, port: target.port ?? 5432 };
  const client = new pg.Client({
    ...where,
    user: target.user,
    password: target.password(),
    database: target.database ?? 'postgres',
    connectionTimeoutMillis: o.connectTimeoutMs,
    statement_timeout: o.statementTimeoutMs,
    query_timeout: o.statementTimeoutMs + 1000,
    lock_timeout: Math.min(o.statementTimeoutMs, 2000),
    idle_in_transaction_session_timeout: o.statementTimeoutMs * 2,
    application_name: 'server-audit-mcp',
    options: '-c default_transaction_read_only=on',
    ...(target.tls ? { ssl: target.tls } : {}),
  });
  client.on('error', () => undefined);
  const kill = () => void client.end().catch(() => undefined);
  try {
    await raceAbort(client.connect(), o.signal, () => kill());
  } catch (err) {
    kill();
    throw translate(err, target);
  }
  o.signal.addEventListener('abort', kill, { once: true });
  const notes: string[] = [];
  const q = async (sql: string, values?: unknown[]): Promise<Row[]> =>
    (await client.query(sql, values)).rows as Row[];
  const optional = async <T>(what: string, fn: () => Promise<T>, hint: string): Promise<T | null> => {
    try {
      return await fn();
    } catch (err) {
      if (o.signal.aborted) throw err;
      notes.push(`${what}: ${(err as Error).message} (${hint})`);
      return null;
    }
  };
  try {
    const [info] = await q(
      `SELECT current_setting('server_version') AS v, current_setting('server_version_num')::int AS vn,
              current_setting('transaction_read_only') AS ro, current_user AS u,
              (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su,
              extract(epoch FROM now() - pg_postmaster_start_time())::float8 AS up,
              pg_is_in_recovery() AS rec,
              current_setting('max_connections')::int AS maxc,
              current_setting('superuser_reserved_connections')::int AS resc,
              current_setting('log_min_duration_statement') AS lmd`,
    );
    if (info?.ro !== 'on') throw new DatabaseError('the session could not be made read-only', 'ENOTREADONLY');
    const versionNum = num(info.vn);
    const row = (r: Row): RunningQuery => ({
      id: num(r.pid),
      user: r.usename == null ? null : String(r.usename),
      database: r.datname == null ? null : String(r.datname),
      seconds: Math.round(num(r.secs) * 10) / 10,
      state: r.state == null ? null : String(r.state),
      query: r.query == null || r.query === '' ? null : maskSql(String(r.query), 'postgres'),
    });
    const activity = `FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`;
    const byState: Record<string, number> = {};
    for (const r of await q(
      `SELECT coalesce(state, 'unknown') AS state, count(*)::int AS n ${activity} GROUP BY 1`,
    ))
      byState[String(r.state)] = num(r.n);
    // Our own connection counts against max_connections too.
    byState.active = (byState.active ?? 0) + 1;
    const idleInTransaction = (
      await q(
        `SELECT pid, usename, datname, state, extract(epoch FROM now() - state_change)::float8 AS secs, query
           ${activity} AND state IN ('idle in transaction', 'idle in transaction (aborted)')
           AND now() - state_change >= make_interval(secs => $1)
         ORDER BY state_change LIMIT 20`,
        [o.idleInTransactionSeconds],
      )
    ).map(row);
    const [oldest] = await q(
      `SELECT coalesce(max(extract(epoch FROM now() - xact_start)), 0)::float8 AS secs ${activity} AND xact_start IS NOT NULL`,
    );
    const longQueries = (
      await q(
        `SELECT pid, usename, datname, state, extract(epoch FROM now() - query_start)::float8 AS secs, query
           ${activity} AND state = 'active' AND now() - query_start >= make_interval(secs => $1)
         ORDER BY query_start LIMIT 20`,
        [o.longQuerySeconds],
      )
    ).map(row);
    const blocked = (
      await q(
        `SELECT pid, usename, datname, state, extract(epoch FROM now() - coalesce(query_start, state_change))::float8 AS secs,
                query, pg_blocking_pids(pid) AS blockers
           ${activity} AND cardinality(pg_blocking_pids(pid)) > 0
         ORDER BY query_start LIMIT 20`,
      )
    ).map((r) => ({ ...row(r), blockedBy: (r.blockers as number[]).map(num) }));
    const [cache] = await q(
      `SELECT coalesce(sum(blks_hit), 0)::float8 AS hit, coalesce(sum(blks_read), 0)::float8 AS read FROM pg_stat_database`,
    );
    const inRecovery = info.rec === true;
    const slots =
      (await optional(
        'replication slots',
        async () =>
          (
            await q(
              `SELECT slot_name, slot_type, active,
                      ${inRecovery ? 'NULL' : 'pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)'}::float8 AS retained
                 FROM pg_replication_slots ORDER BY slot_name`,
            )
          ).map((r) => ({
            name: String(r.slot_name),
            type: String(r.slot_type),
            active: r.active === true,
            retainedBytes: r.retained == null ? null : num(r.retained),
          })),
        'grant pg_monitor',
      )) ?? [];
    const standbys =
      (await optional(
        'standbys',
        async () =>
          (
            await q(
              `SELECT coalesce(application_name, client_addr::text, 'standby') AS name, state,
                      extract(epoch FROM replay_lag)::float8 AS lag FROM pg_stat_replication`,
            )
          ).map((r) => ({
            name: String(r.name),
            state: String(r.state),
            replayLagSeconds: r.lag == null ? null : num(r.lag),
          })),
        'grant pg_monitor',
      )) ?? [];
    let replayLagSeconds: number | null = null;
    if (inRecovery) {
      const [lag] = await q(
        `SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                     ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8 AS lag`,
      );
      replayLagSeconds = lag?.lag == null ? null : num(lag.lag);
    }
    const [wrap] = await q(
      `SELECT datname, age(datfrozenxid)::float8 AS age FROM pg_database ORDER BY 2 DESC LIMIT 1`,
    );
    const deadTuples = (
      await q(
        `SELECT s.schemaname || '.' || s.relname AS t, s.n_live_tup::float8 AS live, s.n_dead_tup::float8 AS dead,
                greatest(s.last_autovacuum, s.last_vacuum)::text AS lastvac
           FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
          -- relpages (as of the last vacuum/analyze), not pg_total_relation_size: that one takes a
          -- lock and would wait behind any ACCESS EXCLUSIVE holder.
          ORDER BY c.relpages DESC, s.n_dead_tup DESC LIMIT 20`,
      )
    ).map((r) => ({
      table: String(r.t),
      live: num(r.live),
      dead: num(r.dead),
      lastAutovacuum: r.lastvac == null ? null : String(r.lastvac),
    }));
    const tablesWithoutPk = await optional(
      'tables without primary key',
      async () => {
        const rows = await q(
          `SELECT n.nspname || '.' || c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
            ORDER BY 1 LIMIT 1000`,
        );
        return sampleOf(rows as Array<{ t: unknown }>, rows.length);
      },
      'grant USAGE on the schemas',
    );
    const statements = await optional(
      'pg_stat_statements',
      async () => {
        const [ext] = await q(
          `SELECT n.nspname AS s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`,
        );
        if (!ext) return null;
        const schema = `"${String(ext.s).replace(/"/g, '""')}"`;
        const total = versionNum >= 130000 ? 'total_exec_time' : 'total_time';
        const mean = versionNum >= 130000 ? 'mean_exec_time' : 'mean_time';
        return (
          await q(
            `SELECT query, calls::float8 AS calls, ${total}::float8 AS total, ${mean}::float8 AS mean, rows::float8 AS rows
               FROM ${schema}.pg_stat_statements ORDER BY ${total} DESC LIMIT 10`,
          )
        ).map((r) => ({
          query: maskSql(String(r.query ?? ''), 'postgres'),
          calls: num(r.calls),
          totalMs: Math.round(num(r.total) * 100) / 100,
          meanMs: Math.round(num(r.mean) * 1000) / 1000,
          rows: num(r.rows),
        }));
      },
      'grant pg_read_all_stats and make sure shared_preload_libraries has pg_stat_statements',
    );
    const roles = await q(
      `SELECT rolname, rolsuper, rolcanlogin, rolvaliduntil IS NULL AS noexp, oid = 10 AS bootstrap FROM pg_roles
        WHERE rolname NOT LIKE 'pg\\_%'`,
    );
    const superusers = roles
      .filter((r) => r.rolsuper === true && r.rolcanlogin === true)
      .map((r) => String(r.rolname));
    // pg_roles hides whether a password is set; pg_authid needs superuser. Without it, every login role counts.
    const withPassword =
      (await q(`SELECT rolname FROM pg_authid WHERE rolpassword IS NOT NULL`)
        .then((rows) => new Set(rows.map((r) => String(r.rolname))))
        .catch(() => null)) ?? null;
    const rolesWithoutExpiry = roles
      .filter(
        (r) => r.rolcanlogin === true && r.noexp === true && (withPassword?.has(String(r.rolname)) ?? true),
      )
      .map((r) => String(r.rolname));
    if (!withPassword)
      notes.push('pg_authid not readable: roles without expiry include roles with no password');

    return {
      kind: 'postgres',
      version: String(info.v),
      versionNum,
      uptimeSeconds: Math.round(num(info.up)),
      readOnlySession: true,
      currentUser: String(info.u),
      currentUserSuper: info.su === true,
      inRecovery,
      maxConnections: num(info.maxc),
      reservedConnections: num(info.resc),
      connectionsByState: byState,
      idleInTransaction,
      oldestXactSeconds: Math.round(num(oldest?.secs)),
      longQueries,
      blocked,
      cache: { hit: num(cache?.hit), read: num(cache?.read) },
      slots,
      standbys,
      replayLagSeconds,
      wraparound: wrap ? { database: String(wrap.datname), age: num(wrap.age) } : null,
      deadTuples,
      tablesWithoutPk,
      statements,
      superusers,
      rolesWithoutExpiry,
      logMinDurationMs: durationMs(String(info.lmd)),
      notes,
    };
  } catch (err) {
    throw translate(err, target);
  } finally {
    o.signal.removeEventListener('abort', kill);
    await client.end().catch(() => undefined);
  }
}

/** A time setting as current_setting() prints it (`-1`, `0`, `250ms`, `1s`, `2min`) in ms. */
export function durationMs(v: string): number {
  const m = /^(-?\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?$/.exec(v.trim());
  if (!m) return -1;
  const n = Number(m[1]);
  if (n < 0) return -1;
  const unit = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
  return n * unit;
}

function translate(err: unknown, target: DbTarget): Error {
  if (err instanceof DatabaseError) return err;
  const e = err as { code?: string; message?: string };
  if (e.code === '28P01' || e.code === '28000')
    return new DatabaseError(
      `authentication failed for user ${target.user} (password from ${target.passwordSource}): ${e.message ?? ''}`.trim(),
      'EAUTH',
    );
  if (e.code === '3D000')
    return new DatabaseError(`database ${target.database ?? 'postgres'}: ${e.message}`, 'ENODB');
  return err instanceof Error ? err : new Error(String(err));
}
