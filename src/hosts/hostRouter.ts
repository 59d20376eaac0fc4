/**
 * Which machine a host tool audits (issue 19). With no registry, or one with at most one
 * host, an omitted `host` means this machine; with several hosts it must be named. A `host`
 * is only ever a registry name (HOSTS_FILE, or an agent registered in Redis): a caller cannot
 * aim calls at an address of its choosing.
 */
import type { Logger } from '../observability/logger.js';
import type { Resilience } from '../resilience/resilience.js';
import type { AgentDirectory } from './agentDirectory.js';
import { AgentPool } from './agentPool.js';
import type { SourcedHost } from './agentRecords.js';
import { HostSet } from './hostSet.js';
import { HostRegistry, type HostRegistryData } from './registry.js';

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

export type Route = { kind: 'local' } | { kind: 'agent'; host: SourcedHost };

export class HostRouter {
  readonly pool: AgentPool;

  constructor(
    readonly registry: HostSet,
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
        `This server audits several hosts (${sources(this.registry)}); name one with "host": ${names(hosts)}. list_hosts shows them with their labels.`,
      );
    }
    const entry = this.registry.find(host);
    if (!entry)
      throw new UnknownHostError(
        `Unknown host "${host.slice(0, 64)}": "host" must be a name from ${sources(this.registry)} (${names(hosts) || 'none configured'}), not an address.`,
      );
    return { kind: 'agent', host: entry };
  }

  /**
   * resolve(), after reading Redis again when the name is not known yet: an agent that
   * registered a moment ago is reachable from every instance at once.
   */
  async resolveFresh(host: string | undefined): Promise<Route> {
    if (host !== undefined && !this.registry.find(host) && this.registry.registered) await this.missRead();
    return this.resolve(host);
  }

  private lastMissRead = 0;
  private scheduled: Promise<void> | undefined;

  /**
   * At most one such read a second, shared by every call waiting for it: unknown names cannot
   * turn calls into Redis load, and a call waits at most a second for a read that follows it.
   */
  private missRead(): Promise<void> {
    this.scheduled ??= new Promise<void>((r) =>
      setTimeout(r, Math.max(0, this.lastMissRead + 1000 - Date.now())),
    )
      .then(() => {
        this.lastMissRead = Date.now();
        return this.registry.refresh();
      })
      .finally(() => {
        this.scheduled = undefined;
      });
    return this.scheduled;
  }

  /**
   * Registrations and expiries as of this call (list_hosts): a read that starts after the call,
   * shared and at most one a second like missRead, so back-to-back listings are not each a full
   * read of up to FLEET_AGENTS_MAX records.
   */
  refresh(): Promise<void> {
    return this.registry.registered ? this.missRead() : this.registry.refresh();
  }

  close(): void {
    this.pool.close();
    this.registry.close();
  }
}

function sources(set: HostSet): string {
  if (set.file && set.registered) return 'HOSTS_FILE and agents registered in Redis';
  return set.file ? 'HOSTS_FILE' : 'agents registered in Redis';
}

function names(hosts: readonly SourcedHost[]): string {
  const shown = hosts.slice(0, 50).map((h) => h.name);
  return shown.join(', ') + (hosts.length > shown.length ? `, ... (${hosts.length} in all)` : '');
}

const routers = new WeakMap<object, HostRouter>();
const directories = new WeakMap<object, { directory: AgentDirectory; agentKey: string }>();

/**
 * Registered agents for the process whose resilience layer this is (runtime.ts attaches the
 * directory it started, before any server is built).
 */
export function attachAgentDirectory(
  resilience: Resilience,
  directory: AgentDirectory,
  agentKey: string,
): void {
  directories.set(resilience, { directory, agentKey });
}

/**
 * The process's router, built on first use from the registry loaded at start (and the
 * registered agents, when attached) and kept per resilience layer (one per process), so every
 * session shares the agents' clients and breakers.
 */
export function hostRouterFor(
  config: { HOSTS_FILE?: string; hosts?: HostRegistryData },
  resilience: Resilience,
  logger: Logger,
  version: string,
): HostRouter | undefined {
  const registered = directories.get(resilience);
  const withFile = Boolean(config.HOSTS_FILE && config.hosts);
  if (!withFile && !registered) return undefined;
  let r = routers.get(resilience);
  if (!r) {
    const log = logger.child({ component: 'hosts' });
    let file: HostRegistry | undefined;
    if (config.HOSTS_FILE && config.hosts) {
      file = new HostRegistry(config.HOSTS_FILE, log, process.env, config.hosts);
      file.watch();
    }
    r = new HostRouter(new HostSet(file, registered, log), resilience, version);
    routers.set(resilience, r);
  }
  return r;
}
