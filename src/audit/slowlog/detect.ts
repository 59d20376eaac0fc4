/** Which engine wrote a log, from its first lines; and a parser for it. Pure: no I/O. */
import { looksLikeMysqlSlowLog, MysqlSlowLogParser } from './mysqlParser.js';
import { looksLikePostgresLog, looksLikePostgresPrefix, PostgresLogParser } from './postgresParser.js';
import type { SlowLogFormat, SlowLogParser, SlowQueryEntry } from './types.js';

/**
 * The format of a log from its first lines: a MySQL header or banner, a PostgreSQL duration
 * line; failing both, PostgreSQL-style message lines (a log whose first statements are later).
 * `final` says no more lines will come; until then an undecided answer is null.
 */
export function detectSlowLogFormat(lines: string[], final: boolean): SlowLogFormat | null {
  if (looksLikeMysqlSlowLog(lines)) return 'mysql';
  if (looksLikePostgresLog(lines)) return 'postgres';
  if (final && looksLikePostgresPrefix(lines)) return 'postgres';
  return null;
}

export function createSlowLogParser(format: SlowLogFormat, emit: (e: SlowQueryEntry) => void): SlowLogParser {
  return format === 'mysql' ? new MysqlSlowLogParser(emit) : new PostgresLogParser(emit);
}
