/**
 * Fleet outliers (issue 19): a host whose metric is far from the rest of the fleet's, e.g. one
 * web server with 10x the others' TCP retransmits. Pure: takes each host's run_health_check
 * metrics, returns the outliers.
 *
 * The statistic is robust, so one sick host cannot hide itself by moving the centre: the fleet's
 * median and its median absolute deviation (MAD, scaled by 1.4826 to estimate a standard
 * deviation), and a host is an outlier when its value is more than `threshold` (3.5, the
 * Iglewicz-Hoaglin cut-off) of those deviations above the median. With few hosts, or a fleet that
 * agrees exactly, the MAD is 0 or tiny: a floor per metric (what counts as a real difference:
 * 10 points of memory, 0.5 points of retransmits) stands in for it, so 0.4 % against 0.3 % is
 * never news. Only metrics where higher is worse are compared, in that direction only, and only
 * metrics comparable across machines (percentages, per-core load, counts of zombies); a metric is
 * compared when at least `minHosts` (3) hosts report it.
 */

export interface OutlierMetric {
  /** Matches metric names, e.g. /^disk\.[^]+\.used_percent$/. */
  pattern: RegExp;
  /** The smallest spread taken as meaningful, in the metric's unit. */
  floor: number;
}

/** Fleet-comparable metrics, higher is worse. Disk and interface metrics compare like with like (same mount, same interface). */
export const OUTLIER_METRICS: readonly OutlierMetric[] = [
  { pattern: /^memory\.used_percent$/, floor: 10 },
  { pattern: /^swap\.used_percent$/, floor: 10 },
  { pattern: /^load\.per_core\.5$/, floor: 0.5 },
  { pattern: /^cpu\.(iowait|steal)_percent$/, floor: 5 },
  { pattern: /^tcp\.retrans_percent$/, floor: 0.5 },
  { pattern: /^files\.used_percent$/, floor: 10 },
  { pattern: /^processes\.zombies$/, floor: 5 },
  { pattern: /^disk\..+\.(inodes_)?used_percent$/, floor: 5 },
  { pattern: /^net\..+\.error_percent$/, floor: 0.5 },
  { pattern: /^pressure\.(cpu|io|memory)\.some_avg60$/, floor: 5 },
  { pattern: /^temp\.max_celsius$/, floor: 5 },
];

export interface Outlier {
  host: string;
  metric: string;
  value: number;
  /** The median over the hosts compared (the outlier included). */
  median: number;
  /** value / median; null when the median is 0. */
  ratio: number | null;
  /** How many robust deviations above the median (rounded to 0.1). */
  deviations: number;
  hostsCompared: number;
}

export interface OutlierOptions {
  threshold?: number;
  minHosts?: number;
  metrics?: readonly OutlierMetric[];
  /** At most this many outliers, the farthest first. */
  limit?: number;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Outliers over `hosts` (registry name -> metrics), farthest first; none with fewer than minHosts. */
export function fleetOutliers(
  hosts: ReadonlyMap<string, Readonly<Record<string, number>>>,
  opts: OutlierOptions = {},
): { outliers: Outlier[]; truncated: boolean } {
  const threshold = opts.threshold ?? 3.5;
  const minHosts = Math.max(3, opts.minHosts ?? 3);
  const specs = opts.metrics ?? OUTLIER_METRICS;
  if (hosts.size < minHosts) return { outliers: [], truncated: false };
  // metric -> [host, value] for every host reporting it
  const byMetric = new Map<string, Array<[string, number]>>();
  const floors = new Map<string, number>();
  for (const [host, metrics] of hosts) {
    for (const [name, value] of Object.entries(metrics)) {
      if (!Number.isFinite(value)) continue;
      let floor = floors.get(name);
      if (floor === undefined) {
        floor = specs.find((s) => s.pattern.test(name))?.floor ?? -1;
        floors.set(name, floor);
      }
      if (floor < 0) continue;
      let list = byMetric.get(name);
      if (!list) byMetric.set(name, (list = []));
      list.push([host, value]);
    }
  }
  const found: Outlier[] = [];
  for (const [metric, list] of byMetric) {
    if (list.length < minHosts) continue;
    const values = list.map(([, v]) => v);
    const m = median(values);
    const mad = median(values.map((v) => Math.abs(v - m)));
    const spread = Math.max(1.4826 * mad, floors.get(metric) as number);
    for (const [host, value] of list) {
      const z = (value - m) / spread;
      if (z < threshold) continue;
      found.push({
        host,
        metric,
        value,
        median: round(m),
        ratio: m > 0 ? round(value / m) : null,
        deviations: Math.round(z * 10) / 10,
        hostsCompared: list.length,
      });
    }
  }
  found.sort((a, b) => b.deviations - a.deviations || a.metric.localeCompare(b.metric));
  const limit = opts.limit ?? 20;
  return { outliers: found.slice(0, limit), truncated: found.length > limit };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
