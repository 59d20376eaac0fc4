/** One logged statement execution, from either engine's slow log. Pure data, no I/O. */
export interface SlowQueryEntry {
  /** When it ran (ms since the epoch), or null when the log gave no usable time. */
  time: number | null;
  /** Seconds. */
  queryTime: number;
  /** Seconds waiting for locks (MySQL/MariaDB only). */
  lockTime: number | null;
  rowsSent: number | null;
  rowsExamined: number | null;
  rowsAffected: number | null;
  user: string | null;
  host: string | null;
  db: string | null;
  /** The statement as logged (capped; see `truncated`). */
  statement: string;
  /** The server itself reported a full table scan (MariaDB `# Full_scan: Yes`). */
  fullScan: boolean;
  /** The statement was longer than the cap, or a line of it was dropped. */
  truncated: boolean;
}

export type SlowLogFormat = 'mysql' | 'postgres';

/** A streaming parser: lines in, entries out through the callback given at construction. */
export interface SlowLogParser {
  line(text: string): void;
  /** A line longer than the reader's cap was dropped. */
  tooLong(): void;
  /** End of file: emits the pending entry. */
  end(): void;
  /** Lines that belonged to no entry, by reason. */
  readonly skipped: Record<string, number>;
}

/** Characters of a statement kept for fingerprinting; the rest is dropped (and `truncated`). */
export const MAX_STATEMENT_CHARS = 64 * 1024;
