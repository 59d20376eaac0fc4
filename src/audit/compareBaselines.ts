import type { Baseline, BaselineFinding } from '../baselines/types.js';
import { SEVERITY_RANK, type Severity } from './findings.js';

/**
 * Pure diffing and trend fitting over baselines (no I/O): what compare_baselines reports.
 * Metric names look like `memory.used_percent`, `disk./var.avail_bytes`, `net.eth0.rx_errors`.
 */

export type Direction = 'lower' | 'higher' | 'neutral';
export type MetricVerdict = 'improved' | 'regressed' | 'unchanged' | 'changed' | 'new' | 'gone';

export interface MetricChange {
  name: string;
  from: number | null;
  to: number | null;
  /** to - from; null when either side is missing. */
  change: number | null;
  /** change / |from| in percent, to 0.01; null when from is 0 or missing. */
  changePercent: number | null;
  verdict: MetricVerdict;
}

export interface SeverityChange {
  id: string;
  title: string;
  from: Severity;
  to: Severity;
}

export interface BaselineComparison {
  /** Every metric of either side (after the filter), by name. */
  metrics: MetricChange[];
  /** Each list worst first. */
  findings: { appeared: BaselineFinding[]; resolved: BaselineFinding[]; severityChanged: SeverityChange[] };
}

export interface Trend {
  name: string;
  points: number;
  first: number;
  last: number;
  slopePerDay: number;
  projection?: string;
  etaDays?: number;
  /** The points and the fitted line, for a chart (only with TrendOptions.charts). */
  chart?: TrendChart;
}

/** A trend's points (days since `start`) and its fitted line `intercept + slopePerDay * day`. */
export interface TrendChart {
  start: string;
  intercept: number;
  days: number[];
  values: number[];
  /** When the fitted line reaches 100 (used_percent metrics with an ETA). */
  fullAt?: string;
}

/** Points per chart: past this, evenly spaced ones (the first and last always among them). */
export const MAX_CHART_POINTS = 50;

export interface TrendOptions {
  /** Metric names or name prefixes; all metrics when absent or empty. */
  metrics?: string[];
  /** Where "days until full" counts from; the newest point's time when absent. */
  now?: Date;
  /** At most this many trends, most significant first (default 50). */
  limit?: number;
  /** Keep series whose values never changed (left out by default). */
  includeFlat?: boolean;
  /** Give the first `charts` trends their points and fitted line (`chart`); none by default. */
  charts?: number;
}

// Keywords match whole words (name split on non-alphanumerics), consecutive for multi-word ones, so
// `oom` does not match `room` and `load` not `download`. Only the first and last dot-segments are
// looked at: the middle ones are subjects (mount points, interfaces, disks) whose names could
// contain anything, e.g. a mount point called /srv/free.
const LOWER_IS_BETTER = split(
  'used_percent errors error dropped drops zombies oom reallocated pending uncorrectable ce_count ue_count failed failures degraded queue retrans retransmits temperature celsius offset load iowait steal pressure time_wait mce busy blocked tainted required',
).map(words);
const HIGHER_IS_BETTER = ['free', 'available', 'avail', 'passed'].map(words);
/** 1/0 state metrics (`service.nginx.running`, `firewall.active`): only as the whole last segment, since `active_connections` is no such thing. */
const HIGHER_STATES = new Set(['running', 'active', 'synchronized']);
/** Counts of faults where a single new one is news, whatever the base (no relative tolerance). */
const FAULT_COUNTERS = split(
  'reallocated pending uncorrectable ce_count ue_count mce oom failed degraded zombies tainted required',
).map(words);
/** Counters whose growth a trend spells out ("grew 0 -> 8 over 5 checks"). */
const GROWTH_COUNTERS = split(
  'reallocated pending uncorrectable errors error dropped ce_count ue_count mce oom',
).map(words);
const USED_PERCENT = words('used_percent');
const MIB = 1024 * 1024;
/** A disk filling in more than a year is not news: no projection beyond this. */
const MAX_ETA_DAYS = 365;
const DAY_MS = 86_400_000;

/** Space-separated keyword list (kept on few lines). */
function split(list: string): string[] {
  return list.split(' ');
}

function words(s: string): string[] {
  return s
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

function hasPhrase(ws: string[], phrase: string[]): boolean {
  outer: for (let i = 0; i + phrase.length <= ws.length; i++) {
    for (let j = 0; j < phrase.length; j++) if (ws[i + j] !== phrase[j]) continue outer;
    return true;
  }
  return false;
}

/** First and last dot-segments of a metric name, as words (last first: it names the quantity). */
function keySegments(name: string): string[][] {
  const segs = name.split('.');
  const last = words(segs[segs.length - 1] ?? '');
  return segs.length > 1 ? [last, words(segs[0] ?? '')] : [last];
}

function anyPhrase(name: string, phrases: string[][]): boolean {
  return keySegments(name).some((ws) => phrases.some((p) => hasPhrase(ws, p)));
}

/** Whether a lower or higher value is better; neutral when the name says neither. */
export function metricDirection(name: string): Direction {
  for (const ws of keySegments(name)) {
    if (LOWER_IS_BETTER.some((p) => hasPhrase(ws, p))) return 'lower';
    if (HIGHER_IS_BETTER.some((p) => hasPhrase(ws, p))) return 'higher';
  }
  const lastSeg = name.slice(name.lastIndexOf('.') + 1);
  return HIGHER_STATES.has(lastSeg) ? 'higher' : 'neutral';
}

/** Whether a metric passes a filter of exact names or prefixes (an absent or empty filter passes all). */
export function matchesMetrics(name: string, filter?: string[]): boolean {
  return !filter || filter.length === 0 || filter.some((p) => name.startsWith(p));
}

/**
 * Significance rule: a change is noise ('unchanged') when |change| < max(epsilon of the unit,
 * 1% of |from|). Exceptions: percentages use an absolute 1 percentage point and no relative part
 * (80% -> 80.9% is noise, 2% -> 3% is not); fault counters (reallocated sectors, OOM kills, failed
 * units...) use 0.5 with no relative part, so one more fault always shows. Unit epsilons: bytes
 * 1 MiB, temperatures 1 degree, everything else 0 (only the relative part applies).
 */
export function significanceThreshold(name: string, from: number): number {
  const last = keySegments(name)[0] ?? [];
  if (last.includes('percent') || last.includes('pct')) return 1;
  if (anyPhrase(name, FAULT_COUNTERS)) return 0.5;
  let epsilon = 0;
  if (last.includes('bytes')) epsilon = MIB;
  else if (anyPhrase(name, [['temperature'], ['celsius']])) epsilon = 1;
  return Math.max(epsilon, 0.01 * Math.abs(from));
}

/** Removes binary float noise (0.1 + 0.2) so results compare and print cleanly. */
const tidy = (x: number): number => Number(x.toPrecision(12));

function verdictOf(name: string, from: number, to: number): MetricVerdict {
  const change = to - from;
  // No change is no change, even where the threshold is 0 (a counter at 0 has no relative part).
  if (change === 0) return 'unchanged';
  // The 1e-9 keeps an exact 1-point step (81 - 80) significant despite float noise.
  if (Math.abs(change) < significanceThreshold(name, from) - 1e-9) return 'unchanged';
  const dir = metricDirection(name);
  if (dir === 'neutral') return 'changed';
  // A clock offset is signed: closer to zero either way is better.
  const signed = hasPhrase(keySegments(name)[0] ?? [], ['offset']);
  const better = signed ? Math.abs(to) < Math.abs(from) : dir === 'lower' ? change < 0 : change > 0;
  return better ? 'improved' : 'regressed';
}

const worstFirst = (a: { severity: Severity; id: string }, b: { severity: Severity; id: string }) =>
  SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.id.localeCompare(b.id);

export function compareBaselines(
  from: Baseline,
  to: Baseline,
  opts: { metrics?: string[] } = {},
): BaselineComparison {
  const names = new Set([...Object.keys(from.metrics), ...Object.keys(to.metrics)]);
  const metrics: MetricChange[] = [];
  for (const name of [...names].sort()) {
    if (!matchesMetrics(name, opts.metrics)) continue;
    const a = Object.hasOwn(from.metrics, name) ? (from.metrics[name] as number) : null;
    const b = Object.hasOwn(to.metrics, name) ? (to.metrics[name] as number) : null;
    if (a === null || b === null) {
      metrics.push({
        name,
        from: a,
        to: b,
        change: null,
        changePercent: null,
        verdict: a === null ? 'new' : 'gone',
      });
      continue;
    }
    const change = tidy(b - a);
    const changePercent = a === 0 ? null : Math.round(((b - a) / Math.abs(a)) * 10_000) / 100;
    metrics.push({ name, from: a, to: b, change, changePercent, verdict: verdictOf(name, a, b) });
  }

  const before = new Map(from.findings.map((f) => [f.id, f]));
  const after = new Map(to.findings.map((f) => [f.id, f]));
  const appeared = to.findings.filter((f) => !before.has(f.id)).map((f) => ({ ...f }));
  const resolved = from.findings.filter((f) => !after.has(f.id)).map((f) => ({ ...f }));
  const severityChanged: SeverityChange[] = [];
  for (const f of to.findings) {
    const old = before.get(f.id);
    if (old && old.severity !== f.severity)
      severityChanged.push({ id: f.id, title: f.title, from: old.severity, to: f.severity });
  }
  return {
    metrics,
    findings: {
      appeared: appeared.sort(worstFirst),
      resolved: resolved.sort(worstFirst),
      // The new severity decides how urgent the change is.
      severityChanged: severityChanged.sort((a, b) =>
        worstFirst({ ...a, severity: a.to }, { ...b, severity: b.to }),
      ),
    },
  };
}

interface Ranked {
  trend: Trend;
  /** 0: has an ETA, 1: a fault counter grew, 2: anything else. */
  rank: number;
  /** Within a rank, higher is more significant. */
  weight: number;
}

/**
 * Least-squares line per metric over (createdAt in days, value) across baselines given in any
 * order. Metrics in fewer than two baselines (or all at one instant) have no trend; flat series
 * are left out unless includeFlat. Most significant first: projected fill-ups (soonest first),
 * then grown fault counters, then by fitted change relative to the mean.
 */
export function trends(series: Baseline[], opts: TrendOptions = {}): { trends: Trend[]; truncated: boolean } {
  const seen = new Set<string>();
  const points = series
    .map((b) => ({ b, t: Date.parse(b.createdAt) }))
    .filter(({ b, t }) => Number.isFinite(t) && !seen.has(b.id) && seen.add(b.id))
    .sort((x, y) => x.t - y.t || (x.b.id < y.b.id ? -1 : 1));
  const t0 = points[0]?.t ?? 0;
  const byName = new Map<string, { xs: number[]; ys: number[] }>();
  for (const { b, t } of points) {
    for (const [name, value] of Object.entries(b.metrics)) {
      if (!matchesMetrics(name, opts.metrics)) continue;
      let s = byName.get(name);
      if (!s) byName.set(name, (s = { xs: [], ys: [] }));
      s.xs.push((t - t0) / DAY_MS);
      s.ys.push(value);
    }
  }
  const lastT = points.length > 0 ? (points[points.length - 1] as { t: number }).t : 0;
  const nowDays = ((opts.now?.getTime() ?? lastT) - t0) / DAY_MS;

  const ranked: Ranked[] = [];
  for (const [name, { xs, ys }] of byName) {
    const r = fitOne(name, xs, ys, nowDays, opts.includeFlat ?? false);
    if (r) ranked.push(r);
  }
  ranked.sort((a, b) => a.rank - b.rank || b.weight - a.weight || a.trend.name.localeCompare(b.trend.name));
  const limit = opts.limit ?? 50;
  const kept = ranked.slice(0, limit).map((r) => r.trend);
  for (const trend of kept.slice(0, opts.charts ?? 0)) {
    const { xs, ys } = byName.get(trend.name) as { xs: number[]; ys: number[] };
    trend.chart = chartOf(trend, xs, ys, t0);
  }
  return { trends: kept, truncated: ranked.length > limit };
}

function chartOf(trend: Trend, xs: number[], ys: number[], t0: number): TrendChart {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  const intercept = my - trend.slopePerDay * mx;
  const pick =
    n <= MAX_CHART_POINTS
      ? xs.map((_, i) => i)
      : Array.from({ length: MAX_CHART_POINTS }, (_, k) =>
          Math.round((k * (n - 1)) / (MAX_CHART_POINTS - 1)),
        );
  const chart: TrendChart = {
    start: new Date(t0).toISOString(),
    intercept: tidy(intercept),
    days: pick.map((i) => Math.round((xs[i] as number) * 1e5) / 1e5),
    values: pick.map((i) => ys[i] as number),
  };
  if (trend.etaDays !== undefined && trend.slopePerDay > 0)
    chart.fullAt = new Date(t0 + ((100 - intercept) / trend.slopePerDay) * DAY_MS).toISOString();
  return chart;
}

function fitOne(
  name: string,
  xs: number[],
  ys: number[],
  nowDays: number,
  includeFlat: boolean,
): Ranked | null {
  const n = xs.length;
  if (n < 2) return null;
  const first = ys[0] as number;
  const last = ys[n - 1] as number;
  if (!includeFlat && ys.every((y) => y === first)) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i] as number;
    my += ys[i] as number;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    sxx += dx * dx;
    sxy += dx * ((ys[i] as number) - my);
  }
  if (sxx === 0) return null; // every point at one instant: no rate
  const slope = sxy / sxx;
  const trend: Trend = { name, points: n, first, last, slopePerDay: tidy(slope) };

  if (slope > 0 && hasPhrase(keySegments(name)[0] ?? [], USED_PERCENT)) {
    // Days from `now` until the fitted line reaches 100.
    const eta = Math.max(0, (100 - (my - slope * mx)) / slope - nowDays);
    if (eta <= MAX_ETA_DAYS) {
      trend.etaDays = Math.round(eta * 10) / 10;
      const when =
        eta < 1 ? 'in less than a day' : `in ~${Math.round(eta)} day${Math.round(eta) === 1 ? '' : 's'}`;
      trend.projection = `${name}: full ${when} at the current rate`;
      return { trend, rank: 0, weight: -eta };
    }
  }
  if (last > first && anyPhrase(name, GROWTH_COUNTERS)) {
    trend.projection = `${name} grew ${tidy(first)} -> ${tidy(last)} over ${n} checks`;
    return { trend, rank: 1, weight: (last - first) / Math.max(Math.abs(first), 1) };
  }
  const span = (xs[n - 1] as number) - (xs[0] as number);
  return { trend, rank: 2, weight: Math.abs(slope * span) / Math.max(Math.abs(my), 1e-9) };
}
