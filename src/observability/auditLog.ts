/**
 * The audit trail: one record per tool call, to its own pino destination so it can be shipped
 * and kept apart from the operational log. AUDIT_LOG_FILE, else the process's log stream with
 * `log: "audit"` on every record. Always written, whatever LOG_LEVEL says. File writes are
 * synchronous: a record must not be lost to a crash right after the call.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import { logDestination } from './logSink.js';

export interface AuditRecord {
  principal: string;
  session?: string;
  tool: string;
  /** The registry host the call named (issue 19: forwarded to that host's agent). */
  host?: string;
  /** The redacted argument digest (argDigest.ts). */
  args: unknown;
  /** ok, error (the tool reported a failure), invalid (bad arguments), denied (scope), cancelled, abandoned. */
  outcome: 'ok' | 'error' | 'invalid' | 'denied' | 'cancelled' | 'abandoned';
  durationMs: number;
  /** The scope that was missing, for denied calls. */
  missingScope?: string;
  /** The task id, for a call that ran as a task (recorded when it settles). */
  task?: string;
}

export type AuditLog = (record: AuditRecord) => void;

export function createAuditLog(
  file: string | undefined,
  fallback: 'stdout' | 'stderr' | NodeJS.WritableStream,
): AuditLog {
  let destination: NodeJS.WritableStream | ReturnType<typeof pino.destination>;
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    destination = pino.destination({ dest: file, sync: true, append: true });
  } else if (typeof fallback === 'object') destination = fallback;
  // The same destination as the operational log: records never interleave mid-line.
  else destination = fallback === 'stderr' ? logDestination(2, true) : logDestination(1, false);
  const log = pino({ level: 'info', base: { service: 'server-audit-mcp', log: 'audit' } }, destination);
  return (record) => log.info(record, 'tool call');
}
