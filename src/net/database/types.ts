/** What the drivers read from a database, already stripped of data: query texts are masked. */

export interface RunningQuery {
  /** Connection id (MySQL) or backend pid (PostgreSQL). */
  id: number;
  user: string | null;
  database: string | null;
  /** Seconds since the statement (or, for idle-in-transaction, the transaction's last statement) started. */
  seconds: number;
  state: string | null;
  /** Masked and truncated (audit/database/maskSql.ts); null when the server showed none. */
  query: string | null;
}

export interface TableSample {
  count: number;
  /** `schema.table`, at most 20. */
  sample: string[];
}

export interface MysqlFacts {
  kind: 'mysql';
  version: string;
  flavor: 'mariadb' | 'mysql';
  uptimeSeconds: number;
  readOnlySession: boolean;
  currentUser: string;
  /** Global variables we judge, lower-cased names. */
  variables: Record<string, string>;
  /** Global status counters we judge, lower-cased names. */
  status: Record<string, string>;
  /** Statements running longer than the asked threshold, longest first. */
  longQueries: RunningQuery[];
  /** Null when this is no replica. */
  replica: {
    ioRunning: string;
    sqlRunning: string;
    secondsBehind: number | null;
    lastError: string | null;
  } | null;
  tablesWithoutPk: TableSample | null;
  myisamTables: TableSample | null;
  /** Accounts (no hashes): null when mysql.user could not be read. */
  users: Array<{ user: string; host: string; blankPassword: boolean; allPrivileges: boolean }> | null;
  /** What could not be read, with how to fix it. */
  notes: string[];
}

export interface PostgresFacts {
  kind: 'postgres';
  version: string;
  versionNum: number;
  uptimeSeconds: number;
  readOnlySession: boolean;
  currentUser: string;
  currentUserSuper: boolean;
  inRecovery: boolean;
  maxConnections: number;
  reservedConnections: number;
  /** Client backends by state (active, idle, idle in transaction, ...). */
  connectionsByState: Record<string, number>;
  idleInTransaction: RunningQuery[];
  /** Age of the oldest open transaction of any client backend, seconds (0 when none). */
  oldestXactSeconds: number;
  longQueries: RunningQuery[];
  blocked: Array<RunningQuery & { blockedBy: number[] }>;
  cache: { hit: number; read: number };
  slots: Array<{ name: string; type: string; active: boolean; retainedBytes: number | null }>;
  /** Standbys streaming from this server. */
  standbys: Array<{ name: string; state: string; replayLagSeconds: number | null }>;
  /** On a standby: seconds since the last replayed transaction. */
  replayLagSeconds: number | null;
  /** The database with the oldest frozen xid. */
  wraparound: { database: string; age: number } | null;
  deadTuples: Array<{ table: string; live: number; dead: number; lastAutovacuum: string | null }>;
  tablesWithoutPk: TableSample | null;
  /** pg_stat_statements top by total time; null when the extension is absent in this database. */
  statements: Array<{ query: string; calls: number; totalMs: number; meanMs: number; rows: number }> | null;
  superusers: string[];
  /** Roles that can log in with a password and no VALID UNTIL. */
  rolesWithoutExpiry: string[];
  logMinDurationMs: number;
  notes: string[];
}

export type DatabaseFacts = MysqlFacts | PostgresFacts;

export interface CollectOptions {
  longQuerySeconds: number;
  idleInTransactionSeconds: number;
  /** Per-statement timeout on the server side. */
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  signal: AbortSignal;
}
