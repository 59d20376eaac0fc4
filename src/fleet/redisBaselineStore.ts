/**
 * Baselines in Redis for fleet mode, so every instance compares against the same history: one
 * JSON string per baseline, a sorted set per host (score: creation time), a set of hosts, a
 * hash of sizes per host for the byte budget and a hash of owners per host (who saved each).
 * Retention as in the file store (src/baselines/retention.ts), right after each save: a
 * principal without audit:admin prunes only its own baselines, and its save is refused when
 * only others' could make room.
 */
import { BASELINE_ID_RE, newBaselineId } from '../baselines/fileBaselineStore.js';
import {
  BaselineQuotaError,
  chooseEvictions,
  quotaMessage,
  type RetentionLimits,
  type Saver,
  SYSTEM_SAVER,
} from '../baselines/retention.js';
import { type Baseline, type BaselineStore, type BaselineSummary, summarize } from '../baselines/types.js';
import type { RedisClient } from './redisClient.js';

export class RedisBaselineStore implements BaselineStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly maxCount: number,
    private readonly maxBytes: number,
    /** Per host, per principal without audit:admin (BASELINE_MAX_PER_PRINCIPAL). */
    private readonly maxPerPrincipal = 100,
  ) {}

  private get limits(): RetentionLimits {
    return { maxCount: this.maxCount, maxBytes: this.maxBytes, maxPerPrincipal: this.maxPerPrincipal };
  }

  // One hash tag for every key: in Redis Cluster they share a slot, so MULTI and MGET work.
  private k = {
    baseline: (id: string) => `${this.prefix}{baselines}:b:${id}`,
    host: (hostId: string) => `${this.prefix}{baselines}:host:${hostId}`,
    sizes: (hostId: string) => `${this.prefix}{baselines}:sizes:${hostId}`,
    owners: (hostId: string) => `${this.prefix}{baselines}:owners:${hostId}`,
    hosts: () => `${this.prefix}{baselines}:hosts`,
  };

  async save(b: Omit<Baseline, 'id' | 'createdBy'>, saver?: Saver): Promise<Baseline> {
    const by = saver ?? SYSTEM_SAVER;
    // Without a saver (the store's own callers) the record has no owner: only admins prune it.
    const record: Baseline = {
      ...b,
      id: newBaselineId(b.hostId, b.createdAt),
      ...(saver ? { createdBy: saver.createdBy } : {}),
    };
    const text = JSON.stringify(record);
    // One MULTI: the record, its index entries and its size land together or not at all.
    const tx = this.redis
      .multi()
      .set(this.k.baseline(record.id), text)
      .zadd(this.k.host(b.hostId), Date.parse(b.createdAt), record.id)
      .hset(this.k.sizes(b.hostId), record.id, String(Buffer.byteLength(text)))
      .sadd(this.k.hosts(), b.hostId);
    if (saver) tx.hset(this.k.owners(b.hostId), record.id, saver.createdBy);
    const saved = await tx.exec();
    const failed = saved?.find(([err]) => err);
    if (!saved || failed) throw failed?.[0] ?? new Error('baseline not saved: transaction discarded');
    if (await this.prune(b.hostId, record.id, by)) {
      // Making room would prune others' history, which this principal may not cause: keep nothing.
      await this.remove(b.hostId, [record.id]);
      throw new BaselineQuotaError(quotaMessage(this.limits));
    }
    return record;
  }

  /** Applies retention for a save by `by`; true when the save itself must be refused. */
  private async prune(hostId: string, keepId: string, by: Saver): Promise<boolean> {
    const ids = await this.redis.zrange(this.k.host(hostId), 0, -1); // oldest first
    const [sizes, owners] = await Promise.all([
      this.redis.hgetall(this.k.sizes(hostId)),
      this.redis.hgetall(this.k.owners(hostId)),
    ]);
    // The one just saved is never pruned (chooseEvictions), even when another instance's clock
    // put older-stamped ids after it.
    const { drop, refused } = chooseEvictions(
      ids.map((id) => ({ id, size: Number(sizes[id] ?? 0), createdBy: owners[id] })),
      keepId,
      by,
      this.limits,
    );
    if (drop.length > 0) await this.remove(hostId, drop);
    return refused;
  }

  private async remove(hostId: string, ids: string[]): Promise<void> {
    await this.redis
      .multi()
      .del(...ids.map((id) => this.k.baseline(id)))
      .zrem(this.k.host(hostId), ...ids)
      .hdel(this.k.sizes(hostId), ...ids)
      .hdel(this.k.owners(hostId), ...ids)
      .exec();
  }

  async get(id: string): Promise<Baseline | undefined> {
    if (!BASELINE_ID_RE.test(id)) return undefined;
    const text = await this.redis.get(this.k.baseline(id));
    return text ? (JSON.parse(text) as Baseline) : undefined;
  }

  async list(opts: { hostId?: string; limit?: number } = {}): Promise<BaselineSummary[]> {
    const limit = opts.limit ?? 1000;
    const hosts = opts.hostId ? [opts.hostId] : await this.redis.smembers(this.k.hosts());
    const ids = (
      await Promise.all(hosts.map((h) => this.redis.zrevrange(this.k.host(h), 0, limit - 1)))
    ).flat();
    const records = await this.load(ids);
    return records
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, limit)
      .map(summarize);
  }

  async recent(hostId: string, n: number): Promise<Baseline[]> {
    const ids = await this.redis.zrevrange(this.k.host(hostId), 0, n - 1);
    return this.load(ids);
  }

  async delete(id: string): Promise<boolean> {
    const record = await this.get(id);
    if (!record) return false;
    const done = await this.redis
      .multi()
      .del(this.k.baseline(id))
      .zrem(this.k.host(record.hostId), id)
      .hdel(this.k.sizes(record.hostId), id)
      .hdel(this.k.owners(record.hostId), id)
      .exec();
    const failed = done?.find(([err]) => err);
    if (!done || failed) throw failed?.[0] ?? new Error('baseline not deleted: transaction discarded');
    return done[0]?.[1] === 1;
  }

  private async load(ids: string[]): Promise<Baseline[]> {
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(...ids.map((id) => this.k.baseline(id)));
    return texts.filter((t): t is string => t !== null).map((t) => JSON.parse(t) as Baseline);
  }

  async close(): Promise<void> {
    // The connection belongs to the fleet wiring.
  }
}
