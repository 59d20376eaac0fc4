/** The shape every audit tool reports problems in (DESIGN.md "A finding"). */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  /** Stable rule id, e.g. `disk.used_percent`, `raid.degraded`; with a subject suffix when per-item: `disk.used_percent:/var`. */
  id: string;
  severity: Severity;
  title: string;
  /** The numbers or lines that prove it. */
  evidence: string;
  /** What to do, with the package name when a command is missing. */
  recommendation: string;
}

/**
 * An adder for findings about one subject (a target, a URL): ids get ":<subject>" and titles
 * "<subject>: " so findings of many subjects in one result stay apart.
 */
export function subjectFindings(subject: string, into: Finding[]) {
  return (id: string, severity: Severity, title: string, evidence: string, recommendation: string): void => {
    into.push({ id: `${id}:${subject}`, severity, title: `${subject}: ${title}`, evidence, recommendation });
  };
}

/** Lower rank = worse. */
export const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

export function worstFirst(a: Finding, b: Finding): number {
  return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.id.localeCompare(b.id);
}
