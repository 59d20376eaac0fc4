import { isatty } from 'node:tty';
import { type Logger, pino } from 'pino';
import { logDestination } from './logSink.js';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

/**
 * JSON-lines logger. In stdio mode stdout carries the protocol, so logs go to stderr (fd 2).
 * Nothing logs request headers or bodies; the redaction below is a safety net for objects
 * that might carry credentials into an error log.
 *
 * `pretty` (LOG_FORMAT, or by default when the log fd is a terminal) turns each JSON record
 * into one readable line; services and log shippers keep JSON.
 */
export function createLogger(
  level: string,
  stream: 'stdout' | 'stderr' | NodeJS.WritableStream = 'stdout',
  format?: LogFormat,
): Logger {
  const fd = stream === 'stderr' ? 2 : 1;
  const destination = typeof stream === 'object' ? stream : logDestination(fd, stream === 'stderr');
  const pretty = format === 'pretty' || (format === undefined && typeof stream === 'string' && isatty(fd));
  return pino(
    {
      level,
      base: { service: 'server-audit-mcp' },
      redact: {
        paths: ['headers.authorization', 'headers.cookie', 'password', 'token', 'secret'],
        censor: '[redacted]',
      },
    },
    // pino writes each serialised record to any object with write(): reformat it on the way.
    pretty ? { write: (line: string) => void destination.write(prettyLine(line)) } : destination,
  );
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};
/** Fields every record has, or that the line shows in its own place. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service']);

/** `12:04:05.123 INFO  listening url=http://127.0.0.1:3000/mcp port=3000`, one line per record. */
export function prettyLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 23) : '';
  const level = LEVEL_NAMES[rec.level as number] ?? String(rec.level);
  const fields = Object.entries(rec)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${showValue(k, v)}`);
  const msg = typeof rec.msg === 'string' ? rec.msg : '';
  return `${[time, level, msg, ...fields].filter(Boolean).join(' ')}\n`;
}

function showValue(key: string, v: unknown): string {
  // An error's message is what a person reads; the stack stays in JSON logs.
  if (key === 'err' && v && typeof v === 'object' && 'message' in v) v = (v as { message: unknown }).message;
  if (typeof v === 'string') return /^[\w./:@+-]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}
