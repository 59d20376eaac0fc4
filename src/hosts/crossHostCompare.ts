/**
 * compare_baselines with `from` and `to` on two registry hosts (issue 19). Each host's baselines
 * live with its agent, so neither agent can answer alone: this server reads each side from its
 * own host (agent or this machine) and diffs them here. Refused without allowCrossHost, before
 * any agent is asked.
 */
import { z } from 'zod';
import { SEVERITIES } from '../audit/findings.js';
import type { Baseline } from '../baselines/types.js';
import { hostIdentity } from '../health/runHealthCheck.js';
import { comparison, resolveBaseline } from '../tools/compareBaselines.js';
import { type ToolContext, ToolError } from '../tools/types.js';
import { AgentUnreachableError } from './agentPool.js';
import type { ForwardedResult } from './forwarding.js';
import type { HostRouter, Route } from './hostRouter.js';

/** What a stored baseline looks like when an agent hands it over (audit://baselines/{id}). */
const baselineSchema = z.object({
  id: z.string().min(1).max(200),
  hostId: z.string().min(1).max(500),
  createdAt: z.string().max(64),
  label: z.string().max(200).optional(),
  status: z.enum(['ok', 'warning', 'critical']),
  score: z.number(),
  metrics: z.record(z.string(), z.number()),
  findings: z.array(z.object({ id: z.string(), severity: z.enum(SEVERITIES), title: z.string() })),
});

const baselineRefSchema = z.object({ id: z.string() });

export interface CrossHostArgs {
  host?: string | undefined;
  fromHost: string;
  from: string;
  to: string;
  allowCrossHost: boolean;
  metrics?: string[] | undefined;
  trendWindow: number;
  onlyChanged: boolean;
  limit: number;
}

/**
 * The answer when `fromHost` names another host than `host`; undefined when both name the same
 * host (the call then goes on as a one-host comparison).
 */
export async function compareAcrossHosts(
  router: HostRouter,
  args: CrossHostArgs,
  ctx: ToolContext,
  deadlineMs: number,
): Promise<ForwardedResult | undefined> {
  // Fresh: a host that registered itself a moment ago is known to this instance too.
  const toRoute = await router.resolveFresh(args.host);
  const fromRoute = await router.resolveFresh(args.fromHost);
  const name = (r: Route) => (r.kind === 'local' ? 'this server' : r.host.name);
  if (name(toRoute) === name(fromRoute)) return undefined;
  if (!args.allowCrossHost)
    throw new ToolError(
      `"from" is on ${name(fromRoute)} and "to" on ${name(toRoute)}: comparing different hosts is refused; set allowCrossHost: true to compare anyway.`,
    );
  if (args.trendWindow > 0)
    throw new ToolError(
      'Trends are per host: drop trendWindow when comparing two hosts, or call compare_baselines with one host and trendWindow.',
    );
  const opts = { signal: ctx.signal, deadlineMs };
  const side = async (route: Route, ref: string): Promise<Baseline> => {
    if (route.kind === 'local') return resolveBaseline(ref, await hostIdentity({ paths: ctx.host }), ctx);
    const host = route.host;
    const agentError = (text: string) => new ToolError(`[host ${host.name}] ${text}`);
    if (ref === 'current') {
      const a = await router.pool.call(host, 'run_health_check', { saveBaseline: false, limit: 500 }, opts);
      const s = a.structured;
      if (a.isError || !s) throw agentError(a.text || 'no health report');
      return readable(host.name, 'its health report', {
        id: 'current',
        hostId: s.hostId,
        createdAt: s.checkedAt,
        status: s.status,
        score: s.score,
        metrics: s.metrics,
        findings: (Array.isArray(s.findings) ? s.findings : []).map((f: Record<string, unknown>) => ({
          id: f.id,
          severity: f.severity,
          title: f.title,
        })),
      });
    }
    let id = ref;
    if (ref === 'latest' || ref === 'previous') {
      // The agent knows which of its baselines are its host's latest and previous.
      const a = await router.pool.call(
        host,
        'compare_baselines',
        { from: ref, to: 'latest', limit: 1, onlyChanged: true },
        opts,
      );
      if (a.isError || !a.structured) throw agentError(a.text || 'no answer');
      const from = baselineRefSchema.safeParse(a.structured.from);
      if (!from.success) throw unreadable(host.name, `its ${ref} baseline reference`);
      id = from.data.id;
    }
    const text = await router.pool.readResource(host, `audit://baselines/${encodeURIComponent(id)}`, opts);
    if (text === undefined)
      throw agentError(`Baseline ${id} not found: list the saved ones with the audit://baselines resource.`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw unreadable(host.name, `baseline ${id}`);
    }
    return readable(host.name, `baseline ${id}`, json);
  };
  try {
    const [from, to] = await Promise.all([side(fromRoute, args.from), side(toRoute, args.to)]);
    const r = comparison(from, to, args, []);
    return {
      content: [{ type: 'text', text: `[${name(fromRoute)} -> ${name(toRoute)}] ${r.summary}` }],
      structuredContent: r.structured as unknown as Record<string, unknown>,
    };
  } catch (err) {
    if (err instanceof AgentUnreachableError) throw new ToolError(err.message);
    throw err;
  }
}

/** An agent's answer this server cannot read: an older or newer agent, most likely. */
function unreadable(host: string, what: string): ToolError {
  return new ToolError(
    `[host ${host}] ${what} is not in a form this server reads: run the same server-audit-mcp version on the agent and here (list_hosts shows each agent's version).`,
  );
}

function readable(host: string, what: string, value: unknown): Baseline {
  const parsed = baselineSchema.safeParse(value);
  if (!parsed.success) throw unreadable(host, what);
  return parsed.data;
}
