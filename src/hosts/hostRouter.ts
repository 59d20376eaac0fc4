/**
 * Which machine a host tool audits (issue 19). With no HOSTS_FILE, or one with at most one
 * host, an omitted `host` means this machine; with several hosts it must be named. A `host`
 * is only ever a registry name: a caller cannot aim calls at an address of its choosing.
 */
import type { Logger } from '../observability/logger.js';
import type { Resilience } from '../resilience/resilience.js';
import { AgentPool } from './agentPool.js';
import { type HostEntry, HostRegistry, type HostRegistryData } from './registry.js';

/** The tools that audit a machine and therefore take `host`. */
export const HOST_TOOLS: ReadonlySet<string> = new Set([
  'detect_system',
  'run_health_check',
  'compare_baselines',
  'check_permissions',
  'audit_compose',
  'scan_secrets',
  'analyze_bots',
  'analyze_slow_queries',
]);

export class UnknownHostError extends Error {
  override name = 'UnknownHostError';
}

export type Route = { kind: 'local' } | { kind: 'agent'; host: HostEntry };

export class HostRouter {
  readonly pool: AgentPool;

  constructor(
    readonly registry: HostRegistry,
    resilience: Resilience,
    version: string,
  ) {
    this.pool = new AgentPool(registry, resilience, version);
  }

  resolve(host: string | undefined): Route {
    const hosts = this.registry.hosts;
    if (host === undefined) {
      if (hosts.length <= 1) return { kind: 'local' };
      throw new UnknownHostError(
        `This server audits several hosts (HOSTS_FILE); name one with "host": ${names(hosts)}. list_hosts shows them with their labels.`,
      );
    }
    const entry = this.registry.find(host);
    if (!entry)
      throw new UnknownHostError(
        `Unknown host "${host.slice(0, 64)}": "host" must be a name from HOSTS_FILE (${names(hosts) || 'none configured'}), not an address.`,
      );
    return { kind: 'agent', host: entry };
  }

  close(): void {
    this.pool.close();
    this.registry.close();
  }
}

function names(hosts: readonly HostEntry[]): string {
  const shown = hosts.slice(0, 50).map((h) => h.name);
  return shown.join(', ') + (hosts.length > shown.length ? `, ... (${hosts.length} in all)` : '');
}

const routers = new WeakMap<object, HostRouter>();

/**
 * The process's router, built on first use from the registry loaded at start and kept per
 * resilience layer (one per process), so every session shares the agents' clients and breakers.
 */
export function hostRouterFor(
  config: { HOSTS_FILE?: string; hosts?: HostRegistryData },
  resilience: Resilience,
  logger: Logger,
  version: string,
): HostRouter | undefined {
  if (!config.HOSTS_FILE || !config.hosts) return undefined;
  let r = routers.get(resilience);
  if (!r) {
    const registry = new HostRegistry(
      config.HOSTS_FILE,
      logger.child({ component: 'hosts' }),
      process.env,
      config.hosts,
    );
    registry.watch();
    r = new HostRouter(registry, resilience, version);
    routers.set(resilience, r);
  }
  return r;
}
