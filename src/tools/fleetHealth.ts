import { setMaxListeners } from 'node:events';
import { z } from 'zod';
import { fleetOutliers } from '../audit/fleetOutliers.js';
import { CHECK_GROUPS } from '../audit/health/types.js';
import { agentDeadlineMs } from '../hosts/forwarding.js';
import { findingSchema } from './runHealthCheck.js';
import { defineTool, ToolError } from './types.js';
import { timeoutSignal } from '../resilience/timeoutSignal.js';

const STATUS_RANK = { critical: 0, unreachable: 1, warning: 2, ok: 3 } as const;
type HostStatus = keyof typeof STATUS_RANK;

const hostResult = z.object({
  host: z.string().describe('Registry name'),
  labels: z.record(z.string(), z.string()),
  status: z.enum(['critical', 'unreachable', 'warning', 'ok']),
  score: z.number().nullable().describe('0-100 from run_health_check; null when unreachable'),
  hostId: z.string().nullable().describe("The agent's machine-id (what its baselines are stored under)"),
  topFindings: z.array(findingSchema).describe('Worst first, at most topFindings'),
  findingCounts: z.record(z.string(), z.number()).nullable(),
  error: z.string().nullable().describe('Why the host gave no health report'),
  durationMs: z.number(),
});

const outlier = z.object({
  host: z.string(),
  metric: z.string(),
  value: z.number(),
  median: z.number().describe("The fleet's median"),
  ratio: z.number().nullable().describe('value / median; null when the median is 0'),
  deviations: z.number().describe('Robust deviations (MAD) above the median; 3.5 or more is an outlier'),
  hostsCompared: z.number(),
});

export const fleetHealthTool = defineTool({
  name: 'fleet_health',
  title: 'Fleet health',
  description:
    'Which of my servers needs attention? run_health_check on every registry host (or those matching labels), ' +
    'ranked worst first with status, score and top findings; unreachable hosts are findings; outliers: ' +
    "a host's metric far above the fleet's median (3+ hosts); partial at the deadline.",
  details:
    'The hosts are those of HOSTS_FILE and the agents registered in Redis (FLEET_AGENT_KEY_FILE), ' +
    'filtered by `labels`; `concurrency` (32) are checked at once, each through its agent with the ' +
    "agent's own key, breaker and retries. A plain call stops at TOOL_DEADLINE_SECONDS and answers " +
    'with `partial: true` and the hosts without an answer in `notChecked`. A client that supports ' +
    'tasks gets a task instead: it runs up to TASK_DEADLINE_SECONDS, its status message counts the ' +
    'hosts checked ("12 of 50 hosts checked (24%)"), and cancelling it cancels the calls in flight on ' +
    'the agents. Outliers: per metric, the median and MAD of the hosts that answered, with a floor ' +
    'per metric; a host 3.5 deviations above the median is an outlier.',
  inputSchema: {
    labels: z
      .record(z.string(), z.string())
      .optional()
      .describe('Only hosts having all these labels, e.g. {"env": "prod"}'),
    checks: z
      .array(z.enum(CHECK_GROUPS))
      .min(1)
      .optional()
      .describe(`Check groups to run (default all): ${CHECK_GROUPS.join(', ')}`),
    saveBaseline: z.boolean().default(false).describe('Store each result as a baseline on its host'),
    concurrency: z.number().int().min(1).max(64).default(32).describe('Hosts checked at once'),
    topFindings: z.number().int().min(0).max(20).default(3).describe('Findings kept per host'),
    cpuSampleMs: z.number().int().min(0).max(5000).default(250),
  },
  outputSchema: {
    hosts: z.array(hostResult).describe('Worst first'),
    findings: z.array(findingSchema).describe('Fleet-level findings: unreachable hosts'),
    outliers: z
      .array(outlier)
      .describe(
        'Metrics far above the fleet median (median and MAD), farthest first, at most 20; empty under 3 hosts',
      ),
    counts: z.record(z.enum(['critical', 'unreachable', 'warning', 'ok', 'not_checked']), z.number()),
    partial: z.boolean().describe('True when the deadline came before every host answered'),
    notChecked: z.array(z.string()).describe('Hosts without an answer at the deadline (partial)'),
    durationMs: z.number(),
  },
  scope: 'audit:read',
  annotations: { readOnlyHint: false, openWorldHint: true, idempotentHint: false, destructiveHint: false },
  async handler(args, ctx) {
    const fleet = ctx.fleet;
    if (!fleet)
      throw new ToolError(
        'No host registry: set HOSTS_FILE to list the hosts, or FLEET_AGENT_KEY_FILE (with REDIS_URL) for agents that register themselves in Redis (AGENT_NAME, AGENT_URL on each agent); see README "Auditing many hosts". run_health_check checks this server.',
      );
    const started = Date.now();
    // Registrations and expiries as of this call (as list_hosts), not of the last periodic read.
    await fleet.refresh?.();
    const targets = fleet.registry.hosts.filter((h) =>
      Object.entries(args.labels ?? {}).every(([k, v]) => h.labels[k] === v),
    );
    if (fleet.registry.hosts.length === 0)
      throw new ToolError(
        'No hosts yet: HOSTS_FILE lists none and no agent has registered in Redis (agents need REDIS_URL, AGENT_NAME or AGENT_NODE_NAME, and AGENT_URL; list_hosts shows what is known).',
      );
    if (targets.length === 0)
      throw new ToolError(
        `No host matches the labels ${JSON.stringify(args.labels ?? {})}; list_hosts shows the hosts and their labels.`,
      );
    const deadlineMs = agentDeadlineMs(ctx);
    const deadline = timeoutSignal(deadlineMs, ctx.signal);
    // Every call in flight listens on it (two listeners each): not a leak.
    setMaxListeners(2 * args.concurrency + 10, deadline);
    const callArgs: Record<string, unknown> = {
      saveBaseline: args.saveBaseline,
      cpuSampleMs: args.cpuSampleMs,
      limit: Math.max(1, args.topFindings),
      ...(args.checks ? { checks: args.checks } : {}),
    };
    const results: z.infer<typeof hostResult>[] = [];
    const metricsByHost = new Map<string, Record<string, number>>();
    // As a task, this is its status message: "12 of 50 hosts checked (24%)".
    const reportProgress = () =>
      void ctx
        .progress(results.length, targets.length, `${results.length} of ${targets.length} hosts checked`)
        .catch(() => undefined);
    reportProgress();
    let next = 0;
    const worker = async () => {
      while (next < targets.length && !deadline.aborted) {
        const h = targets[next++]!;
        const t0 = Date.now();
        const base = { host: h.name, labels: h.labels };
        try {
          const answer = await raceDeadline(
            fleet.pool.call(h, 'run_health_check', callArgs, {
              signal: deadline,
              // A little past the fleet deadline, so a hung agent is "not checked" (the
              // deadline fires first), never "unreachable" by its own timeout winning the race.
              deadlineMs: Math.max(500, deadlineMs - (Date.now() - started)) + 1000,
            }),
            deadline,
          );
          const s = answer.structured;
          if (answer.isError || !s || typeof s.status !== 'string')
            results.push({
              ...base,
              ...unreachable(answer.text || 'no health report', t0),
            });
          else {
            if (s.metrics && typeof s.metrics === 'object')
              metricsByHost.set(h.name, s.metrics as Record<string, number>);
            results.push({
              ...base,
              status: s.status as HostStatus,
              score: Number(s.score),
              hostId: typeof s.hostId === 'string' ? s.hostId : null,
              topFindings: (Array.isArray(s.findings) ? s.findings : []).slice(0, args.topFindings),
              findingCounts: (s.findingCounts as Record<string, number>) ?? null,
              error: null,
              durationMs: Date.now() - t0,
            });
          }
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          if (deadline.aborted) return; // counted as not checked
          results.push({ ...base, ...unreachable((err as Error).message, t0) });
        }
        reportProgress();
      }
    };
    await Promise.all(Array.from({ length: Math.min(args.concurrency, targets.length) }, worker));
    if (ctx.signal.aborted) throw new ToolError('fleet_health cancelled');
    results.sort(
      (a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status] || (a.score ?? -1) - (b.score ?? -1),
    );
    const answered = new Set(results.map((r) => r.host));
    const notCheckedHosts = targets.filter((h) => !answered.has(h.name)).map((h) => h.name);
    const notChecked = notCheckedHosts.length;
    const counts = { critical: 0, unreachable: 0, warning: 0, ok: 0, not_checked: notChecked };
    for (const r of results) counts[r.status]++;
    const findings = results
      .filter((r) => r.status === 'unreachable')
      .map((r) => ({
        id: `fleet.host_unreachable:${r.host}`,
        severity: 'high' as const,
        title: `Host ${r.host} gave no health report`,
        evidence: r.error ?? 'no answer',
        recommendation:
          "Check that the host's agent runs and is reachable from this server, and that the key it is called with (apiKeyFile/apiKeyEnv in HOSTS_FILE, or FLEET_AGENT_KEY_FILE for a self-registered agent) is in the agent's AUTH_API_KEYS_FILE (list_hosts shows the last error).",
      }));
    const partial = notChecked > 0;
    const { outliers } = fleetOutliers(metricsByHost);
    const worst = results
      .filter((r) => r.status !== 'ok')
      .slice(0, 5)
      .map((r) => `${r.host} ${r.status}${r.score === null ? '' : ` (${r.score})`}`);
    const summary =
      `${targets.length} host(s): ${counts.critical} critical, ${counts.unreachable} unreachable, ${counts.warning} warning, ${counts.ok} ok` +
      (partial ? `, ${notChecked} not checked before the deadline (partial)` : '') +
      `. ${worst.length ? `Needs attention: ${worst.join(', ')}.` : 'All healthy.'}` +
      (outliers.length
        ? `\nOutliers: ${outliers
            .slice(0, 3)
            .map(
              (o) =>
                `${o.host} ${o.metric} ${o.value} (fleet median ${o.median}${o.ratio === null ? '' : `, ${o.ratio}x`})`,
            )
            .join('; ')}${outliers.length > 3 ? `; ${outliers.length - 3} more` : ''}.`
        : '');
    return {
      structured: {
        hosts: results,
        findings,
        outliers,
        counts,
        partial,
        notChecked: notCheckedHosts,
        durationMs: Date.now() - started,
      },
      summary,
    };
  },
});

function unreachable(error: string, t0: number) {
  return {
    status: 'unreachable' as const,
    score: null,
    hostId: null,
    topFindings: [],
    findingCounts: null,
    error: error.slice(0, 300),
    durationMs: Date.now() - t0,
  };
}

/** Rejects when the deadline passes even if the call does not notice the abort at once. */
function raceDeadline<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
