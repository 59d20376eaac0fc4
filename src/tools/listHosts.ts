import { z } from 'zod';
import { defineTool, ToolError } from './types.js';

const hostRow = z.object({
  name: z.string(),
  url: z.string().describe("The agent's endpoint (scheme, host, port, path)"),
  labels: z.record(z.string(), z.string()),
  source: z
    .enum(['file', 'registered'])
    .describe('file: HOSTS_FILE; registered: the agent registered itself in Redis'),
  lastHeartbeat: z
    .string()
    .nullable()
    .describe("A registered agent's last heartbeat; it disappears when it stops beating"),
  breaker: z
    .enum(['closed', 'open', 'half_open'])
    .describe('open: recent calls failed, calls to it are paused; closed: healthy or not yet called'),
  lastContact: z.string().nullable().describe('Last successful call to the agent (this instance)'),
  lastError: z.string().nullable().describe('Why the last call failed; null after a success'),
  agentVersion: z.string().nullable().describe("The agent's server version, once contacted"),
  lastHealth: z
    .object({ status: z.string(), score: z.number(), at: z.string() })
    .nullable()
    .describe('The last run_health_check or fleet_health result seen for it'),
});

export const listHostsTool = defineTool({
  name: 'list_hosts',
  title: 'List audited hosts',
  description:
    'The hosts this server can audit (HOSTS_FILE, agents registered in Redis) with labels, agent reachability, ' +
    'version and last health status. Pass a name as "host" to a host tool.',
  inputSchema: {
    labels: z
      .record(z.string(), z.string())
      .optional()
      .describe('Only hosts having all these labels, e.g. {"role": "web"}'),
  },
  outputSchema: {
    hosts: z.array(hostRow),
    registryLoadedAt: z.string(),
  },
  scope: 'audit:read',
  annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true, destructiveHint: false },
  async handler({ labels }, ctx) {
    const fleet = ctx.fleet;
    if (!fleet)
      throw new ToolError(
        'No host registry: set HOSTS_FILE, or FLEET_AGENT_KEY_FILE for agents registered in Redis, to audit other hosts (see README "Auditing many hosts"); this server audits only itself.',
      );
    // Registrations and expiries as of this call, not of the last periodic read.
    await fleet.refresh?.();
    const rows = fleet.registry.hosts
      .filter((h) => Object.entries(labels ?? {}).every(([k, v]) => h.labels[k] === v))
      .map((h) => {
        const u = new URL(h.url);
        return {
          name: h.name,
          url: `${u.protocol}//${u.host}${u.pathname}`,
          labels: h.labels,
          source: h.source,
          lastHeartbeat: h.lastHeartbeat,
          ...fleet.pool.status(h.name),
        };
      });
    const open = rows.filter((r) => r.breaker !== 'closed').map((r) => r.name);
    const summary =
      `${rows.length} host(s)${labels ? ' matching the labels' : ''}: ${rows.map((r) => r.name).join(', ') || 'none'}.` +
      (open.length ? ` Failing (breaker open): ${open.join(', ')}.` : '');
    return { structured: { hosts: rows, registryLoadedAt: fleet.registry.loadedAt }, summary };
  },
});
