import type { SessionRecord, SessionStore } from '../session/sessionStore.js';
import type { RedisClient } from './redisClient.js';

/**
 * Session records as JSON strings with a native TTL: SET ... PX on create, GETEX ... PX on use
 * (one round trip reads and slides the expiry), so expiry needs no sweeper.
 */
export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {}

  private key(id: string): string {
    return `${this.prefix}session:${id}`;
  }

  async create(record: SessionRecord): Promise<void> {
    await this.redis.set(this.key(record.id), JSON.stringify(record), 'PX', this.ttlMs);
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const v = await this.redis.get(this.key(id));
    return v ? (JSON.parse(v) as SessionRecord) : undefined;
  }

  async touch(id: string): Promise<SessionRecord | undefined> {
    // The session's stream events (for Last-Event-ID) live as long as the session.
    void this.redis.pexpire(`${this.prefix}events:${id}`, this.ttlMs).catch(() => undefined);
    const v = await this.redis.getex(this.key(id), 'PX', this.ttlMs);
    if (!v) return undefined;
    return { ...(JSON.parse(v) as SessionRecord), lastSeenAt: Date.now() };
  }

  async update(id: string, fields: Partial<Pick<SessionRecord, 'logLevel'>>): Promise<boolean> {
    const current = await this.get(id);
    if (!current) return false;
    // XX: only while it still exists; KEEPTTL: an update is not a use.
    const ok = await this.redis.set(this.key(id), JSON.stringify({ ...current, ...fields }), 'KEEPTTL', 'XX');
    return ok === 'OK';
  }

  async delete(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }

  async sweepExpired(): Promise<string[]> {
    return []; // Redis expires keys itself
  }

  async close(): Promise<void> {
    // The connection belongs to the fleet wiring, which closes it.
  }
}
