/**
 * MySQL / MariaDB / Percona Server slow query log, line by line:
 *
 *   # Time: 2026-11-20T10:00:01.123456Z            (MySQL 5.7+; MariaDB: `# Time: 261120 10:00:01`)
 *   # User@Host: app[app] @ web1 [192.0.2.7]  Id: 42
 *   # Thread_id: 42  Schema: shop  QC_hit: No      (MariaDB; Percona: `# Schema: shop  Last_errno: 0`)
 *   # Query_time: 1.5  Lock_time: 0.01  Rows_sent: 1  Rows_examined: 100000
 *   # Rows_affected: 0  Bytes_sent: 56             (MariaDB)
 *   # Full_scan: Yes  Full_join: No ...            (MariaDB log_slow_verbosity=query_plan)
 *   use shop;
 *   SET timestamp=1795600801;
 *   SELECT ...                                     (possibly many lines, until the next `# ` header)
 *
 * A logged statement may itself contain lines starting with `# ` (a multi-line string, a `#`
 * comment): once an entry's statement has begun (or its `SET timestamp=` was seen), only a
 * `# Key:` line with a key servers write (HEADER_KEY_RE) starts the next entry; others are
 * statement text. Header lines over MAX_HEADER_CHARS are never parsed as headers, and every
 * regular expression here is linear in the line's length: lines may be 1 MiB and parsing is
 * synchronous.
 *
 * plus the banner a server writes when it opens the log (`mariadbd, Version: ... started with:`,
 * `Tcp port: ...`, `Time  Id Command  Argument`). Pure: no I/O.
 */
import { MAX_STATEMENT_CHARS, type SlowLogParser, type SlowQueryEntry } from './types.js';

// The lookbehind keeps a match from starting inside a run of letters (quadratic without it).
const FIELD_RE = /(?<![A-Za-z_])([A-Za-z_]+):\s+(\S*)/g;
/** `user[priv_user] @ host [ip]`: no part can match a `[` it must stop at, so it is linear. */
const USER_HOST_RE = /^# User@Host:\s*([^[\s]*)\[[^\]]*\]\s*@\s*([^\s[]*)\s*\[([^\]]*)\]/;
/** Real header lines are a few hundred characters; a longer `# ` line is not parsed as one. */
const MAX_HEADER_CHARS = 4096;
/** Keys of the header lines MySQL, MariaDB and Percona Server write (the first one on a line). */
const HEADER_KEY_RE =
  /^# (?:Time|User@Host|Query_time|Lock_time|Rows_sent|Rows_examined|Thread_id|Schema|QC_hit|QC_Hit|Rows_affected|Bytes_sent|Full_scan|Full_join|Tmp_table|Tmp_tables|Filesort|Merge_passes|Pages_accessed|Log_slow_rate_type|InnoDB_trx_id|Stored_routine|Last_errno|Killed|explain):\s/;
const BANNER_RE =
  /^(?:\S.*, Version: .*started with:|Tcp port: \d+ {2}Unix socket: |Time\s+Id\s+Command\s+Argument)/;
const QUERY_TIME_RE = /^# Query_time: (\S+)\s+Lock_time: (\S+)\s+Rows_sent: (\S+)\s+Rows_examined: (\S+)/;

/** A banner line (cheap tests first: this runs on every statement line). */
function isBanner(text: string): boolean {
  return (
    (text.endsWith('started with:') || text.startsWith('Tcp port: ') || text.startsWith('Time')) &&
    BANNER_RE.test(text)
  );
}
const SHORT_TIME_RE = /^(\d{2})(\d{2})(\d{2})\s+(\d{1,2}):(\d{2}):(\d{2})(\.\d+)?$/;

/** `# Time:` values: ISO (MySQL 5.7+, UTC unless an offset is given) or YYMMDD H:MM:SS (taken as UTC). */
export function parseMysqlTime(v: string): number | null {
  const s = v.trim();
  const short = SHORT_TIME_RE.exec(s);
  if (short) {
    const [, yy, mo, dd, hh, mi, ss, frac] = short;
    const t = Date.UTC(
      2000 + Number(yy),
      Number(mo) - 1,
      Number(dd),
      Number(hh),
      Number(mi),
      Number(ss),
      frac ? Math.round(Number(frac) * 1000) : 0,
    );
    return Number.isNaN(t) ? null : t;
  }
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(s)) {
    const t = Date.parse(/(?:Z|[+-]\d\d:?\d\d)$/.test(s) ? s : `${s}Z`);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

interface Pending {
  queryTime: number | null;
  lockTime: number | null;
  rowsSent: number | null;
  rowsExamined: number | null;
  rowsAffected: number | null;
  user: string | null;
  host: string | null;
  db: string | null;
  timestamp: number | null;
  fullScan: boolean;
  statement: string;
  lines: number;
  truncated: boolean;
}

const num = (v: string): number | null => {
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

export class MysqlSlowLogParser implements SlowLogParser {
  readonly skipped: Record<string, number> = {};
  private cur: Pending | null = null;
  /** The last `# Time:`: MariaDB writes it only when the second changes. */
  private lastTime: number | null = null;
  /** MySQL writes `use db;` only when the database changes: it carries over per connection, but we keep the last one seen. */
  private lastDb: string | null = null;

  constructor(private readonly emit: (e: SlowQueryEntry) => void) {}

  private skip(reason: string, n = 1) {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + n;
  }

  private fresh(): Pending {
    return {
      queryTime: null,
      lockTime: null,
      rowsSent: null,
      rowsExamined: null,
      rowsAffected: null,
      user: null,
      host: null,
      db: null,
      timestamp: null,
      fullScan: false,
      statement: '',
      lines: 0,
      truncated: false,
    };
  }

  /** Emits the pending entry if it is complete; otherwise counts its lines as skipped. */
  private flush() {
    const p = this.cur;
    this.cur = null;
    if (!p) return;
    if (p.queryTime === null || p.lines === 0) {
      this.skip(p.queryTime === null ? 'no_header' : 'no_statement');
      return;
    }
    let statement = p.statement;
    if (statement.endsWith(';')) statement = statement.slice(0, -1);
    this.emit({
      time: p.timestamp ?? this.lastTime,
      queryTime: p.queryTime,
      lockTime: p.lockTime,
      rowsSent: p.rowsSent,
      rowsExamined: p.rowsExamined,
      rowsAffected: p.rowsAffected,
      user: p.user,
      host: p.host,
      db: p.db ?? this.lastDb,
      statement,
      fullScan: p.fullScan,
      truncated: p.truncated,
    });
  }

  line(text: string): void {
    if (text.startsWith('#') && this.headerLine(text)) return;
    if (isBanner(text)) {
      this.flush();
      this.skip('banner');
      return;
    }
    const p = this.cur;
    if (!p) {
      if (text.trim() !== '') this.skip('unparsable');
      return;
    }
    if (p.lines === 0) {
      // Session lines between the headers and the statement.
      const setTs = /^SET timestamp=(\d+)(?:\.\d+)?;$/i.exec(text);
      if (setTs) {
        p.timestamp = Number(setTs[1]) * 1000;
        return;
      }
      const use = /^use (`[^`]+`|\S+);$/i.exec(text);
      if (use) {
        const db = (use[1] as string).replace(/^`|`$/g, '');
        p.db = db;
        this.lastDb = db;
        return;
      }
      if (text.trim() === '') return;
    }
    p.lines++;
    if (p.statement.length + text.length + 1 > MAX_STATEMENT_CHARS) {
      p.truncated = true;
      const room = MAX_STATEMENT_CHARS - p.statement.length - 1;
      if (room > 0) p.statement += (p.statement ? '\n' : '') + text.slice(0, room);
      return;
    }
    p.statement = p.statement ? `${p.statement}\n${text}` : text;
  }

  /** Handles a line starting with `#` if it is a header (or header noise); false: it is statement text. */
  private headerLine(text: string): boolean {
    const p = this.cur;
    // Past the headers: the statement (or the `SET timestamp=` just before it) has begun.
    const inStatement = p !== null && (p.lines > 0 || p.timestamp !== null);
    if (!inStatement && /^#\s*$/.test(text)) return true; // MariaDB's `#` around `# explain:` lines
    if (!text.startsWith('# ') || text.startsWith('# administrator command:')) return false;
    if (text.length > MAX_HEADER_CHARS) {
      if (inStatement) return false;
      this.skip('long_header');
      return true;
    }
    if (inStatement && !HEADER_KEY_RE.test(text)) return false;
    // A header after statement lines starts the next entry.
    // So does an entry's first header when the pending one has its times but no statement.
    if (
      p &&
      (inStatement ||
        (p.queryTime !== null && (text.startsWith('# Time:') || text.startsWith('# User@Host:'))))
    )
      this.flush();
    if (!this.cur) this.cur = this.fresh();
    this.header(text, this.cur);
    return true;
  }

  private header(text: string, p: Pending) {
    if (text.startsWith('# Time:')) {
      const t = parseMysqlTime(text.slice(7));
      if (t !== null) this.lastTime = t;
      return;
    }
    if (text.startsWith('# User@Host:')) {
      // `user[priv_user] @ host [ip]  Id: 42`
      const m = USER_HOST_RE.exec(text);
      if (m) {
        p.user = m[1] || null;
        p.host = m[2] || m[3] || null;
      }
      return;
    }
    // The line every entry has, in the order every server writes it.
    const qt = text.startsWith('# Query_time: ') ? QUERY_TIME_RE.exec(text) : null;
    if (qt) {
      p.queryTime = num(qt[1] as string);
      p.lockTime = num(qt[2] as string);
      p.rowsSent = num(qt[3] as string);
      p.rowsExamined = num(qt[4] as string);
      // MySQL 8's log_slow_extra fields follow on the same line; nothing else we need there.
      return;
    }
    FIELD_RE.lastIndex = 0;
    for (let m = FIELD_RE.exec(text); m; m = FIELD_RE.exec(text)) {
      const v = m[2] as string;
      switch (m[1]) {
        case 'Query_time':
          p.queryTime = num(v);
          break;
        case 'Lock_time':
          p.lockTime = num(v);
          break;
        case 'Rows_sent':
          p.rowsSent = num(v);
          break;
        case 'Rows_examined':
          p.rowsExamined = num(v);
          break;
        case 'Rows_affected':
          p.rowsAffected = num(v);
          break;
        case 'Schema':
          if (v) {
            p.db = v;
            this.lastDb = v;
          }
          break;
        case 'Full_scan':
          p.fullScan = v === 'Yes';
          break;
        default:
      }
    }
  }

  tooLong(): void {
    // A statement line past the reader's cap: the entry is kept, marked truncated.
    if (this.cur) {
      this.cur.truncated = true;
      if (this.cur.queryTime !== null) this.cur.lines++;
    }
    this.skip('too_long');
  }

  end(): void {
    this.flush();
  }
}

/** Whether these first lines look like a MySQL/MariaDB slow log. */
export function looksLikeMysqlSlowLog(lines: string[]): boolean {
  return lines.some((l) => /^# (?:Query_time|User@Host|Time): /.test(l) || isBanner(l));
}
