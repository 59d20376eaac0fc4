import { z } from 'zod';
import { compareBaselines, trends } from '../audit/compareBaselines.js';
import type { Baseline } from '../baselines/types.js';
import { hostIdentity } from '../health/runHealthCheck.js';
import { runCheckForTool } from './runHealthCheck.js';
import { defineTool, type ToolContext, ToolError } from './types.js';
import { boundedString, orNull, severitySchema } from './schemas.js';

const ref = boundedString(1, 200).describe(
  'Baseline id, "latest", "previous" (the one before) or "current" (a fresh check, not saved)',
);

const findingRef = z.object({ id: z.string(), severity: severitySchema, title: z.string() });
const baselineRef = z.object({
  id: z.string(),
  hostId: z.string(),
  createdAt: z.string(),
  label: z.string().optional(),
  status: z.enum(['ok', 'warning', 'critical']),
  score: z.number(),
});

/** Trends that carry their points and fitted line (the most significant first). */
const TREND_CHARTS = 10;

export const compareOutput = {
  from: baselineRef,
  to: baselineRef,
  metrics: z
    .array(
      z.object({
        name: z.string(),
        from: orNull(z.number()),
        to: orNull(z.number()),
        change: orNull(z.number()),
        changePercent: orNull(z.number()),
        verdict: z.enum(['improved', 'regressed', 'unchanged', 'changed', 'new', 'gone']),
      }),
    )
    .describe('Regressions first; unchanged metrics only when onlyChanged is false'),
  verdictCounts: z.record(z.string(), z.number()).describe('All metrics by verdict, before the limit'),
  findings: z.object({
    appeared: z.array(findingRef),
    resolved: z.array(findingRef),
    severityChanged: z.array(
      z.object({ id: z.string(), title: z.string(), from: severitySchema, to: severitySchema }),
    ),
  }),
  trends: z
    .array(
      z.object({
        name: z.string(),
        points: z.number(),
        first: z.number(),
        last: z.number(),
        slopePerDay: z.number(),
        projection: z.string().optional(),
        etaDays: z.number().optional(),
        chart: z
          .object({
            start: z.string().describe('Time of day 0: the oldest baseline of the window'),
            intercept: z.number().describe('The fitted line is intercept + slopePerDay * day'),
            days: z.array(z.number()).describe('Days since start of each point, at most 50'),
            values: z.array(z.number()),
            fullAt: z.string().optional().describe('When the fitted line reaches 100'),
          })
          .optional()
          .describe(
            `The points and fitted line, for the first ${TREND_CHARTS} trends (the Health view charts them)`,
          ),
      }),
    )
    .describe('Linear fits over the last trendWindow baselines of the host; empty when trendWindow is 0'),
  truncated: z.boolean().describe('True when metrics or trends were cut to `limit`'),
};

const VERDICT_ORDER = ['regressed', 'new', 'gone', 'changed', 'improved', 'unchanged'];

export const compareBaselinesTool = defineTool({
  name: 'compare_baselines',
  title: 'Compare baselines',
  description:
    'What changed on this host? Diffs two run_health_check baselines (or one against a fresh check): ' +
    'metric changes judged improved or regressed, findings that appeared, resolved or changed ' +
    'severity, and with trendWindow trends with projections (disk full in ~N days).',
  details:
    'What changed? `from` and `to` are baseline ids, `latest`, `previous` or `current` (a fresh ' +
    'check, not saved). Per-metric old/new values, change and a verdict ' +
    "(improved/regressed/unchanged, by each metric's direction and a significance threshold), " +
    'findings that appeared, resolved or changed severity, and with `trendWindow: N` a linear fit per ' +
    'metric over the host\'s last N baselines with projections ("disk / full in ~12 days", ' +
    '"reallocated sectors on sda grew 0 -> 8 over 5 checks"). Baselines of two different hosts are ' +
    'refused unless `allowCrossHost: true`; with a host registry, `fromHost` takes `from` from another ' +
    'host than `host` (each side read from its own agent; no trends across hosts). Fast: reads stored baselines only, unless a side is ' +
    '`current`. List baselines with the `audit://baselines` resource.',
  inputSchema: {
    from: ref.default('previous'),
    to: ref.default('latest'),
    metrics: z
      .array(boundedString(1, 200))
      .max(100)
      .optional()
      .describe('Only these metric names or prefixes, e.g. ["disk."]'),
    trendWindow: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(0)
      .describe('Fit trends over the last N baselines; 0: none'),
    onlyChanged: z.boolean().default(true).describe('Omit unchanged metrics'),
    allowCrossHost: z.boolean().default(false).describe('Allow two different hosts'),
    fromHost: z.string().max(63).optional().describe('Host of `from` (default: `host`)'),
    limit: z.number().int().min(1).max(1000).default(100).describe('Max metrics and trends each'),
  },
  outputSchema: compareOutput,
  scope: 'audit:read',
  annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true, destructiveHint: false },
  async handler(args, ctx) {
    const hostId = await hostIdentity({ paths: ctx.host });
    const [from, to] = await Promise.all([
      resolveBaseline(args.from, hostId, ctx),
      resolveBaseline(args.to, hostId, ctx),
    ]);
    if (from.hostId !== to.hostId && !args.allowCrossHost) {
      throw new ToolError(
        `${from.id} is from host ${from.hostId} and ${to.id} from host ${to.hostId}: comparing different hosts is refused; set allowCrossHost to compare anyway.`,
      );
    }
    const series = args.trendWindow > 0 ? await ctx.baselines.recent(to.hostId, args.trendWindow) : [];
    if (args.trendWindow > 0 && to.id === 'current') series.unshift(to);
    return comparison(from, to, args, series);
  },
});

export interface CompareArgs {
  metrics?: string[] | undefined;
  trendWindow: number;
  onlyChanged: boolean;
  limit: number;
}

/** The answer for two resolved baselines; `series` (newest first) feeds the trends. */
export function comparison(from: Baseline, to: Baseline, args: CompareArgs, series: Baseline[]) {
  const diff = compareBaselines(from, to, { metrics: args.metrics });
  const counts: Record<string, number> = {};
  for (const m of diff.metrics) counts[m.verdict] = (counts[m.verdict] ?? 0) + 1;
  const listed = diff.metrics
    .filter((m) => !args.onlyChanged || m.verdict !== 'unchanged')
    .sort(
      (a, b) =>
        VERDICT_ORDER.indexOf(a.verdict) - VERDICT_ORDER.indexOf(b.verdict) || a.name.localeCompare(b.name),
    );
  let trendList: ReturnType<typeof trends>['trends'] = [];
  let trendsTruncated = false;
  if (series.length > 0) {
    const t = trends(series, { metrics: args.metrics, limit: args.limit, charts: TREND_CHARTS });
    trendList = t.trends;
    trendsTruncated = t.truncated;
  }
  const shown = listed.slice(0, args.limit);
  return {
    structured: {
      from: summaryOf(from),
      to: summaryOf(to),
      metrics: shown,
      verdictCounts: counts,
      findings: diff.findings,
      trends: trendList,
      truncated: shown.length < listed.length || trendsTruncated,
    },
    summary: summarize(from, to, counts, diff.findings, shown, trendList),
  };
}

/** A baseline reference (id, latest, previous, current) on this server's host. */
export async function resolveBaseline(name: string, hostId: string, ctx: ToolContext): Promise<Baseline> {
  if (name === 'current') {
    const r = await runCheckForTool(ctx, { cpuSampleMs: 250 });
    return {
      id: 'current',
      hostId: r.hostId,
      createdAt: r.checkedAt,
      status: r.status,
      score: r.score,
      metrics: r.metrics,
      findings: r.findings.map(({ id, severity, title }) => ({ id, severity, title })),
    };
  }
  if (name === 'latest' || name === 'previous') {
    const recent = await ctx.baselines.recent(hostId, 2);
    const b = name === 'latest' ? recent[0] : recent[1];
    if (!b) {
      throw new ToolError(
        `No ${name} baseline for this host (${recent.length} saved): run run_health_check${recent.length === 0 ? ' twice' : ' once more'} first, or compare against "current".`,
      );
    }
    return b;
  }
  const b = await ctx.baselines.get(name);
  if (!b) {
    throw new ToolError(
      `Baseline ${name} not found: list the saved ones with the audit://baselines resource.`,
    );
  }
  return b;
}

function summaryOf(b: Baseline) {
  return {
    id: b.id,
    hostId: b.hostId,
    createdAt: b.createdAt,
    label: b.label,
    status: b.status,
    score: b.score,
  };
}

function summarize(
  from: Baseline,
  to: Baseline,
  counts: Record<string, number>,
  f: ReturnType<typeof compareBaselines>['findings'],
  metrics: ReturnType<typeof compareBaselines>['metrics'],
  t: ReturnType<typeof trends>['trends'],
): string {
  const lines = [
    `${from.id} (${from.createdAt}, ${from.status} ${from.score}) -> ${to.id} (${to.createdAt}, ${to.status} ${to.score}).`,
    `Metrics: ${counts.regressed ?? 0} regressed, ${counts.improved ?? 0} improved, ${counts.new ?? 0} new, ${counts.gone ?? 0} gone. ` +
      `Findings: ${f.appeared.length} appeared, ${f.resolved.length} resolved, ${f.severityChanged.length} changed severity.`,
  ];
  for (const a of f.appeared.slice(0, 3)) lines.push(`+ [${a.severity}] ${a.title}`);
  for (const m of metrics.filter((m) => m.verdict === 'regressed').slice(0, 3)) {
    lines.push(`- ${m.name}: ${m.from} -> ${m.to}`);
  }
  for (const tr of t.filter((x) => x.projection).slice(0, 3)) lines.push(`~ ${tr.projection}`);
  return lines.join('\n');
}
