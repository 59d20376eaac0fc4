import type { Finding } from '../findings.js';

export const CHECK_GROUPS = ['resources', 'services', 'network', 'hardware', 'security', 'clock'] as const;
export type CheckGroup = (typeof CHECK_GROUPS)[number];

/** A flat map of measured values, named like `memory.used_percent`, `disk./var.used_percent`, `net.eth0.rx_errors`. */
export type Metrics = Record<string, number>;

/**
 * What one check group produced. `degraded` means it ran but could not read everything
 * (a missing file, a denied permission, an absent command): `notes` say what and how to fix.
 */
export interface GroupResult {
  findings: Finding[];
  metrics: Metrics;
  /** Problems reading the host: each a short sentence with a hint ("smartctl not found: install smartmontools"). */
  notes: string[];
}

export const emptyResult = (): GroupResult => ({ findings: [], metrics: {}, notes: [] });

/** Merges results of sub-checks into one group result. */
export function mergeResults(...parts: GroupResult[]): GroupResult {
  const out = emptyResult();
  for (const p of parts) {
    out.findings.push(...p.findings);
    Object.assign(out.metrics, p.metrics);
    out.notes.push(...p.notes);
  }
  return out;
}
