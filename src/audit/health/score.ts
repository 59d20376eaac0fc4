import { type Finding, SEVERITY_RANK, type Severity } from '../findings.js';

/** Points a finding costs the 0-100 score: one critical outweighs any number of lows in status. */
const PENALTY: Record<Severity, number> = { critical: 25, high: 10, medium: 4, low: 1, info: 0 };

export type HealthStatus = 'ok' | 'warning' | 'critical';

export function scoreFindings(findings: Finding[]): { status: HealthStatus; score: number } {
  const score = Math.max(0, 100 - findings.reduce((s, f) => s + PENALTY[f.severity], 0));
  const worst = Math.min(...findings.map((f) => SEVERITY_RANK[f.severity]), SEVERITY_RANK.info);
  const status: HealthStatus =
    worst === SEVERITY_RANK.critical ? 'critical' : worst <= SEVERITY_RANK.medium ? 'warning' : 'ok';
  return { status, score };
}
