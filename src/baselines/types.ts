import type { Severity } from '../audit/findings.js';
import type { Saver } from './retention.js';

export type BaselineStatus = 'ok' | 'warning' | 'critical';

/** A finding as a baseline keeps it: enough to tell appeared/resolved/changed, not the evidence. */
export interface BaselineFinding {
  id: string;
  severity: Severity;
  title: string;
}

/** One saved run_health_check result. */
export interface Baseline {
  /** Assigned by the store; URL-safe (it appears in audit://baselines/{id}) and sortable by time per host. */
  id: string;
  hostId: string;
  /** ISO 8601. */
  createdAt: string;
  label?: string;
  /**
   * The principal that saved it (jwt:<sub>, key:<name>, local, anonymous); absent on baselines
   * saved before owners were recorded. Retention uses it (src/baselines/retention.ts).
   */
  createdBy?: string;
  status: BaselineStatus;
  score: number;
  metrics: Record<string, number>;
  findings: BaselineFinding[];
}

/** What a listing shows without shipping every metric. */
export interface BaselineSummary {
  id: string;
  hostId: string;
  createdAt: string;
  label?: string;
  status: BaselineStatus;
  score: number;
  metricCount: number;
  findingCount: number;
}

/**
 * Saved baselines, per host. Implementations: FileBaselineStore (one machine); a Redis store
 * arrives with fleet mode. Records returned may be shared with the store's cache: treat them as
 * read-only (the file store freezes them).
 */
export interface BaselineStore {
  /**
   * Assigns the id, stores the record with `by.createdBy` as its owner, then enforces retention
   * for its host as `by` may (src/baselines/retention.ts). Throws BaselineQuotaError, keeping
   * nothing, when making room would need pruning others' baselines and `by` is not an admin.
   * Without `by`: SYSTEM_SAVER (trusted, like an admin).
   */
  save(b: Omit<Baseline, 'id' | 'createdBy'>, by?: Saver): Promise<Baseline>;
  /** The baseline, or undefined when unknown, pruned, unreadable or the id is malformed. */
  get(id: string): Promise<Baseline | undefined>;
  /** Newest first, across hosts unless hostId is given. */
  list(opts?: { hostId?: string; limit?: number }): Promise<BaselineSummary[]>;
  /** The host's n newest full records, newest first (for trends). */
  recent(hostId: string, n: number): Promise<Baseline[]>;
  /** Removes one baseline; false when it did not exist (or the id is malformed). */
  delete(id: string): Promise<boolean>;
  close(): Promise<void>;
}

export function summarize(b: Baseline): BaselineSummary {
  const s: BaselineSummary = {
    id: b.id,
    hostId: b.hostId,
    createdAt: b.createdAt,
    status: b.status,
    score: b.score,
    metricCount: Object.keys(b.metrics).length,
    findingCount: b.findings.length,
  };
  if (b.label !== undefined) s.label = b.label;
  return s;
}
