/**
 * Which baselines a save may prune. History is protected: a principal without audit:admin can
 * never cause the loss of a baseline it did not create.
 *
 * - Every baseline records who saved it (`createdBy`, the principal id).
 * - A save by a principal WITHOUT audit:admin keeps at most `maxPerPrincipal` of its own
 *   baselines per host (its oldest go first), and, when the host is over `maxCount` or
 *   `maxBytes`, may prune only its own oldest. When that cannot bring the host within the caps
 *   (the rest belong to others), the new baseline is not kept: the save is refused
 *   (BaselineQuotaError) and nobody else's history is touched.
 * - A save by a principal WITH audit:admin (and the local stdio user, and anonymous callers on
 *   a server without authentication, who hold every scope) prunes the host's oldest baselines,
 *   whoever saved them, as before: admins may delete baselines anyway (delete_baselines).
 * - Baselines saved before owners were recorded have no owner: only admin saves prune them.
 *
 * Pure: both stores (files, Redis) feed it their index and apply its answer.
 */

import type { Principal } from '../auth/principal.js';

export interface Saver {
  /** The principal id saving (jwt:<sub>, key:<name>, local, anonymous). */
  createdBy: string;
  /** Holds audit:admin: its saves may prune others' baselines under the host caps. */
  admin: boolean;
}

/**
 * A save without a saver (the store's own callers, not a tool call): trusted like an admin, and
 * the baseline gets no owner, so only admin saves prune it.
 */
export const SYSTEM_SAVER: Saver = { createdBy: '', admin: true };

export interface RetentionLimits {
  maxCount: number;
  maxBytes: number;
  /** Per host, per principal without audit:admin. */
  maxPerPrincipal: number;
}

export interface IndexedBaseline {
  id: string;
  size: number;
  /** undefined: unknown (saved before owners were recorded, or unreadable). */
  createdBy: string | undefined;
}

/**
 * Who saves, for retention: an admin (audit:admin, which stdio's local user and anonymous callers
 * of a server without authentication hold) may cause any baseline to be pruned; anyone else only
 * its own. A call without a principal is an unknown caller without audit:admin.
 */
export function saverOf(principal: Principal | undefined): Saver {
  if (!principal) return { createdBy: 'unknown', admin: false };
  return { createdBy: principal.id, admin: principal.scopes.includes('audit:admin') };
}

/** The save would have to prune others' baselines, which this principal may not do. */
export class BaselineQuotaError extends Error {
  override name = 'BaselineQuotaError';
}

/**
 * `entries` oldest first, including the one just saved (`keepId`). Returns the ids to delete and
 * whether `keepId` itself must go (the save is refused).
 */
export function chooseEvictions(
  entries: IndexedBaseline[],
  keepId: string,
  saver: Saver,
  limits: RetentionLimits,
): { drop: string[]; refused: boolean } {
  const drop = new Set<string>();
  const mayPrune = (e: IndexedBaseline) =>
    e.id !== keepId && (saver.admin || e.createdBy === saver.createdBy);
  if (!saver.admin) {
    const own = entries.filter((e) => e.createdBy === saver.createdBy);
    let excess = own.length - limits.maxPerPrincipal;
    for (const e of own) {
      if (excess <= 0) break;
      if (e.id === keepId) continue;
      drop.add(e.id);
      excess--;
    }
  }
  let count = entries.length - drop.size;
  let bytes = entries.reduce((s, e) => s + (drop.has(e.id) ? 0 : Math.max(e.size, 0)), 0);
  const over = () => count > limits.maxCount || bytes > limits.maxBytes;
  for (const e of entries) {
    if (!over()) break;
    if (drop.has(e.id) || !mayPrune(e)) continue;
    drop.add(e.id);
    count--;
    bytes -= Math.max(e.size, 0);
  }
  // An admin's save is kept even then (only a single record larger than maxBytes could do it).
  // A refused save removes nothing but itself: pruning its owner's older ones would not make room.
  const refused = over() && !saver.admin;
  return { drop: refused ? [] : [...drop], refused };
}

export function quotaMessage(limits: RetentionLimits): string {
  return (
    `baseline not saved: this host already holds ${limits.maxCount} baselines (BASELINE_MAX_COUNT) or ` +
    `${limits.maxBytes} bytes (BASELINE_MAX_BYTES) saved by others, which only a principal with audit:admin ` +
    'may cause to be pruned; ask an admin to delete_baselines or raise the limits'
  );
}
