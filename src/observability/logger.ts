import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * JSON-lines logger. In stdio mode stdout carries the protocol, so logs go to stderr (fd 2).
 * Nothing logs request headers or bodies; the redaction below is a safety net for objects
 * that might carry credentials into an error log.
 */
export function createLogger(
  level: string,
  stream: 'stdout' | 'stderr' | NodeJS.WritableStream = 'stdout',
): Logger {
  return pino(
    {
      level,
      base: { service: 'server-audit-mcp' },
      redact: {
        paths: ['headers.authorization', 'headers.cookie', 'password', 'token', 'secret'],
        censor: '[redacted]',
      },
    },
    typeof stream === 'object'
      ? stream
      : pino.destination({ fd: stream === 'stderr' ? 2 : 1, sync: stream === 'stderr' }),
  );
}
