/**
 * Real database servers started by tests: PostgreSQL (initdb into a temp dir, run as an
 * unprivileged user since PostgreSQL refuses root) and MariaDB (mariadb-install-db, then
 * mariadbd), each on a free loopback port and a socket in its temp dir, with `--no-defaults`
 * style isolation from any system-wide instance (Debian's packages start their own services on
 * the default ports and sockets; these never touch them). Debian packages `postgresql` and
 * `mariadb-server`, installed by .ci/run. Under CI=true a missing binary fails the suite
 * (requirePostgres / requireMariadb); elsewhere the caller may skip.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { freePort, hasBinary } from './peers.js';

type Settings = Record<string, string | number | boolean>;

export interface DbPeerOptions {
  /** Server settings: `-c key=value` for PostgreSQL, `--key=value` for mariadbd. */
  settings?: Settings;
  /** The admin user's password (default: a random one). */
  adminPassword?: string;
}

export interface DbPeer<C> {
  kind: 'postgres' | 'mysql';
  host: '127.0.0.1';
  port: number;
  /** PostgreSQL: the socket directory; MariaDB: the socket file. */
  socket: string;
  /** The temp dir holding data, socket and log (removed by stop()). */
  dir: string;
  adminUser: string;
  adminPassword: string;
  /** The server's log (PostgreSQL stderr, so log_min_duration_statement lines; MariaDB error log). */
  logFile: string;
  /** MariaDB: slow_query_log_file (written when settings enable slow_query_log); PostgreSQL: logFile. */
  slowLogFile: string;
  /** Runs one statement on a fresh admin connection over TCP and returns the rows. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** A dedicated admin connection (for sessions a test keeps open); the caller ends it. */
  connect(opts?: { user?: string; password?: string; database?: string }): Promise<C>;
  /** Stops the server, keeping its data (for outage tests); `start()` brings it back on the same port. */
  stopServer(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes the temp dir. */
  stop(): Promise<void>;
}

export type PgPeer = DbPeer<pg.Client>;
export type MariadbPeer = DbPeer<mysql.Connection>;

const PG_DIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];

/** initdb's directory: Debian's versioned path, else PATH. */
export function postgresBin(name: 'initdb' | 'postgres' | 'pg_ctl'): string | undefined {
  for (const d of PG_DIRS) if (existsSync(join(d, name))) return join(d, name);
  return hasBinary(name) ? name : undefined;
}

/** Fails under CI when the server is missing; returns whether it is there. */
export function requirePostgres(): boolean {
  const ok = postgresBin('initdb') !== undefined && postgresBin('postgres') !== undefined;
  if (!ok && process.env.CI === 'true')
    throw new Error('initdb/postgres not installed: apt-get install postgresql (.ci/run does)');
  return ok;
}

export function requireMariadb(): boolean {
  const ok = hasBinary('mariadbd') && (hasBinary('mariadb-install-db') || hasBinary('mysql_install_db'));
  if (!ok && process.env.CI === 'true')
    throw new Error('mariadbd not installed: apt-get install mariadb-server (.ci/run does)');
  return ok;
}

const randomPassword = () => `pw-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function idOf(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** The unprivileged account PostgreSQL runs as when the tests run as root. */
function pgRunAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ['postgres', 'nobody']) {
    try {
      return idOf(user);
    } catch {
      // try the next
    }
  }
  throw new Error('running as root and neither a postgres nor a nobody user exists');
}

function chownTree(path: string, id: { uid: number; gid: number } | undefined): void {
  if (id) execFileSync('chown', ['-R', `${id.uid}:${id.gid}`, path]);
}

async function stopChild(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals,
  ms = 15_000,
): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(timer);
}

async function waitUntil(
  what: string,
  probe: () => Promise<unknown>,
  child: () => ChildProcess | undefined,
  log: string,
  ms = 30_000,
): Promise<void> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    const c = child();
    if (c && (c.exitCode !== null || c.signalCode !== null))
      throw new Error(`${what} exited (${c.exitCode ?? c.signalCode}): ${tail(log)}`);
    try {
      await probe();
      return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(`${what} not ready after ${ms} ms: ${String(last)}; ${tail(log)}`);
    await sleep(100);
  }
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * PostgreSQL on 127.0.0.1:<free port>, socket dir in its temp dir; superuser `postgres` with a
 * password (scram-sha-256 over TCP, trust on the socket). Logs to stderr, redirected to
 * `logFile` (so `log_min_duration_statement=0` lines land there).
 */
export async function startPostgres(opts: DbPeerOptions = {}): Promise<PgPeer> {
  const initdb = postgresBin('initdb');
  const postgres = postgresBin('postgres');
  if (!initdb || !postgres) throw new Error('initdb/postgres not installed: apt-get install postgresql');
  const runAs = pgRunAs();
  const dir = mkdtempSync(join(tmpdir(), 'pg-peer-'));
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  mkdirSync(sock);
  const logFile = join(dir, 'postgres.log');
  const adminPassword = opts.adminPassword ?? randomPassword();
  const pwFile = join(dir, 'pw');
  writeFileSync(pwFile, `${adminPassword}\n`, { mode: 0o600 });
  chownTree(dir, runAs);
  execFileSync(
    initdb,
    [
      '-D',
      data,
      '-U',
      'postgres',
      `--pwfile=${pwFile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ],
    { stdio: 'pipe', ...(runAs ?? {}), cwd: dir },
  );
  rmSync(pwFile);
  const port = await freePort();
  const settings: Settings = {
    listen_addresses: '127.0.0.1',
    port,
    unix_socket_directories: sock,
    logging_collector: 'off',
    log_destination: 'stderr',
    fsync: 'off',
    full_page_writes: 'off',
    synchronous_commit: 'off',
    shared_buffers: '32MB',
    ...opts.settings,
  };
  let child: ChildProcess | undefined;
  const connInfo = (o: { user?: string; password?: string; database?: string } = {}) => ({
    host: '127.0.0.1',
    port,
    user: o.user ?? 'postgres',
    password: o.password ?? (o.user && o.user !== 'postgres' ? undefined : adminPassword),
    database: o.database ?? 'postgres',
    connectionTimeoutMillis: 5000,
  });
  const peer: PgPeer = {
    kind: 'postgres',
    host: '127.0.0.1',
    port,
    socket: sock,
    dir,
    adminUser: 'postgres',
    adminPassword,
    logFile,
    slowLogFile: logFile,
    async query<R>(sql: string, params?: unknown[]) {
      const c = new pg.Client(connInfo());
      await c.connect();
      try {
        return (await c.query(sql, params)).rows as R[];
      } finally {
        await c.end();
      }
    },
    async connect(o) {
      const c = new pg.Client(connInfo(o));
      c.on('error', () => undefined); // a test may terminate the backend on purpose
      await c.connect();
      return c;
    },
    async start() {
      const fd = openSync(logFile, 'a');
      const args = ['-D', data, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${String(v)}`])];
      child = spawn(postgres, args, { stdio: ['ignore', fd, fd], ...(runAs ?? {}), cwd: dir });
      closeSync(fd);
      await waitUntil(
        'postgres',
        () => peer.query('SELECT 1'),
        () => child,
        logFile,
      );
    },
    async stopServer() {
      await stopChild(child, 'SIGINT'); // fast shutdown
    },
    async stop() {
      await peer.stopServer();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await peer.start();
  } catch (err) {
    await peer.stop();
    throw err;
  }
  return peer;
}

/**
 * MariaDB on 127.0.0.1:<free port> and a socket in its temp dir, reading no option files
 * (`--no-defaults`); admin user `admin` (@localhost and @127.0.0.1, ALL WITH GRANT OPTION) with
 * a password. The anonymous users and the test database some versions create are removed, so a
 * test starts from a clean state. The error log is `logFile`.
 */
export async function startMariadb(opts: DbPeerOptions = {}): Promise<MariadbPeer> {
  const installDb = hasBinary('mariadb-install-db') ? 'mariadb-install-db' : 'mysql_install_db';
  const dir = mkdtempSync(join(tmpdir(), 'mariadb-peer-'));
  const data = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const logFile = join(dir, 'error.log');
  const adminPassword = opts.adminPassword ?? randomPassword();
  const user = process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'root');
  execFileSync(
    installDb,
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--user=${user}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
    ],
    { stdio: 'pipe', cwd: dir },
  );
  const port = await freePort();
  const slowLogFile = join(dir, 'slow.log');
  const settings: Settings = {
    slow_query_log_file: slowLogFile,
    'innodb-buffer-pool-size': '32M',
    'innodb-log-file-size': '16M',
    'innodb-flush-log-at-trx-commit': 0,
    'skip-log-bin': true,
    ...opts.settings,
  };
  let child: ChildProcess | undefined;
  let bootstrapped = false;
  const tcp = (o: { user?: string; password?: string; database?: string } = {}): mysql.ConnectionOptions => ({
    host: '127.0.0.1',
    port,
    user: o.user ?? 'admin',
    password: o.password ?? (o.user && o.user !== 'admin' ? undefined : adminPassword),
    ...(o.database ? { database: o.database } : {}),
    connectTimeout: 5000,
  });
  const peer: MariadbPeer = {
    kind: 'mysql',
    host: '127.0.0.1',
    port,
    socket,
    dir,
    adminUser: 'admin',
    adminPassword,
    logFile,
    slowLogFile,
    async query<R>(sql: string, params?: unknown[]) {
      const c = await mysql.createConnection(tcp());
      try {
        const [rows] = await c.query(sql, params);
        return (Array.isArray(rows) ? rows : []) as R[];
      } finally {
        await c.end();
      }
    },
    async connect(o) {
      const c = await mysql.createConnection(tcp(o));
      c.on('error', () => undefined); // a test may kill the connection on purpose
      return c;
    },
    async start() {
      const args = [
        '--no-defaults',
        `--datadir=${data}`,
        `--socket=${socket}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--user=${user}`,
        `--pid-file=${join(dir, 'mysqld.pid')}`,
        `--log-error=${logFile}`,
        ...Object.entries(settings).map(([k, v]) => (v === true ? `--${k}` : `--${k}=${String(v)}`)),
      ];
      child = spawn('mariadbd', args, { stdio: 'ignore', cwd: dir });
      if (!bootstrapped) {
        // root@localhost over the socket, no password yet (--auth-root-authentication-method=normal).
        await waitUntil(
          'mariadbd',
          async () =>
            (await mysql.createConnection({ socketPath: socket, user: 'root', connectTimeout: 2000 })).end(),
          () => child,
          logFile,
        );
        const root = await mysql.createConnection({
          socketPath: socket,
          user: 'root',
          multipleStatements: true,
        });
        try {
          const pw = root.escape(adminPassword);
          await root.query(
            [
              // anonymous users, and root on 127.0.0.1/::1/<hostname> without a password
              `DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost')`,
              'FLUSH PRIVILEGES',
              `CREATE USER 'admin'@'localhost' IDENTIFIED BY ${pw}`,
              `CREATE USER 'admin'@'127.0.0.1' IDENTIFIED BY ${pw}`,
              `GRANT ALL PRIVILEGES ON *.* TO 'admin'@'localhost' WITH GRANT OPTION`,
              `GRANT ALL PRIVILEGES ON *.* TO 'admin'@'127.0.0.1' WITH GRANT OPTION`,
              `ALTER USER 'root'@'localhost' IDENTIFIED BY ${pw}`,
              'DROP DATABASE IF EXISTS test',
            ].join(';'),
          );
        } finally {
          await root.end();
        }
        bootstrapped = true;
      }
      await waitUntil(
        'mariadbd',
        () => peer.query('SELECT 1'),
        () => child,
        logFile,
      );
    },
    async stopServer() {
      await stopChild(child, 'SIGTERM');
    },
    async stop() {
      await peer.stopServer();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await peer.start();
  } catch (err) {
    await peer.stop();
    throw err;
  }
  return peer;
}
