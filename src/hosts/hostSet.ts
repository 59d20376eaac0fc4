/**
 * The hosts a serving instance can route `host` to: HOSTS_FILE's entries and, in fleet mode
 * with the fleet's agent key, the agents registered in Redis (agentDirectory.ts). A HOSTS_FILE
 * entry wins on a name clash. Recomputed when either side changes; readers get a snapshot.
 */
import type { AgentDirectory } from './agentDirectory.js';
import { mergeHosts, type SourcedHost } from './agentRecords.js';
import type { HostRegistry, RegistryLogger } from './registry.js';

export class HostSet {
  private merged: SourcedHost[] = [];
  private readonly byName = new Map<string, SourcedHost>();
  private readonly listeners = new Set<() => void>();
  private shadowedLogged = '';
  private readonly createdAt = new Date().toISOString();

  constructor(
    readonly file: HostRegistry | undefined,
    readonly registered: { directory: AgentDirectory; agentKey: string } | undefined,
    private readonly log: RegistryLogger,
  ) {
    this.recompute();
    file?.onChange(() => this.changed());
    registered?.directory.onChange(() => this.changed());
  }

  get hosts(): readonly SourcedHost[] {
    return this.merged;
  }

  /** When HOSTS_FILE was read, else when Redis was last read. */
  get loadedAt(): string {
    return this.file?.loadedAt ?? this.registered?.directory.lastRead ?? this.createdAt;
  }

  /** When the registered agents were last read from Redis (null: not in use or never read). */
  get registeredReadAt(): string | null {
    return this.registered?.directory.lastRead ?? null;
  }

  find(name: string): SourcedHost | undefined {
    return this.byName.get(name);
  }

  onChange(fn: () => void): void {
    this.listeners.add(fn);
  }

  /** Reads Redis now (list_hosts, and a `host` not known yet); a no-op without registrations. */
  async refresh(): Promise<void> {
    await this.registered?.directory.refresh();
  }

  close(): void {
    this.file?.close();
  }

  private changed(): void {
    this.recompute();
    for (const fn of this.listeners) fn();
  }

  private recompute(): void {
    const { hosts, shadowed } = mergeHosts(
      this.file?.hosts ?? [],
      this.registered?.directory.agents ?? [],
      this.registered?.agentKey ?? '',
    );
    this.merged = hosts;
    this.byName.clear();
    for (const h of hosts) this.byName.set(h.name, h);
    const key = shadowed.join(',');
    if (key && key !== this.shadowedLogged)
      this.log.warn(
        { shadowed },
        'registered agents with the name of a HOSTS_FILE entry are ignored: the HOSTS_FILE entry wins',
      );
    this.shadowedLogged = key;
  }
}
