/**
 * check_database's judgement (pure): facts read from a MySQL/MariaDB or PostgreSQL server in,
 * findings and a flat metrics map out. Finding ids are stable (`db.<rule>:<target>`); metrics
 * are `db.<target>.<quantity>` with the quantity last, in compare_baselines' vocabulary.
 */
import { type Finding, subjectFindings, worstFirst } from '../findings.js';
import type { MysqlFacts, PostgresFacts, RunningQuery, TableSample } from '../../net/database/types.js';

export const DB_THRESHOLDS = {
  connectionsUsedPercent: { high: 80, critical: 95 },
  /** A long-running query over this many seconds is high (else medium). */
  longQueryHighSeconds: 300,
  /** InnoDB buffer pool / PostgreSQL shared buffers hit ratio, once this many reads were made. */
  hitPercent: { medium: 95, high: 90, minRequests: 10_000 },
  replicationLagSeconds: { medium: 30, high: 300 },
  tmpDiskTablesPercent: { low: 25, minTables: 100 },
  abortedConnectPercent: { medium: 5, minAborted: 20 },
  threadsRunning: 32,
  xidWraparoundPercent: { high: 50, critical: 75 },
  deadTuplePercent: { medium: 20, minDead: 10_000 },
  idleInTransactionHighSeconds: 600,
  oldestXactSeconds: 3600,
  blockedHighSeconds: 60,
  slotRetainedBytes: 1024 ** 3,
  longQueryTimeSeconds: 10,
} as const;

export interface DatabaseVerdict {
  findings: Finding[];
  metrics: Record<string, number>;
}

export interface AnalyzeOptions {
  longQuerySeconds: number;
  idleInTransactionSeconds: number;
}

const pct = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 100 : 0);
const n = (v: string | undefined) => {
  const x = Number.parseFloat(v ?? '');
  return Number.isFinite(x) ? x : 0;
};
const on = (v: string | undefined) => ['on', '1', 'yes', 'true'].includes((v ?? '').toLowerCase());

function describeQueries(qs: RunningQuery[], max = 3): string {
  const shown = qs.slice(0, max).map((q) => {
    const who = [q.user, q.database].filter(Boolean).join('@');
    return `#${q.id}${who ? ` ${who}` : ''} ${Math.round(q.seconds)} s${q.state ? ` (${q.state})` : ''}: ${q.query ?? '(no text)'}`;
  });
  return shown.join('; ') + (qs.length > max ? `; and ${qs.length - max} more` : '');
}

function tables(s: TableSample, max = 10): string {
  return s.sample.slice(0, max).join(', ') + (s.count > max ? ` and ${s.count - max} more` : '');
}

function connections(
  add: ReturnType<typeof subjectFindings>,
  used: number,
  max: number,
  extra: string,
  recommendation: string,
): number {
  const usedPct = pct(used, max);
  const t = DB_THRESHOLDS.connectionsUsedPercent;
  if (usedPct >= t.high)
    add(
      'db.connections.used_percent',
      usedPct >= t.critical ? 'critical' : 'high',
      `connections at ${usedPct}% of max_connections`,
      `${used} of ${max} connections in use${extra}`,
      recommendation,
    );
  return usedPct;
}

function longQueries(
  add: ReturnType<typeof subjectFindings>,
  qs: RunningQuery[],
  o: AnalyzeOptions,
  kill: string,
): void {
  if (qs.length === 0) return;
  const worst = Math.max(...qs.map((q) => q.seconds));
  add(
    'db.queries.long_running',
    worst >= DB_THRESHOLDS.longQueryHighSeconds ? 'high' : 'medium',
    `${qs.length} statement(s) running over ${o.longQuerySeconds} s`,
    describeQueries(qs),
    `Check the plan (EXPLAIN) and missing indexes; stop a runaway statement with ${kill}`,
  );
}

export function analyzeMysql(target: string, f: MysqlFacts, o: AnalyzeOptions): DatabaseVerdict {
  const findings: Finding[] = [];
  const add = subjectFindings(target, findings);
  const m: Record<string, number> = {};
  const metric = (k: string, v: number) => {
    m[`db.${target}.${k}`] = v;
  };
  const v = f.variables;
  const s = f.status;
  const max = n(v.max_connections);
  const used = n(s.threads_connected);
  metric('uptime_seconds', f.uptimeSeconds);
  metric('connections', used);
  metric('max_connections', max);
  metric('max_used_connections', n(s.max_used_connections));
  metric(
    'connections_used_percent',
    connections(
      add,
      used,
      max,
      `; peak since start ${n(s.max_used_connections)}`,
      'Find who holds connections (SHOW PROCESSLIST), fix leaks or add a pool; raise max_connections only with memory to spare',
    ),
  );
  const running = n(s.threads_running);
  metric('threads_running', running);
  if (running >= DB_THRESHOLDS.threadsRunning)
    add(
      'db.threads_running',
      'medium',
      `${running} threads running at once`,
      `Threads_running ${running}`,
      'Many statements running concurrently: look for lock contention or slow queries (SHOW PROCESSLIST)',
    );
  const aborted = n(s.aborted_connects);
  const abortedPct = pct(aborted, n(s.connections));
  metric('aborted_connects', aborted);
  metric('aborted_connects_percent', abortedPct);
  if (
    abortedPct >= DB_THRESHOLDS.abortedConnectPercent.medium &&
    aborted >= DB_THRESHOLDS.abortedConnectPercent.minAborted
  )
    add(
      'db.connections.aborted',
      'medium',
      `${abortedPct}% of connection attempts aborted`,
      `Aborted_connects ${aborted} of ${n(s.connections)} connections in ${f.uptimeSeconds} s`,
      'Failed logins or clients cut off during the handshake: check the error log for the hosts, wrong passwords or connect_timeout',
    );
  metric('long_queries', f.longQueries.length);
  longQueries(add, f.longQueries, o, 'KILL QUERY <id>');

  const reqs = n(s.innodb_buffer_pool_read_requests);
  const disk = n(s.innodb_buffer_pool_reads);
  if (reqs > 0) {
    const hit = pct(reqs - disk, reqs);
    metric('buffer_pool_hit_percent', hit);
    const t = DB_THRESHOLDS.hitPercent;
    if (reqs >= t.minRequests && hit < t.medium)
      add(
        'db.innodb.buffer_pool_hit_ratio',
        hit < t.high ? 'high' : 'medium',
        `InnoDB buffer pool hit ratio ${hit}%`,
        `${disk} of ${reqs} page reads went to disk; innodb_buffer_pool_size ${v.innodb_buffer_pool_size ?? '?'} bytes`,
        'Raise innodb_buffer_pool_size toward the working set (often 50-75% of RAM on a dedicated server)',
      );
  }
  const pages = n(s.innodb_buffer_pool_pages_total);
  if (pages > 0) metric('buffer_pool_dirty_percent', pct(n(s.innodb_buffer_pool_pages_dirty), pages));

  if (f.replica) {
    const r = f.replica;
    const ok = (x: string) => /^yes$/i.test(x);
    if (!ok(r.ioRunning) || !ok(r.sqlRunning))
      add(
        'db.replication.stopped',
        'critical',
        'replication is not running',
        `IO thread ${r.ioRunning}, SQL thread ${r.sqlRunning}${r.lastError ? `; last error: ${r.lastError}` : ''}`,
        'Fix the error shown, then START REPLICA (START SLAVE); re-seed the replica if events are missing',
      );
    if (r.secondsBehind !== null) {
      metric('replication_lag_seconds', r.secondsBehind);
      const t = DB_THRESHOLDS.replicationLagSeconds;
      if (r.secondsBehind >= t.medium)
        add(
          'db.replication.lag',
          r.secondsBehind >= t.high ? 'high' : 'medium',
          `replica ${r.secondsBehind} s behind`,
          `Seconds_Behind_Master ${r.secondsBehind}`,
          'Look for long transactions on the primary and the replica I/O; consider parallel replication',
        );
    }
  }
  if (f.tablesWithoutPk) {
    metric('tables_without_pk', f.tablesWithoutPk.count);
    if (f.tablesWithoutPk.count > 0)
      add(
        'db.tables.no_primary_key',
        'medium',
        `${f.tablesWithoutPk.count} table(s) without a primary key`,
        tables(f.tablesWithoutPk),
        'Add a primary key (an AUTO_INCREMENT id if nothing else): InnoDB invents a hidden one, row-based replication scans the table per row change, and Galera needs one',
      );
  }
  if (f.myisamTables) {
    metric('myisam_tables', f.myisamTables.count);
    if (f.myisamTables.count > 0)
      add(
        'db.tables.myisam',
        'medium',
        `${f.myisamTables.count} MyISAM table(s)`,
        tables(f.myisamTables),
        'Convert to InnoDB (ALTER TABLE ... ENGINE=InnoDB): MyISAM is not crash-safe, locks whole tables and has no transactions',
      );
  }
  if (!on(v.slow_query_log))
    add(
      'db.slow_log.disabled',
      'low',
      'slow query log is off',
      `slow_query_log=${v.slow_query_log ?? '?'}, long_query_time=${v.long_query_time ?? '?'}`,
      'SET GLOBAL slow_query_log=ON and long_query_time=1 (and in my.cnf) so analyze_slow_queries has data',
    );
  else if (n(v.long_query_time) > DB_THRESHOLDS.longQueryTimeSeconds)
    add(
      'db.slow_log.threshold',
      'low',
      `long_query_time is ${n(v.long_query_time)} s`,
      `slow_query_log=ON, long_query_time=${v.long_query_time}`,
      'Lower long_query_time to 1-2 s so slow statements are logged',
    );
  const tmp = n(s.created_tmp_tables);
  const tmpDisk = n(s.created_tmp_disk_tables);
  if (tmp > 0) {
    const p = pct(tmpDisk, tmp);
    metric('tmp_disk_tables_percent', p);
    if (tmp >= DB_THRESHOLDS.tmpDiskTablesPercent.minTables && p >= DB_THRESHOLDS.tmpDiskTablesPercent.low)
      add(
        'db.tmp_tables.on_disk',
        'low',
        `${p}% of temporary tables went to disk`,
        `Created_tmp_disk_tables ${tmpDisk} of Created_tmp_tables ${tmp}`,
        'Raise tmp_table_size and max_heap_table_size together, or fix the queries that sort/group large results (BLOB/TEXT columns always go to disk)',
      );
  }
  if (!on(v.skip_name_resolve))
    add(
      'db.config.name_resolve',
      'low',
      'skip_name_resolve is off',
      `skip_name_resolve=${v.skip_name_resolve ?? 'OFF'}`,
      'Set skip_name_resolve=ON in my.cnf (after moving host-name grants to IPs): every login waits on reverse DNS, and a DNS outage blocks logins',
    );
  if (on(v.local_infile))
    add(
      'db.config.local_infile',
      'medium',
      'local_infile is on',
      `local_infile=${v.local_infile}`,
      'Set local_infile=OFF (SET GLOBAL local_infile=0 and in my.cnf): a malicious server or SQL injection can read client files with LOAD DATA LOCAL',
    );
  if (f.users) {
    const anon = f.users.filter((u) => u.user === '');
    const blank = f.users.filter((u) => u.user !== '' && u.blankPassword);
    const wild = f.users.filter((u) => u.host === '%' && u.allPrivileges);
    metric('anonymous_users', anon.length);
    metric('blank_password_users', blank.length);
    const names = (us: typeof anon) => us.map((u) => `'${u.user}'@'${u.host}'`).join(', ');
    if (anon.length > 0)
      add(
        'db.users.anonymous',
        'high',
        `${anon.length} anonymous account(s)`,
        names(anon),
        `Drop them: ${anon.map((u) => `DROP USER ''@'${u.host}';`).join(' ')} (mariadb-secure-installation does the same)`,
      );
    if (blank.length > 0)
      add(
        'db.users.blank_password',
        'critical',
        `${blank.length} account(s) without a password`,
        names(blank),
        'Set a password (ALTER USER ... IDENTIFIED BY ...) or switch to unix_socket authentication, or drop the account',
      );
    if (wild.length > 0)
      add(
        'db.users.wildcard_all_privileges',
        'high',
        `${wild.length} account(s) with ALL PRIVILEGES from any host`,
        names(wild),
        "Restrict the host part to the application's addresses and grant only the privileges needed on its own schema",
      );
  }
  return { findings: findings.sort(worstFirst), metrics: m };
}

export function analyzePostgres(target: string, f: PostgresFacts, o: AnalyzeOptions): DatabaseVerdict {
  const findings: Finding[] = [];
  const add = subjectFindings(target, findings);
  const m: Record<string, number> = {};
  const metric = (k: string, v: number) => {
    m[`db.${target}.${k}`] = v;
  };
  const used = Object.values(f.connectionsByState).reduce((a, b) => a + b, 0);
  metric('uptime_seconds', f.uptimeSeconds);
  metric('connections', used);
  metric('max_connections', f.maxConnections);
  const states = Object.entries(f.connectionsByState)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  metric(
    'connections_used_percent',
    connections(
      add,
      used,
      f.maxConnections,
      ` (${states}); ${f.reservedConnections} reserved for superusers`,
      'Put a pooler (PgBouncer) in front, close idle sessions in the application, and look at "idle in transaction" ones first',
    ),
  );
  metric('connections_active', f.connectionsByState.active ?? 0);
  metric('connections_idle', f.connectionsByState.idle ?? 0);
  const idleTx =
    (f.connectionsByState['idle in transaction'] ?? 0) +
    (f.connectionsByState['idle in transaction (aborted)'] ?? 0);
  metric('idle_in_transaction', idleTx);
  if (f.idleInTransaction.length > 0) {
    const oldest = Math.max(...f.idleInTransaction.map((q) => q.seconds));
    add(
      'db.sessions.idle_in_transaction',
      oldest >= DB_THRESHOLDS.idleInTransactionHighSeconds ? 'high' : 'medium',
      `${f.idleInTransaction.length} session(s) idle in transaction over ${o.idleInTransactionSeconds} s`,
      describeQueries(f.idleInTransaction),
      'The application opened a transaction and stopped talking: it holds locks and blocks vacuum. Fix the code path; set idle_in_transaction_session_timeout; end one with SELECT pg_terminate_backend(<pid>)',
    );
  }
  metric('oldest_xact_seconds', f.oldestXactSeconds);
  if (f.oldestXactSeconds >= DB_THRESHOLDS.oldestXactSeconds)
    add(
      'db.transactions.oldest',
      'medium',
      `a transaction has been open ${Math.round(f.oldestXactSeconds / 60)} min`,
      `oldest xact_start ${f.oldestXactSeconds} s ago`,
      'Long transactions keep dead rows from being vacuumed (bloat): find it in pg_stat_activity and end it',
    );
  metric('long_queries', f.longQueries.length);
  longQueries(add, f.longQueries, o, 'SELECT pg_cancel_backend(<pid>)');
  metric('blocked_sessions', f.blocked.length);
  if (f.blocked.length > 0) {
    const worst = Math.max(...f.blocked.map((b) => b.seconds));
    add(
      'db.locks.blocked',
      worst >= DB_THRESHOLDS.blockedHighSeconds ? 'high' : 'medium',
      `${f.blocked.length} session(s) waiting on a lock`,
      f.blocked
        .slice(0, 3)
        .map(
          (b) =>
            `#${b.id} blocked by ${b.blockedBy.map((p) => `#${p}`).join(', ')} for ${Math.round(b.seconds)} s: ${b.query ?? '(no text)'}`,
        )
        .join('; '),
      'Look at what the blocking pid is doing (often idle in transaction); end it with pg_terminate_backend(<pid>) if stuck; keep transactions short',
    );
  }
  const total = f.cache.hit + f.cache.read;
  if (total > 0) {
    const hit = pct(f.cache.hit, total);
    metric('cache_hit_percent', hit);
    const t = DB_THRESHOLDS.hitPercent;
    if (total >= t.minRequests && hit < t.medium)
      add(
        'db.cache.hit_ratio',
        hit < t.high ? 'high' : 'medium',
        `shared buffers hit ratio ${hit}%`,
        `${f.cache.read} of ${total} block reads missed shared_buffers`,
        'Raise shared_buffers (about 25% of RAM) and check effective_cache_size; look for sequential scans of big tables',
      );
  }
  const inactive = f.slots.filter((s) => !s.active);
  metric('replication_slots_inactive', inactive.length);
  const retained = Math.max(0, ...f.slots.map((s) => s.retainedBytes ?? 0));
  if (f.slots.length > 0) metric('replication_slot_retained_bytes', retained);
  if (inactive.length > 0)
    add(
      'db.replication.slot_inactive',
      'high',
      `${inactive.length} inactive replication slot(s)`,
      inactive
        .map(
          (s) =>
            `${s.name} (${s.type}, ${s.retainedBytes === null ? '?' : Math.round(s.retainedBytes / 1024 ** 2)} MiB WAL retained)`,
        )
        .join(', '),
      'An unused slot keeps WAL forever until the disk fills: reconnect its consumer or SELECT pg_drop_replication_slot(<name>)',
    );
  else if (retained >= DB_THRESHOLDS.slotRetainedBytes)
    add(
      'db.replication.slot_retained',
      'medium',
      `replication slots retain ${Math.round(retained / 1024 ** 2)} MiB of WAL`,
      f.slots.map((s) => `${s.name}: ${s.retainedBytes ?? '?'} bytes`).join(', '),
      'A consumer is falling behind; set max_slot_wal_keep_size as a guard',
    );
  const lags = [f.replayLagSeconds, ...f.standbys.map((s) => s.replayLagSeconds)].filter(
    (x): x is number => x !== null,
  );
  if (lags.length > 0) {
    const lag = Math.max(...lags);
    metric('replication_lag_seconds', lag);
    const t = DB_THRESHOLDS.replicationLagSeconds;
    if (lag >= t.medium)
      add(
        'db.replication.lag',
        lag >= t.high ? 'high' : 'medium',
        `replication ${Math.round(lag)} s behind`,
        f.inRecovery
          ? `this standby last replayed a transaction ${Math.round(lag)} s ago`
          : f.standbys
              .map((s) => `${s.name} ${s.state} replay lag ${s.replayLagSeconds ?? '?'} s`)
              .join(', '),
        'Check the standby I/O and network, and long queries on the standby (hot_standby_feedback, max_standby_streaming_delay)',
      );
  }
  if (f.wraparound) {
    const usedPct = pct(f.wraparound.age, 2 ** 31);
    metric('xid_age', f.wraparound.age);
    metric('xid_wraparound_used_percent', usedPct);
    const t = DB_THRESHOLDS.xidWraparoundPercent;
    if (usedPct >= t.high)
      add(
        'db.xid.wraparound',
        usedPct >= t.critical ? 'critical' : 'high',
        `transaction ids ${usedPct}% of the way to wraparound`,
        `database ${f.wraparound.database}: age(datfrozenxid) ${f.wraparound.age} of 2^31`,
        'Run VACUUM (FREEZE) on that database now and find what blocks autovacuum (long transactions, inactive slots, prepared transactions)',
      );
  }
  const bloated = f.deadTuples.filter((t) => {
    const ratio = pct(t.dead, t.live + t.dead);
    return t.dead >= DB_THRESHOLDS.deadTuplePercent.minDead && ratio >= DB_THRESHOLDS.deadTuplePercent.medium;
  });
  metric('dead_tuples_max_percent', Math.max(0, ...f.deadTuples.map((t) => pct(t.dead, t.live + t.dead))));
  if (bloated.length > 0)
    add(
      'db.tables.dead_tuples',
      'medium',
      `${bloated.length} large table(s) with many dead rows`,
      bloated
        .slice(0, 5)
        .map(
          (t) =>
            `${t.table}: ${t.dead} dead of ${t.live + t.dead} (${pct(t.dead, t.live + t.dead)}%), last vacuum ${t.lastAutovacuum ?? 'never'}`,
        )
        .join('; '),
      'Autovacuum is not keeping up: lower autovacuum_vacuum_scale_factor for these tables, and look for long transactions holding it back',
    );
  if (f.tablesWithoutPk) {
    metric('tables_without_pk', f.tablesWithoutPk.count);
    if (f.tablesWithoutPk.count > 0)
      add(
        'db.tables.no_primary_key',
        'medium',
        `${f.tablesWithoutPk.count} table(s) without a primary key`,
        tables(f.tablesWithoutPk),
        'Add a primary key: logical replication cannot replicate UPDATE/DELETE without a replica identity, and duplicates go unnoticed',
      );
  }
  const extraSupers = f.superusers.filter((r) => r !== 'postgres');
  metric('superusers', f.superusers.length);
  if (extraSupers.length > 0)
    add(
      'db.roles.superuser',
      'medium',
      `${extraSupers.length} login role(s) with SUPERUSER besides postgres`,
      extraSupers.join(', '),
      'Give applications and people only the roles they need (ALTER ROLE ... NOSUPERUSER); pg_monitor suffices for monitoring',
    );
  if (f.currentUserSuper)
    add(
      'db.roles.monitor_superuser',
      'low',
      `the audit connects as superuser ${f.currentUser}`,
      `current_user ${f.currentUser} has rolsuper`,
      'Create a least-privilege role for auditing: CREATE ROLE audit LOGIN PASSWORD ...; GRANT pg_monitor TO audit',
    );
  if (f.rolesWithoutExpiry.length > 0)
    add(
      'db.roles.no_password_expiry',
      'low',
      `${f.rolesWithoutExpiry.length} login role(s) with a password that never expires`,
      f.rolesWithoutExpiry.slice(0, 20).join(', ') + (f.rolesWithoutExpiry.length > 20 ? ' ...' : ''),
      "Set VALID UNTIL for people's roles and rotate application passwords; or use certificate/peer authentication",
    );
  return { findings: findings.sort(worstFirst), metrics: m };
}
