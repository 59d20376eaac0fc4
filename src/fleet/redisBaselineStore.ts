/**
 * Baselines in Redis for fleet mode, so every instance compares against the same history: one
 * JSON string per baseline, a sorted set per host (score: creation time), a set of hosts, and
 * a hash of sizes per host for the byte budget. Retention as in the file store: at most
 * maxCount and maxBytes per host, oldest pruned first, right after each save.
 */
import { BASELINE_ID_RE, newBaselineId } from '../baselines/fileBaselineStore.js';
import { type Baseline, type BaselineStore, type BaselineSummary, summarize } from '../baselines/types.js';
import type { RedisClient } from './redisClient.js';

export class RedisBaselineStore implements BaselineStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly maxCount: number,
    private readonly maxBytes: number,
  ) {}

  // One hash tag for every key: in Redis Cluster they share a slot, so MULTI and MGET work.
  private k = {
    baseline: (id: string) => `${this.prefix}{baselines}:b:${id}`,
    host: (hostId: string) => `${this.prefix}{baselines}:host:${hostId}`,
    sizes: (hostId: string) => `${this.prefix}{baselines}:sizes:${hostId}`,
    hosts: () => `${this.prefix}{baselines}:hosts`,
  };

  async save(b: Omit<Baseline, 'id'>): Promise<Baseline> {
    const record: Baseline = { ...b, id: newBaselineId(b.hostId, b.createdAt) };
    const text = JSON.stringify(record);
    // One MULTI: the record, its index entries and its size land together or not at all.
    const saved = await this.redis
      .multi()
      .set(this.k.baseline(record.id), text)
      .zadd(this.k.host(b.hostId), Date.parse(b.createdAt), record.id)
      .hset(this.k.sizes(b.hostId), record.id, String(Buffer.byteLength(text)))
      .sadd(this.k.hosts(), b.hostId)
      .exec();
    const failed = saved?.find(([err]) => err);
    if (!saved || failed) throw failed?.[0] ?? new Error('baseline not saved: transaction discarded');
    await this.prune(b.hostId, record.id);
    return record;
  }

  private async prune(hostId: string, keepId: string): Promise<void> {
    const ids = await this.redis.zrange(this.k.host(hostId), 0, -1); // oldest first
    const sizes = await this.redis.hgetall(this.k.sizes(hostId));
    let bytes = ids.reduce((s, id) => s + Number(sizes[id] ?? 0), 0);
    let count = ids.length;
    const drop: string[] = [];
    for (const id of ids) {
      if (count <= this.maxCount && bytes <= this.maxBytes) break;
      // Never the one just saved (its clock may run behind another instance's), nor the last one.
      if (count === 1) break;
      if (id === keepId) continue;
      drop.push(id);
      count--;
      bytes -= Number(sizes[id] ?? 0);
    }
    if (drop.length === 0) return;
    await this.redis
      .multi()
      .del(...drop.map((id) => this.k.baseline(id)))
      .zrem(this.k.host(hostId), ...drop)
      .hdel(this.k.sizes(hostId), ...drop)
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
