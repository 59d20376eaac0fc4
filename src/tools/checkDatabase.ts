import { BaselineQuotaError, saverOf } from '../baselines/retention.js';
import { z } from 'zod';
import { analyzeMysql, analyzePostgres } from '../audit/database/analyze.js';
import { type Finding, SEVERITIES } from '../audit/findings.js';
import { scoreFindings } from '../audit/health/score.js';
import type { DbTarget } from '../dbTargetsFile.js';
import { hostIdentity } from '../health/runHealthCheck.js';
import { collectDatabase, DatabaseError, type DatabaseFacts } from '../net/database/index.js';
import { BreakerOpenError } from '../resilience/resilience.js';
import { findingSchema } from './runHealthCheck.js';
import { deadlineSignal, defineTool, type ToolContext, ToolError } from './types.js';
import { boundedString, findingCountsSchema, orNull } from './schemas.js';

const queryShape = z.object({
  id: z.number().describe('MySQL connection id or PostgreSQL backend pid'),
  user: orNull(z.string()),
  database: orNull(z.string()),
  seconds: z.number(),
  state: orNull(z.string()),
  query: orNull(z.string()).describe('Literals masked as ?, comments dropped, cut to 200 characters'),
});

export const checkDatabaseTool = defineTool({
  name: 'check_database',
  title: 'Check database',
  description:
    'Why is the site slow, and is the database set up safely? Connects read-only to a MySQL/MariaDB ' +
    'or PostgreSQL target named in DB_TARGETS_FILE (calls never carry credentials): connections, long ' +
    'queries, cache hit ratio, replication lag, tables without primary keys, risky settings and ' +
    'accounts, PostgreSQL locks and wraparound. Findings, metrics, optional baseline.',
  details:
    'Why is the site slow, and is the database set up safely? `target` names a connection in ' +
    '`DB_TARGETS_FILE` (clients never send credentials). One short-lived read-only connection ' +
    '(session set read-only and verified, statement/lock timeouts, a circuit breaker per target). ' +
    '**MySQL/MariaDB**: version, uptime, connections vs max_connections, aborted connects, threads ' +
    'running, long-running queries, InnoDB buffer pool hit ratio and dirty pages, replication state ' +
    'and lag, tables without primary keys, MyISAM tables, slow log and long_query_time, temp tables ' +
    'on disk, skip_name_resolve off, local_infile on, anonymous, blank-password and `%`-host ALL ' +
    'PRIVILEGES accounts (by name, never hashes). **PostgreSQL**: connections by state, ' +
    'idle-in-transaction sessions and oldest transaction, long-running queries, blocked locks, cache ' +
    'hit ratio, replication slots and lag, XID wraparound, dead tuples of the largest tables, tables ' +
    'without primary keys, pg_stat_statements top queries, extra superusers and roles without ' +
    'password expiry. Query text has comments dropped and literals masked (`?`), cut to 200 ' +
    'characters. `longQuerySeconds` (60), `idleInTransactionSeconds` (60), `limit` (50); flat ' +
    '`metrics` (`db.<target>.connections_used_percent` ...) and, with `saveBaseline: true` (default ' +
    'false), a baseline in the series `<host id>:db:<target>` for compare_baselines (by id and ' +
    'trends; `latest`/`previous` stay the health series). Checks that need a privilege the user lacks ' +
    'become `notes` naming the grant (PROCESS, pg_monitor, SELECT on mysql.user). One connection, ' +
    'about 20 small catalogue queries (tens of ms on a local server).',
  inputSchema: {
    target: boundedString(1, 64).describe('A target name from DB_TARGETS_FILE'),
    longQuerySeconds: z
      .number()
      .min(0.1)
      .max(86_400)
      .default(60)
      .describe('Report statements running this long'),
    idleInTransactionSeconds: z
      .number()
      .min(0.1)
      .max(86_400)
      .default(60)
      .describe('Report sessions idle in a transaction this long (PostgreSQL)'),
    saveBaseline: z.boolean().default(false).describe('Save a baseline for compare_baselines'),
    label: boundedString(0, 100).optional().describe('Note saved with the baseline'),
    limit: z.number().int().min(1).max(200).default(50).describe('Max findings, worst first'),
  },
  outputSchema: {
    target: z.string(),
    kind: z.enum(['mysql', 'postgres']),
    version: z.string(),
    uptimeSeconds: z.number(),
    readOnlySession: z.boolean().describe('The session was verified read-only before any check ran'),
    status: z
      .enum(['ok', 'warning', 'critical'])
      .describe('critical: any critical finding; warning: any high or medium'),
    score: z
      .number()
      .describe('100 minus penalties (critical 25, high 10, medium 4, low 1), as run_health_check'),
    findings: z.array(findingSchema).describe('Worst first'),
    findingCounts: findingCountsSchema,
    truncated: z.boolean().describe('True when findings were cut to `limit`'),
    metrics: z
      .record(z.string(), z.number())
      .describe('db.<target>.<quantity>, e.g. db.shop.connections_used_percent'),
    longQueries: z.array(queryShape).describe('Statements over longQuerySeconds, longest first (at most 20)'),
    topStatements: z
      .array(
        z.object({
          query: z.string(),
          calls: z.number(),
          totalMs: z.number(),
          meanMs: z.number(),
          rows: z.number(),
        }),
      )
      .nullable()
      .describe('PostgreSQL pg_stat_statements by total time (masked); null when unavailable'),
    notes: z.array(z.string()).describe('What could not be read, and which privilege would fix it'),
    baselineId: orNull(z.string()),
    baselineNotSaved: orNull(z.string()).describe(
      'Why saveBaseline saved nothing (the series is full of others’ baselines)',
    ),
    checkedAt: z.string(),
    durationMs: z.number(),
  },
  scope: 'audit:network',
  // saveBaseline: true writes a baseline; the database itself is only read.
  annotations: { readOnlyHint: false, openWorldHint: true, idempotentHint: false, destructiveHint: false },
  async handler(args, ctx) {
    const target = findTarget(ctx, args.target);
    const started = Date.now();
    const checkedAt = new Date().toISOString();
    const facts = await collect(ctx, target, args);
    const o = {
      longQuerySeconds: args.longQuerySeconds,
      idleInTransactionSeconds: args.idleInTransactionSeconds,
    };
    const verdict =
      facts.kind === 'mysql' ? analyzeMysql(target.name, facts, o) : analyzePostgres(target.name, facts, o);
    const { status, score } = scoreFindings(verdict.findings);
    const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<
      (typeof SEVERITIES)[number],
      number
    >;
    for (const f of verdict.findings) counts[f.severity]++;
    let baselineId: string | null = null;
    let baselineNotSaved: string | null = null;
    if (args.saveBaseline) {
      try {
        // Saved as the caller: retention lets it prune only its own (src/baselines/retention.ts).
        const saved = await ctx.baselines.save(
          {
            hostId: await databaseHostId(ctx, target.name),
            createdAt: checkedAt,
            label: args.label ?? `check_database ${target.name}`,
            status,
            score,
            metrics: verdict.metrics,
            findings: verdict.findings.map(({ id, severity, title }) => ({ id, severity, title })),
          },
          saverOf(ctx.principal),
        );
        baselineId = saved.id;
        ctx.notify({ method: 'notifications/resources/list_changed' });
      } catch (err) {
        if (!(err instanceof BaselineQuotaError)) throw err;
        baselineNotSaved = err.message;
      }
    }
    const shown = verdict.findings.slice(0, args.limit);
    const structured = {
      target: target.name,
      kind: target.kind,
      version: facts.version,
      uptimeSeconds: facts.uptimeSeconds,
      readOnlySession: facts.readOnlySession,
      status,
      score,
      findings: shown,
      findingCounts: counts,
      truncated: shown.length < verdict.findings.length,
      metrics: verdict.metrics,
      longQueries: facts.longQueries,
      topStatements: facts.kind === 'postgres' ? facts.statements : null,
      notes: facts.notes,
      baselineId,
      baselineNotSaved,
      checkedAt,
      durationMs: Date.now() - started,
    };
    return { structured, summary: summarize(structured, verdict.findings, counts) };
  },
});

/**
 * Baselines of a database live in their own series: `<hostId of this machine, as run_health_check
 * computes it>:db:<target>`, so compare_baselines compares two checks of the same database by id
 * (and trends over them) without mixing them into the host's health series ("latest"/"previous").
 */
export async function databaseHostId(ctx: Pick<ToolContext, 'host'>, target: string): Promise<string> {
  return `${await hostIdentity({ paths: ctx.host })}:db:${target}`;
}

function findTarget(ctx: ToolContext, name: string): DbTarget {
  const targets = ctx.config.dbTargets;
  if (targets.length === 0)
    throw new ToolError('No database targets are configured: set DB_TARGETS_FILE (see README) and restart.');
  const t = targets.find((x) => x.name === name);
  if (!t)
    throw new ToolError(
      `Unknown database target "${name}": configured targets are ${targets.map((x) => x.name).join(', ')}.`,
    );
  return t;
}

async function collect(
  ctx: ToolContext,
  target: DbTarget,
  args: { longQuerySeconds: number; idleInTransactionSeconds: number },
): Promise<DatabaseFacts> {
  const timeoutMs = target.timeoutMs ?? Math.max(ctx.config.OUTBOUND_TIMEOUT_MS, 5000);
  const signal = deadlineSignal(ctx);
  const where = target.socket ?? `${target.host}:${target.port ?? (target.kind === 'mysql' ? 3306 : 5432)}`;
  try {
    return await ctx.outbound.resilience.guarded(
      'database',
      target.name,
      (attempt) =>
        collectDatabase(target, {
          longQuerySeconds: args.longQuerySeconds,
          idleInTransactionSeconds: args.idleInTransactionSeconds,
          statementTimeoutMs: timeoutMs,
          connectTimeoutMs: Math.min(timeoutMs, 5000),
          signal: attempt,
        }),
      {
        signal,
        timeoutMs,
        deadlineMs: Math.min(
          ctx.config.TOOL_DEADLINE_SECONDS * 1000,
          timeoutMs * (ctx.config.RETRY_COUNT + 1) + 2000,
        ),
        // A refused login or a missing database is the server's answer: not retried, not an outage.
        isAnswer: (err) => err instanceof DatabaseError,
        // Starting up or shutting down (PostgreSQL 57P03): try again.
        isRetryable: (err) => (err as { code?: string }).code === '57P03',
      },
    );
  } catch (err) {
    if (ctx.signal.aborted) throw new ToolError('Cancelled by the client');
    throw new ToolError(
      `Database target ${target.name} (${target.kind} at ${where}): ${describe(err, timeoutMs)}`,
    );
  }
}

function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof BreakerOpenError) return `${err.message} (it failed repeatedly; is the server down?)`;
  if (err instanceof DatabaseError) return err.message;
  const raw = (err as { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : undefined;
  if (code === 'ECONNREFUSED') return 'connection refused: is the server running and listening there?';
  if (code === 'ENOENT') return 'the socket does not exist: is the server running?';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  if (code === 'ECONNRESET' || code === 'PROTOCOL_CONNECTION_LOST') return 'the server closed the connection';
  if (
    code === 'ABORT_ERR' ||
    code === 'ETIMEDOUT' ||
    (err as Error).name === 'TimeoutError' ||
    (err as Error).name === 'AbortError' ||
    /timeout/i.test((err as Error).message ?? '')
  )
    return `no answer within ${timeoutMs} ms (timed out)`;
  if (code === 'ER_QUERY_TIMEOUT' || code === '57014') return 'a check query hit the statement timeout';
  // Driver messages name hosts and SQL states, never credentials; keep the first line only.
  return `${((err as Error).message ?? String(err)).split('\n')[0]}${code ? ` (${code})` : ''}`;
}

function summarize(
  r: {
    target: string;
    kind: string;
    version: string;
    status: string;
    score: number;
    metrics: Record<string, number>;
    notes: string[];
    baselineId: string | null;
    baselineNotSaved: string | null;
  },
  findings: Finding[],
  counts: Record<string, number>,
): string {
  const tally = Object.entries(counts)
    .filter(([, c]) => c > 0)
    .map(([s, c]) => `${c} ${s}`)
    .join(', ');
  const used = r.metrics[`db.${r.target}.connections_used_percent`];
  const lines = [
    `Database ${r.target} (${r.kind} ${r.version}): ${r.status.toUpperCase()} (score ${r.score}/100)${tally ? `: ${tally}` : ', no findings'}${used === undefined ? '' : `; connections ${used}% of max`}.`,
  ];
  for (const f of findings.slice(0, 5)) lines.push(`- [${f.severity}] ${f.title}: ${f.evidence}`);
  if (findings.length > 5) lines.push(`- ... ${findings.length - 5} more in "findings".`);
  if (r.notes.length > 0) lines.push(`Partly unreadable (${r.notes.length}): see "notes".`);
  if (r.baselineId) lines.push(`Saved as baseline ${r.baselineId}.`);
  if (r.baselineNotSaved)
    lines.push(`No baseline saved: ${r.baselineNotSaved.replace(/^baseline not saved: /, '')}.`);
  return lines.join('\n');
}
