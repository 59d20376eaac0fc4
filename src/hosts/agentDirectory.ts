/**
 * Agents in Redis (issue 19, fleet mode), both sides:
 * - AgentHeartbeat: an agent started with AGENT_NAME writes its registration (agentRecords.ts)
 *   with a TTL of 3 heartbeats and refreshes it every AGENT_HEARTBEAT_SECONDS; on shutdown it
 *   deletes it (only if it is still its own), so a cleanly stopped agent disappears at once and
 *   a killed one after its TTL.
 * - AgentDirectory: a serving instance with the fleet's agent key reads the registrations
 *   (at most FLEET_AGENTS_MAX, each at most 8 KiB, each validated; anything else is ignored
 *   and logged once), every FLEET_AGENTS_REFRESH_SECONDS and on demand.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../fleet/redisClient.js';
import {
  agentKeys,
  MAX_RECORD_BYTES,
  parseRegistration,
  type Registration,
  TTL_HEARTBEATS,
} from './agentRecords.js';

export interface DirectoryLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Index entries whose expiry passed this long ago are dropped (generous: clocks differ). */
const INDEX_GRACE_MS = 3600_000;
/** The latest expiry a real registration can have: 3 heartbeats of at most 300 s, plus clock skew. */
const MAX_EXPIRY_AHEAD_MS = 3 * 300_000 + 5 * 60_000;

/** Deletes the registration only when it still holds what this agent wrote last. */
const DELETE_IF_OURS = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
return 0`;

export interface HeartbeatOptions {
  name: string;
  url: string;
  labels: Record<string, string>;
  version: string;
  heartbeatSeconds: number;
}

export class AgentHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private failing = false;
  private stopped = false;
  private inflight: Promise<boolean> | undefined;
  private readonly instance = randomBytes(8).toString('hex');
  private readonly startedAt = new Date().toISOString();
  private readonly keys: ReturnType<typeof agentKeys>;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly opts: HeartbeatOptions,
    private readonly log: DirectoryLogger,
  ) {
    this.keys = agentKeys(prefix);
  }

  get ttlMs(): number {
    return this.opts.heartbeatSeconds * TTL_HEARTBEATS * 1000;
  }

  /** The first beat is awaited (logged, not thrown, when Redis is away); then every interval. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.opts.heartbeatSeconds * 1000);
    this.timer.unref();
  }

  /** One heartbeat; stop() waits for one in flight, so it cannot land after the delete. */
  beat(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    const p = this.write();
    this.inflight = p;
    return p;
  }

  private async write(): Promise<boolean> {
    const now = Date.now();
    const record: Registration = {
      v: 1,
      name: this.opts.name,
      url: this.opts.url,
      labels: this.opts.labels,
      version: this.opts.version,
      startedAt: this.startedAt,
      heartbeatAt: new Date(now).toISOString(),
      heartbeatSeconds: this.opts.heartbeatSeconds,
      instance: this.instance,
    };
    const value = JSON.stringify(record);
    try {
      const res = await this.redis
        .multi()
        .set(this.keys.record(this.opts.name), value, 'PX', this.ttlMs)
        .zadd(this.keys.index(), now + this.ttlMs, this.opts.name)
        .zremrangebyscore(this.keys.index(), '-inf', `(${now - INDEX_GRACE_MS}`)
        .exec();
      const failed = res?.find(([err]) => err);
      if (!res || failed) throw failed?.[0] ?? new Error('transaction discarded');
      this.last = value;
      if (this.failing) this.log.info({ agent: this.opts.name }, 'agent registration renewed in Redis');
      this.failing = false;
      return true;
    } catch (err) {
      if (!this.failing)
        this.log.warn(
          { agent: this.opts.name, err: (err as Error).message },
          'cannot renew the agent registration in Redis; retrying every heartbeat',
        );
      this.failing = true;
      return false;
    }
  }

  /** Stops beating and deletes the registration if it is still this agent's own. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopped = true;
    await this.inflight?.catch(() => undefined);
    if (!this.last) return;
    try {
      await this.redis.eval(
        DELETE_IF_OURS,
        2,
        this.keys.record(this.opts.name),
        this.keys.index(),
        this.last,
        this.opts.name,
      );
      this.log.info({ agent: this.opts.name }, 'agent registration removed from Redis');
    } catch (err) {
      this.log.warn(
        { agent: this.opts.name, err: (err as Error).message },
        'cannot remove the agent registration; it expires with its TTL',
      );
    }
    this.last = undefined;
  }
}

export interface DirectoryOptions {
  max: number;
  refreshSeconds: number;
}

export class AgentDirectory {
  private current: Registration[] = [];
  private readAt: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private readonly listeners = new Set<() => void>();
  /** Names whose bad value was logged, with that value's digest: each problem is logged once. */
  private readonly reported = new Map<string, string>();
  private readonly keys: ReturnType<typeof agentKeys>;
  private lastFailure: string | null = null;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly opts: DirectoryOptions,
    private readonly log: DirectoryLogger,
  ) {
    this.keys = agentKeys(prefix);
  }

  get agents(): readonly Registration[] {
    return this.current;
  }

  /** When Redis was last read successfully (null: never). */
  get lastRead(): string | null {
    return this.readAt;
  }

  onChange(fn: () => void): void {
    this.listeners.add(fn);
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.refreshSeconds * 1000);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Reads the registrations now (concurrent callers share one read). On a Redis failure the
   * last list read stays in force (agents behind open breakers fail fast anyway).
   */
  refresh(): Promise<void> {
    this.inflight ??= this.read().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async read(): Promise<void> {
    let names: string[];
    let values: Array<string | null>;
    try {
      // Latest expiry first: live agents come before stale index entries, within the bound.
      // An expiry further ahead than any TTL (+ clock skew) is no agent's: planted entries
      // cannot crowd real ones out of the bound.
      const ceiling = Date.now() + MAX_EXPIRY_AHEAD_MS;
      names = await this.redis.zrevrangebyscore(
        this.keys.index(),
        ceiling,
        '-inf',
        'LIMIT',
        0,
        this.opts.max,
      );
      const p = this.redis.pipeline();
      for (const n of names) p.getrange(this.keys.record(n), 0, MAX_RECORD_BYTES);
      const res = (await p.exec()) ?? [];
      values = names.map((_n, i) => {
        const [err, v] = res[i] ?? [new Error('no reply'), null];
        return err ? null : typeof v === 'string' ? v : null;
      });
    } catch (err) {
      const why = (err as Error).message;
      if (this.lastFailure !== why)
        this.log.warn({ err: why }, 'cannot read registered agents from Redis; keeping the last list');
      this.lastFailure = why;
      return;
    }
    this.lastFailure = null;
    const next: Registration[] = [];
    names.forEach((name, i) => {
      const parsed = parseRegistration(name, values[i]);
      if (parsed.ok) {
        this.reported.delete(name);
        next.push(parsed.record);
        return;
      }
      if (parsed.why === 'expired') return;
      const digest = `${parsed.why}:${values[i]?.length ?? 0}`;
      if (this.reported.get(name.slice(0, 200)) !== digest) {
        if (this.reported.size > 1000) this.reported.clear();
        this.reported.set(name.slice(0, 200), digest);
        this.log.warn(
          { agent: name.slice(0, 80), why: parsed.why },
          'ignoring an invalid agent registration in Redis',
        );
      }
    });
    this.readAt = new Date().toISOString();
    next.sort((a, b) => a.name.localeCompare(b.name));
    const changed =
      next.length !== this.current.length ||
      next.some((r, i) => {
        const c = this.current[i];
        return (
          !c ||
          c.name !== r.name ||
          c.url !== r.url ||
          c.heartbeatAt !== r.heartbeatAt ||
          JSON.stringify(c.labels) !== JSON.stringify(r.labels)
        );
      });
    const before = new Set(this.current.map((r) => r.name));
    const after = new Set(next.map((r) => r.name));
    const joined = [...after].filter((n) => !before.has(n));
    const left = [...before].filter((n) => !after.has(n));
    this.current = next;
    if (joined.length || left.length) this.log.info({ joined, left }, 'registered agents changed');
    if (changed) for (const fn of this.listeners) fn();
  }
}
