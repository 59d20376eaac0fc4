/** What any instance needs to know about a session. Fleet mode keeps the same record in Redis. */
export interface SessionRecord {
  id: string;
  createdAt: number;
  lastSeenAt: number;
  protocolVersion: string;
  clientName?: string;
  clientVersion?: string;
  /** The client's declared capabilities at initialize. */
  clientCapabilities?: Record<string, unknown>;
  /** Who created the session (the auth principal; "anonymous" until authentication exists). */
  principal: string;
  /** The level set with logging/setLevel, if any. */
  logLevel?: string;
}

/**
 * Session records with sliding expiry: a session unused for the TTL is gone.
 * Implementations: MemorySessionStore (one process), a Redis store (fleet mode).
 */
export interface SessionStore {
  create(record: SessionRecord): Promise<void>;
  /** The live record, or undefined when unknown or expired. */
  get(id: string): Promise<SessionRecord | undefined>;
  /** Marks the session used now and returns its record, or undefined when it no longer exists. */
  touch(id: string): Promise<SessionRecord | undefined>;
  /** Merges fields into a live record (e.g. the log level); false when it no longer exists. */
  update(id: string, fields: Partial<Pick<SessionRecord, 'logLevel'>>): Promise<boolean>;
  delete(id: string): Promise<void>;
  /** Drops expired records and returns their ids (a store with native expiry may return []). */
  sweepExpired(): Promise<string[]>;
  close(): Promise<void>;
}
