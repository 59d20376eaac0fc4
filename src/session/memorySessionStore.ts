import type { SessionRecord, SessionStore } from './sessionStore.js';

export class MemorySessionStore implements SessionStore {
  private readonly records = new Map<string, SessionRecord>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async create(record: SessionRecord): Promise<void> {
    this.records.set(record.id, { ...record });
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const r = this.records.get(id);
    if (!r) return undefined;
    if (this.isExpired(r)) {
      this.records.delete(id);
      return undefined;
    }
    return { ...r };
  }

  async touch(id: string): Promise<SessionRecord | undefined> {
    const r = this.records.get(id);
    if (!r || this.isExpired(r)) return undefined;
    r.lastSeenAt = this.now();
    return { ...r };
  }

  async update(id: string, fields: Partial<Pick<SessionRecord, 'logLevel'>>): Promise<boolean> {
    const r = this.records.get(id);
    if (!r || this.isExpired(r)) return false;
    Object.assign(r, fields);
    return true;
  }

  /** Live records (for the sessions gauge). */
  get size(): number {
    return this.records.size;
  }

  async delete(id: string): Promise<void> {
    this.records.delete(id);
  }

  async sweepExpired(): Promise<string[]> {
    const gone: string[] = [];
    for (const [id, r] of this.records) {
      if (this.isExpired(r)) {
        this.records.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  async close(): Promise<void> {
    this.records.clear();
  }

  private isExpired(r: SessionRecord): boolean {
    return this.now() - r.lastSeenAt >= this.ttlMs;
  }
}
