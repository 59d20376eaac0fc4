import { z } from 'zod';
import { SEVERITIES } from '../audit/findings.js';
import { type Thresholds, thresholdsSchema } from '../audit/health/thresholds.js';
import { CHECK_GROUPS } from '../audit/health/types.js';
import { runCommand } from '../host/runCommand.js';
import { type HealthReport, runHealthCheck } from '../health/runHealthCheck.js';
import { BaselineQuotaError, saverOf } from '../baselines/retention.js';
import { defineTool, type ToolContext, ToolError } from './types.js';

export const findingSchema = z.object({
  id: z
    .string()
    .describe('Stable rule id, with the subject after ":" when per item (disk.used_percent:/var)'),
  severity: z.enum(SEVERITIES),
  title: z.string(),
  evidence: z.string().describe('The numbers or lines that prove it'),
  recommendation: z.string().describe('What to do about it'),
});

const pairOverride = z
  .object({ high: z.number().min(0).optional(), critical: z.number().min(0).optional() })
  .strict();
const thresholdKeys = Object.keys(thresholdsSchema.shape) as (keyof Thresholds)[];
const overridesSchema = z
  .object(
    Object.fromEntries(
      thresholdKeys.map((k) => [
        k,
        k === 'recentRebootSeconds' ? z.number().min(0).optional() : pairOverride.optional(),
      ]),
    ) as z.ZodRawShape,
  )
  .strict();

/** Config thresholds with per-call overrides on top; the result is validated as a whole (critical >= high). */
export function mergeThresholds(
  base: Thresholds,
  overrides: Record<string, unknown> | undefined,
): Thresholds {
  if (!overrides) return base;
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    const current = merged[k];
    merged[k] = typeof v === 'object' && typeof current === 'object' ? { ...current, ...v } : v;
  }
  const result = thresholdsSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ToolError(`Invalid thresholds: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return result.data;
}

export const healthReportShape = {
  hostId: z
    .string()
    .describe('machine-id of the audited host (host name when absent); baselines are per host'),
  status: z
    .enum(['ok', 'warning', 'critical'])
    .describe('critical: any critical finding; warning: any high or medium'),
  score: z.number().describe('100 minus penalties (critical 25, high 10, medium 4, low 1)'),
  findings: z.array(findingSchema).describe('Worst first'),
  findingCounts: z
    .record(z.enum(SEVERITIES), z.number())
    .describe('All findings by severity, before the limit'),
  truncated: z.boolean().describe('True when findings were cut to `limit`'),
  metrics: z
    .record(z.string(), z.number())
    .describe('Every measured value, e.g. memory.used_percent, disk./.used_percent'),
  checks: z.record(
    z.enum(CHECK_GROUPS),
    z.object({
      state: z.enum(['ran', 'degraded', 'skipped']),
      notes: z.array(z.string()).describe('What could not be read, and how to fix it'),
    }),
  ),
  baselineId: z
    .string()
    .nullable()
    .describe('The saved baseline, for compare_baselines; null when not saved'),
  baselineNotSaved: z
    .string()
    .nullable()
    .describe(
      'Why no baseline was saved although saveBaseline was true (the host holds as many as allowed, saved by others); null otherwise',
    ),
  checkedAt: z.string(),
  durationMs: z.number(),
};

/** Runs the check with the call's options; shared with compare_baselines' "current". */
export async function runCheckForTool(
  ctx: ToolContext,
  opts: {
    checks?: (typeof CHECK_GROUPS)[number][];
    thresholds?: Record<string, unknown>;
    cpuSampleMs: number;
  },
): Promise<HealthReport> {
  return runHealthCheck(
    {
      paths: ctx.host,
      thresholds: mergeThresholds(ctx.config.thresholds, opts.thresholds),
      run: runCommand,
      signal: ctx.signal,
      now: new Date(),
      allowedLogRoots: ctx.config.AUDIT_ALLOWED_PATHS,
    },
    { groups: opts.checks, cpuSampleMs: opts.cpuSampleMs },
  );
}

export const runHealthCheckTool = defineTool({
  name: 'run_health_check',
  title: 'Run health check',
  description:
    'Is this box healthy? Checks resources (memory, swap, load, iowait/steal, pressure, disk and inode use, file handles, ' +
    'zombies, OOM kills, reboots), services (web, database and mail servers down, mail queue, failed systemd units), ' +
    'network (interface errors/drops, MTU, TCP retransmits, sockets), hardware (SMART, ECC, machine checks, RAID, ' +
    'temperatures), security (failed SSH logins, firewall, kernel taint, pending reboot) and clock sync. Returns ' +
    'severity-scored findings with recommendations, a 0-100 score, every measured metric, and saves a baseline for ' +
    "compare_baselines (writes to the server's baseline store; saveBaseline: false only reads). Retention keeps at most " +
    "BASELINE_MAX_PER_PRINCIPAL of a caller's own baselines per host; only a caller with audit:admin can cause " +
    "others' baselines to be pruned. Takes about cpuSampleMs plus a few ms; smartctl adds up to a few seconds per disk.",
  inputSchema: {
    checks: z
      .array(z.enum(CHECK_GROUPS))
      .min(1)
      .optional()
      .describe(`Check groups to run (default all): ${CHECK_GROUPS.join(', ')}`),
    thresholds: overridesSchema
      .optional()
      .describe(
        'Overrides for this call, e.g. {"diskUsedPercent": {"high": 80}}; see README for names and defaults',
      ),
    saveBaseline: z.boolean().default(true).describe('Store the result as a baseline for compare_baselines'),
    label: z
      .string()
      .max(100)
      .optional()
      .describe('A note stored with the baseline, e.g. "before kernel upgrade"'),
    cpuSampleMs: z
      .number()
      .int()
      .min(0)
      .max(5000)
      .default(250)
      .describe('Interval between the two CPU samples for iowait/steal; 0 uses averages since boot'),
    limit: z.number().int().min(1).max(500).default(50).describe('At most this many findings (worst first)'),
  },
  outputSchema: healthReportShape,
  scope: 'audit:read',
  // It writes (a baseline in the server's store), so not read-only; not destructive: a save adds
  // one, and the retention it triggers removes only the caller's own older baselines unless the
  // caller holds audit:admin (src/baselines/retention.ts). The audited host is never changed.
  annotations: { readOnlyHint: false, openWorldHint: false, idempotentHint: false, destructiveHint: false },
  async handler(args, ctx) {
    await ctx.progress(0, 2, 'checking');
    const report = await runCheckForTool(ctx, args);
    let baselineId: string | null = null;
    let baselineNotSaved: string | null = null;
    if (args.saveBaseline) {
      await ctx.progress(1, 2, 'saving baseline');
      try {
        const saved = await ctx.baselines.save(
          {
            hostId: report.hostId,
            createdAt: report.checkedAt,
            label: args.label,
            status: report.status,
            score: report.score,
            metrics: report.metrics,
            findings: report.findings.map(({ id, severity, title }) => ({ id, severity, title })),
          },
          saverOf(ctx.principal),
        );
        baselineId = saved.id;
        // The audit://baselines resource list changed: tell the client, wherever its stream is.
        ctx.notify({ method: 'notifications/resources/list_changed' });
      } catch (err) {
        // The check itself succeeded: answer it, and say why there is no baseline.
        if (!(err instanceof BaselineQuotaError)) throw err;
        baselineNotSaved = err.message;
      }
    }
    await ctx.progress(2, 2, 'done');
    const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<
      (typeof SEVERITIES)[number],
      number
    >;
    for (const f of report.findings) counts[f.severity]++;
    const shown = report.findings.slice(0, args.limit);
    return {
      structured: {
        ...report,
        findings: shown,
        findingCounts: counts,
        truncated: shown.length < report.findings.length,
        baselineId,
        baselineNotSaved,
      },
      summary: summarize(report, counts, baselineId, baselineNotSaved),
    };
  },
});

function summarize(
  r: HealthReport,
  counts: Record<string, number>,
  baselineId: string | null,
  notSaved: string | null,
): string {
  const tally = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  const lines = [
    `Health: ${r.status.toUpperCase()} (score ${r.score}/100)${tally ? `: ${tally}` : ', no findings'}.`,
  ];
  for (const f of r.findings.slice(0, 5)) lines.push(`- [${f.severity}] ${f.title}: ${f.evidence}`);
  if (r.findings.length > 5) lines.push(`- ... ${r.findings.length - 5} more in "findings".`);
  const degraded = Object.entries(r.checks)
    .filter(([, c]) => c.state === 'degraded')
    .map(([g]) => g);
  if (degraded.length > 0) lines.push(`Partly unreadable: ${degraded.join(', ')} (see "checks" notes).`);
  if (baselineId) lines.push(`Saved as baseline ${baselineId}.`);
  if (notSaved) lines.push(`No baseline saved: ${notSaved.replace(/^baseline not saved: /, '')}.`);
  return lines.join('\n');
}
