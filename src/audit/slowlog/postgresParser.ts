/**
 * PostgreSQL server log (stderr / logging_collector text format) with log_min_duration_statement:
 *
 *   2026-11-20 10:00:01.123 UTC [4242] LOG:  duration: 1523.402 ms  statement: SELECT ...
 *   2026-11-20 10:00:01 UTC [4242]: [3-1] user=app,db=shop,app=psql,client=192.0.2.7 LOG:  duration: ...
 *   2026-11-20 10:00:01.123 UTC [4242] app@shop LOG:  duration: 2.1 ms  execute <unnamed>: SELECT ... $1
 *   <TAB>continuation lines of a multi-line statement
 *
 * The prefix is whatever log_line_prefix says; this reads the time (%m or %t) from its start and
 * user/database/client from `user=`/`db=`/`client=`/`host=` pairs or Debian's `%u@%d`.
 * `statement:` and `execute <name>:` lines count; `parse`/`bind` lines of the extended protocol
 * are the same execution's earlier phases and are skipped (counted), as are duration-only lines
 * (log_duration without a statement). Pure: no I/O.
 */
import { MAX_STATEMENT_CHARS, type SlowLogParser, type SlowQueryEntry } from './types.js';

const DURATION_RE =
  /^(.*?)\b[A-Z]+:\s+duration: (\d+(?:\.\d+)?) ms(?:\s+(statement|execute|bind|parse|fastpath function call|plan)(?: ([^:]*))?:\s?(.*))?$/;
const TIME_RE =
  /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)(?: ?([A-Za-z]{1,5}|[+-]\d\d(?::?\d\d)?)\b)?/;

/** Zone abbreviations PostgreSQL prints for common log_timezone settings, in minutes east of UTC. */
const ZONES: Record<string, number> = {
  UTC: 0,
  GMT: 0,
  Z: 0,
  WET: 0,
  WEST: 60,
  BST: 60,
  CET: 60,
  CEST: 120,
  EET: 120,
  EEST: 180,
  MSK: 180,
  IST: 330,
  CST: -360,
  CDT: -300,
  EST: -300,
  EDT: -240,
  MST: -420,
  MDT: -360,
  PST: -480,
  PDT: -420,
  JST: 540,
  KST: 540,
  AEST: 600,
  AEDT: 660,
};

/** The time at the start of a log line (%m or %t), or null. Unknown zone names are read as UTC. */
export function parsePostgresTime(prefix: string): number | null {
  const m = TIME_RE.exec(prefix);
  if (!m) return null;
  const [, date, time, zone] = m;
  let offset = 0;
  if (zone) {
    if (/^[+-]/.test(zone)) {
      const digits = zone.replace(':', '');
      const h = Number(digits.slice(1, 3));
      const mi = digits.length > 3 ? Number(digits.slice(3, 5)) : 0;
      offset = (zone.startsWith('-') ? -1 : 1) * (h * 60 + mi);
    } else offset = ZONES[zone.toUpperCase()] ?? 0;
  }
  const t = Date.parse(`${date}T${time}Z`);
  return Number.isNaN(t) ? null : t - offset * 60_000;
}

function prefixFields(prefix: string): { user: string | null; db: string | null; host: string | null } {
  let user = /\buser=([^,\s]+)/.exec(prefix)?.[1] ?? null;
  let db = /\bdb=([^,\s]+)/.exec(prefix)?.[1] ?? null;
  let host = /\b(?:client|host|remote)=([^,\s]+)/.exec(prefix)?.[1] ?? null;
  if (user === null && db === null) {
    // Debian's default '%m [%p] %q%u@%d '.
    const at = /\]:?\s+(?:\[\d+-\d+\]\s+)?([^\s@=,]+)@([^\s@=,]+)\s*$/.exec(prefix);
    if (at) {
      user = at[1] as string;
      db = at[2] as string;
    }
  }
  const clean = (v: string | null) => (v === null || v === '[unknown]' || v === '' ? null : v);
  if (host) host = host.replace(/\(\d+\)$/, '');
  return { user: clean(user), db: clean(db), host: clean(host) };
}

export class PostgresLogParser implements SlowLogParser {
  readonly skipped: Record<string, number> = {};
  private cur: SlowQueryEntry | null = null;

  constructor(private readonly emit: (e: SlowQueryEntry) => void) {}

  private skip(reason: string) {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  private flush() {
    const e = this.cur;
    this.cur = null;
    if (!e) return;
    if (e.statement.endsWith(';')) e.statement = e.statement.slice(0, -1);
    this.emit(e);
  }

  line(text: string): void {
    if (text.charCodeAt(0) === 9) {
      // A continuation of the previous message (statements keep their newlines, tab-indented).
      const e = this.cur;
      if (!e) return;
      const rest = text.slice(1);
      if (e.statement.length + rest.length + 1 > MAX_STATEMENT_CHARS) {
        e.truncated = true;
        return;
      }
      e.statement += `\n${rest}`;
      return;
    }
    this.flush();
    if (!text.includes('duration: ')) {
      if (text.trim() !== '') this.skip('other_message');
      return;
    }
    const m = DURATION_RE.exec(text);
    if (!m) {
      this.skip('other_message');
      return;
    }
    const [, prefix = '', ms, kind, , stmt] = m;
    if (kind === undefined) {
      this.skip('duration_only');
      return;
    }
    if (kind !== 'statement' && kind !== 'execute') {
      this.skip(kind === 'bind' || kind === 'parse' ? 'parse_bind' : 'other_message');
      return;
    }
    const fields = prefixFields(prefix);
    let statement = stmt ?? '';
    let truncated = false;
    if (statement.length > MAX_STATEMENT_CHARS) {
      statement = statement.slice(0, MAX_STATEMENT_CHARS);
      truncated = true;
    }
    this.cur = {
      time: parsePostgresTime(prefix),
      // Milliseconds with 3 decimals: whole microseconds, kept exact.
      queryTime: Math.round(Number(ms) * 1000) / 1_000_000,
      lockTime: null,
      rowsSent: null,
      rowsExamined: null,
      rowsAffected: null,
      user: fields.user,
      host: fields.host,
      db: fields.db,
      statement,
      fullScan: false,
      truncated,
    };
  }

  tooLong(): void {
    // A dropped line: if it continued the current statement, that statement is incomplete.
    if (this.cur) this.cur.truncated = true;
    this.skip('too_long');
  }

  end(): void {
    this.flush();
  }
}

/** Whether these lines look like a PostgreSQL log with duration lines. */
export function looksLikePostgresLog(lines: string[]): boolean {
  return lines.some((l) => DURATION_RE.test(l));
}

/** A weaker signal: PostgreSQL-style lines (time, [pid], a severity) without any duration yet. */
export function looksLikePostgresPrefix(lines: string[]): boolean {
  // `^time.*\[\d+\].*\bLEVEL:  ` in one expression is quadratic on a line of many `[1]`; the
  // first `[pid]` leaves the most room for the level after it, so three linear searches say the same.
  return lines.some((l) => {
    if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(l)) return false;
    const pid = /\[\d+\]/g;
    pid.lastIndex = 19;
    if (!pid.exec(l)) return false;
    const level = /\b(?:LOG|FATAL|ERROR|WARNING): {2}/g;
    level.lastIndex = pid.lastIndex;
    return level.test(l);
  });
}
