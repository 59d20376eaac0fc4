/** What any instance needs to know about a session. Fleet mode keeps the same record in Redis. */
export interface SessionRecord {
  id: string;
  createdAt: number;
  lastSeenAt: number;
  protocolVersion: string;
  clientName?: string;
  clientVersion?: string;
}

/**
 * Session records with sliding expiry: a session unused for the TTL is gone.
 * Implementations: MemorySessionStore (one process), a Redis store (fleet mode).
 */
export interface SessionStore {
  create(record: SessionRecord): Promise<void>;
  /** The live record, or undefined when unknown or expired. */
  get(id: string): Promise<SessionRecord | undefined>;
  /** Marks the session used now; false when it no longer exists. */
  touch(id: string): Promise<boolean>;
  delete(id: string): Promise<void>;
  /** Drops expired records and returns their ids (a store with native expiry may return []). */
  sweepExpired(): Promise<string[]>;
  close(): Promise<void>;
}
