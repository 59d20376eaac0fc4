import { z } from 'zod';
import {
  MAX_CLASSES,
  ORDER_BY,
  QUERY_FLAGS,
  SlowQueryAggregator,
  THRESHOLDS,
} from '../audit/slowlog/aggregator.js';
import { createSlowLogParser, detectSlowLogFormat } from '../audit/slowlog/detect.js';
import type { SlowLogFormat, SlowLogParser } from '../audit/slowlog/types.js';
import { LogPathError, resolveLogFiles, streamLines } from '../host/logFiles.js';
import { checkLogWindow, LogReadBudget, logWindowInput } from './logWindow.js';
import { defineTool, ToolError } from './types.js';
import { boundedString, orNull, severitySchema } from './schemas.js';

/** A statement line may be long (a bulk INSERT); past this it is dropped and the entry marked truncated. */
const MAX_LINE_BYTES = 1024 * 1024;
/** Lines (and bytes) looked at to recognise a file's format when `format` is auto. */
const DETECT_LINES = 500;
const DETECT_BYTES = 4 * 1024 * 1024;

const valueCounts = z.array(z.object({ name: z.string(), count: z.number() }));
const flags = z.enum(QUERY_FLAGS);

export const analyzeSlowQueriesOutput = {
  summary: z.object({
    files: z.array(z.object({ path: z.string(), bytes: z.number(), format: orNull(z.string()) })),
    lines: z.number().describe('Lines read'),
    entries: z.number().describe('Statement executions analysed (after since/until)'),
    skipped: z
      .record(z.string(), z.number())
      .describe(
        'Lines or entries not counted, by reason: banner, unparsable, no_header, no_statement, too_long, other_message, parse_bind, duration_only, before_since, after_until, undated',
      ),
    timeRange: z.object({ from: z.string(), to: z.string() }).nullable(),
    totalTime: z.number().describe('Seconds of query time in all analysed entries'),
    distinctFingerprints: z.number(),
    other: z
      .object({ count: z.number(), totalTime: z.number() })
      .nullable()
      .describe(`Executions of fingerprints beyond the first ${MAX_CLASSES} distinct ones (not analysed)`),
    flagged: z.record(flags, z.number()).describe('Fingerprints per flag'),
    peakMinute: z
      .object({ minute: z.string(), count: z.number() })
      .nullable()
      .describe('The busiest minute of all logged statements'),
    notes: z.array(z.string()),
  }),
  queries: z
    .array(
      z.object({
        id: z.string().describe('pt-query-digest style checksum of the fingerprint (16 hex)'),
        fingerprint: z.string().describe('The statement with literals as ?, lists collapsed, lower case'),
        engine: z.enum(['mysql', 'postgres']),
        count: z.number(),
        countPercent: z.number(),
        totalTime: z.number().describe('Seconds'),
        timePercent: z.number().describe('Share of all logged query time'),
        avgTime: z.number(),
        p95Time: z.number().describe('Exact up to 256 executions, from a uniform sample past that'),
        maxTime: z.number(),
        minTime: z.number(),
        lockTime: orNull(z.number()).describe('Total seconds waiting for locks (MySQL/MariaDB)'),
        rowsExaminedAvg: orNull(z.number()).describe('MySQL/MariaDB only; null for PostgreSQL'),
        rowsSentAvg: orNull(z.number()),
        rowsAffectedAvg: orNull(z.number()),
        examinedPerReturned: orNull(z.number()).describe('Rows examined per row sent or changed'),
        firstSeen: orNull(z.string()),
        lastSeen: orNull(z.string()),
        peakPerMinute: z.number(),
        peakMinute: orNull(z.string()),
        users: valueCounts.describe('Top 5 of at most 10 tracked'),
        hosts: valueCounts,
        databases: valueCounts,
        example: z.string().describe('The slowest execution with every literal masked as ?'),
        exampleTime: z.number(),
        flags: z.array(flags),
        indexCandidates: z.array(z.string()).describe('Columns filtered on, for missing_index'),
      }),
    )
    .describe('Top fingerprints by `orderBy`'),
  findings: z.array(
    z.object({
      id: z.string(),
      severity: severitySchema,
      title: z.string(),
      evidence: z.string(),
      recommendation: z.string(),
    }),
  ),
  timeline: z
    .array(z.object({ hour: z.string(), count: z.number(), totalTime: z.number() }))
    .describe('Executions and query time per hour, last 168 hours'),
  truncated: z.boolean().describe('True when queries were cut to `top` or findings to 50'),
  partial: z
    .boolean()
    .describe('True when reading stopped early (maxLines, maxBytes, deadline) or fingerprints overflowed'),
  stoppedBecause: orNull(z.string()),
  bytesRead: z.number(),
  durationMs: z.number(),
};

export const analyzeSlowQueriesTool = defineTool({
  name: 'analyze_slow_queries',
  title: 'Analyze slow query logs',
  description:
    'Why is the database slow? Streams MySQL/MariaDB slow logs or PostgreSQL duration logs under ' +
    'AUDIT_ALLOWED_PATHS, groups statements by fingerprint like pt-query-digest, and ranks them by ' +
    'time with counts, percentiles, rows examined vs sent and a masked example; flags full scans, ' +
    'likely missing indexes, bursts and lock waits.',
  details:
    'Why is the database slow? Streams MySQL/MariaDB/Percona slow query logs and PostgreSQL logs with ' +
    '`log_min_duration_statement` lines (`paths`: files or globs in the file name under ' +
    '`AUDIT_ALLOWED_PATHS`; `.gz` and rotated sets oldest first; `format` `auto` (per file), `mysql` ' +
    "or `postgres`; PostgreSQL prefixes `%m [%p]`, `%t [%p]: [%l-1] user=%u,db=%d` and Debian's " +
    '`%u@%d`). Groups statements by fingerprint the way pt-query-digest does: comments stripped, ' +
    "literals as `?`, `in(?+)`/`values(?+)`, multi-row INSERTs, lower case; the id is pt's checksum. " +
    'Per fingerprint: count, total/avg/p95/max/min time, lock time, rows examined vs sent or changed, ' +
    'first/last seen, peak per minute, top users/hosts/databases, and the slowest execution with ' +
    'literals masked. Flags `full_scan` (over ' +
    `${THRESHOLDS.fullScanMinRowsExamined} rows examined and ${THRESHOLDS.fullScanMinRatio}x the rows returned, or ` +
    "MariaDB's `Full_scan: Yes`), `missing_index` (a full scan with WHERE/JOIN, naming candidate " +
    'columns), `burst`, `slow` (p95 >= 1 s or max >= 10 s), `lock_wait` and `dominant` (>= 50% of ' +
    'logged time), each as findings with a recommendation. `since`/`until`, `top` (20), `orderBy` ' +
    '(totalTime, count, maxTime, avgTime, rowsExamined), `maxLines`, `maxBytes`. Streams in bounded ' +
    'memory (10,000 fingerprints, then an "other" bucket and `partial`), reports progress, honours ' +
    'cancellation and stops at `TOOL_DEADLINE_SECONDS` with `partial: true`. PostgreSQL logs carry no ' +
    'row counts, so the full-scan and lock flags apply to MySQL/MariaDB. Reads about 50 MB/s on one ' +
    'core.',
  inputSchema: {
    paths: z
      .array(boundedString(1, 4096))
      .min(1)
      .max(50)
      .describe('Log files or file-name globs, e.g. ["/var/log/mysql/mariadb-slow.log*"]'),
    format: z.enum(['auto', 'mysql', 'postgres']).default('auto'),
    ...logWindowInput('statements', 200_000_000),
    top: z.number().int().min(1).max(200).default(20).describe('Fingerprints to list'),
    orderBy: z.enum(ORDER_BY).default('totalTime'),
  },
  outputSchema: analyzeSlowQueriesOutput,
  scope: 'audit:logs',
  annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true, destructiveHint: false },
  async handler(args, ctx) {
    const started = performance.now();
    checkLogWindow(args);
    let files;
    try {
      files = await resolveLogFiles(ctx.host.root, ctx.config.AUDIT_ALLOWED_PATHS, args.paths);
    } catch (err) {
      if (err instanceof LogPathError) throw new ToolError(err.message);
      throw err;
    }
    const agg = new SlowQueryAggregator({
      since: args.since ? Date.parse(args.since) : undefined,
      until: args.until ? Date.parse(args.until) : undefined,
    });
    const budget = new LogReadBudget(
      args,
      ctx,
      files.reduce((s, f) => s + f.size, 0),
    );
    let lines = 0;
    const summaryFiles: Array<{ path: string; bytes: number; format: string | null }> = [];
    const parserSkips: Array<Record<string, number>> = [];
    const formats = new Set<SlowLogFormat>();

    for (const file of files) {
      if (budget.stoppedBecause) break;
      const fileInfo = {
        path: file.hostPath,
        bytes: file.size,
        format: args.format === 'auto' ? null : (args.format as string | null),
      };
      summaryFiles.push(fileInfo);
      let parser: SlowLogParser | null = null;
      const start = (format: SlowLogFormat) => {
        fileInfo.format = format;
        formats.add(format);
        const p = createSlowLogParser(format, (e) => agg.add(e, format));
        parserSkips.push(p.skipped);
        return p;
      };
      if (args.format !== 'auto') parser = start(args.format);
      // Auto: lines are held (null = a too-long line) until the format is recognised.
      let pending: Array<string | null> | null = parser ? null : [];
      let pendingBytes = 0;
      const detect = (final: boolean) => {
        const sample = (pending ?? []).filter((l): l is string => l !== null);
        const found = detectSlowLogFormat(sample, final);
        if (!found) {
          if (!final) return;
          throw new ToolError(
            `${file.hostPath}: not recognised as a MySQL/MariaDB slow log or a PostgreSQL log with duration lines; pass format (mysql or postgres), or check that slow_query_log / log_min_duration_statement is on`,
          );
        }
        const p = start(found);
        parser = p;
        const buffered = pending ?? [];
        pending = null;
        for (const l of buffered) {
          if (l === null) p.tooLong();
          else p.line(l);
        }
      };
      await streamLines(
        file,
        {
          line(text) {
            // The reader stops at its next chunk; lines already read past a stop are not used.
            if (budget.stoppedBecause) return;
            lines++;
            if (pending) {
              pending.push(text);
              pendingBytes += text.length;
              detect(pending.length >= DETECT_LINES || pendingBytes >= DETECT_BYTES);
            } else (parser as SlowLogParser).line(text);
            budget.countedLines(lines);
          },
          tooLong() {
            if (budget.stoppedBecause) return;
            lines++;
            if (pending) pending.push(null);
            else (parser as SlowLogParser).tooLong();
          },
          bytes(n) {
            budget.bytes(n, () => `${file.hostPath}: ${lines} lines, ${agg.distinct} fingerprints`);
          },
        },
        {
          maxLineBytes: MAX_LINE_BYTES,
          signal: ctx.signal,
          shouldStop: () => budget.stoppedBecause !== null,
        },
      ).catch((err: unknown) => {
        if (err instanceof LogPathError) throw new ToolError(err.message);
        throw err;
      });
      if (ctx.signal.aborted) throw new ToolError('Cancelled by the client');
      // A short file: decide from what there is (an empty file has nothing to parse).
      if (pending && (pending as Array<string | null>).length > 0) detect(true);
      (parser as SlowLogParser | null)?.end();
    }

    const skipped: Record<string, number> = { ...agg.skipped };
    for (const s of parserSkips) for (const [k, v] of Object.entries(s)) skipped[k] = (skipped[k] ?? 0) + v;
    const report = agg.finish(args.top, args.orderBy);
    const stoppedBecause =
      budget.stoppedBecause ??
      (agg.capReached
        ? `more than ${MAX_CLASSES} distinct fingerprints: executions of new ones after that were counted in "other", not analysed (narrow with since/until)`
        : null);
    const notes: string[] = [];
    if (formats.has('postgres'))
      notes.push(
        'PostgreSQL logs carry no rows examined/sent or lock time: full-scan and lock flags apply to MySQL/MariaDB entries only (use check_database / pg_stat_statements for PostgreSQL plans)',
      );
    if ((skipped.parse_bind ?? 0) > 0)
      notes.push('parse/bind lines of the extended protocol are phases of an execution and are not counted');
    if ((skipped.too_long ?? 0) > 0)
      notes.push(
        `lines over ${MAX_LINE_BYTES} bytes were dropped; their statements are fingerprinted from what was read`,
      );
    const structured = {
      summary: {
        files: summaryFiles,
        lines,
        entries: report.entries,
        skipped,
        timeRange: report.timeRange,
        totalTime: report.totalTime,
        distinctFingerprints: report.distinctFingerprints,
        other: report.other,
        flagged: report.flagged,
        peakMinute: report.peakMinute,
        notes,
      },
      queries: report.queries,
      findings: report.findings,
      timeline: report.timeline,
      truncated: report.truncated || report.findingsTruncated,
      partial: stoppedBecause !== null,
      stoppedBecause,
      bytesRead: budget.bytesRead,
      durationMs: Math.round(performance.now() - started),
    };
    await ctx.progress(budget.totalBytes, budget.totalBytes, 'done').catch(() => undefined);
    return { structured, summary: summarize(structured) };
  },
});

function summarize(s: {
  summary: { entries: number; totalTime: number; distinctFingerprints: number; lines: number };
  queries: Array<{
    id: string;
    fingerprint: string;
    count: number;
    totalTime: number;
    timePercent: number;
    flags: string[];
  }>;
  findings: Array<{ severity: string; title: string }>;
  partial: boolean;
  stoppedBecause: string | null;
}): string {
  const sev = (x: string) => s.findings.filter((f) => f.severity === x).length;
  const out = [
    `${s.summary.entries} statements, ${s.summary.totalTime.toFixed(3)} s of query time, ${s.summary.distinctFingerprints} distinct fingerprints (${s.summary.lines} lines read).`,
    `Findings: ${sev('critical')} critical, ${sev('high')} high, ${sev('medium')} medium, ${sev('low')} low.`,
  ];
  for (const q of s.queries.slice(0, 5)) {
    const fp = q.fingerprint.length > 100 ? `${q.fingerprint.slice(0, 100)}…` : q.fingerprint;
    out.push(
      `- ${q.id} ${q.timePercent}% of time, ${q.count}x, ${q.totalTime.toFixed(3)} s${q.flags.length ? ` [${q.flags.join(', ')}]` : ''}: ${fp}`,
    );
  }
  for (const f of s.findings.filter((x) => x.severity === 'critical' || x.severity === 'high').slice(0, 3))
    out.push(`! [${f.severity}] ${f.title.slice(0, 140)}`);
  if (s.partial) out.push(`PARTIAL: ${s.stoppedBecause}; narrow with since/until or fewer paths.`);
  return out.join('\n');
}
