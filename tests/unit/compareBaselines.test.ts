import { describe, expect, it } from 'vitest';
import {
  compareBaselines,
  MAX_CHART_POINTS,
  metricDirection,
  trends,
} from '../../src/audit/compareBaselines.js';
import type { Baseline } from '../../src/baselines/types.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);

function baseline(
  day: number,
  metrics: Record<string, number>,
  findings: Baseline['findings'] = [],
  id = `h~${day}`,
): Baseline {
  return {
    id,
    hostId: 'h',
    createdAt: new Date(T0 + day * DAY).toISOString(),
    status: 'ok',
    score: 100,
    metrics,
    findings,
  };
}

describe('metricDirection', () => {
  it.each([
    ['memory.used_percent', 'lower'],
    ['disk./var.inodes_used_percent', 'lower'],
    ['disk./srv/free.used_percent', 'lower'], // the mount point's name does not count
    ['disk./var.avail_bytes', 'higher'],
    ['memory.available_bytes', 'higher'],
    ['smart.sda.selftest_passed', 'higher'],
    ['net.eth0.rx_errors', 'lower'],
    ['vmstat.oom_kills', 'lower'],
    ['load.per_core.5', 'lower'],
    ['pressure.cpu.some_avg60', 'lower'],
    ['clock.offset_ms', 'lower'],
    ['service.nginx.running', 'higher'],
    ['firewall.active', 'higher'],
    ['nginx.active_connections', 'neutral'],
    ['clock.unsynchronized', 'neutral'],
    ['net.download_bytes', 'neutral'], // `load` is a word, not a substring
    ['disk./zoom.size_bytes', 'neutral'],
    ['uptime.seconds', 'neutral'],
  ])('%s is %s', (name, dir) => {
    expect(metricDirection(name)).toBe(dir);
  });
});

describe('compareBaselines', () => {
  const from = baseline(
    0,
    {
      'memory.used_percent': 50,
      'disk./var.used_percent': 80,
      'swap.used_percent': 10,
      'memory.available_bytes': 4e9,
      'disk./var.avail_bytes': 1e10,
      'net.eth0.rx_errors': 1000,
      'net.eth0.tx_errors': 0,
      'smart.sda.reallocated_sectors': 100,
      'clock.offset_ms': -40,
      'processes.total': 200,
      'processes.zombies': 3,
      'load.5': 1,
      'service.nginx.running': 1,
      'cpu.steal_percent': 2,
    },
    [
      { id: 'a', severity: 'high', title: 'A' },
      { id: 'b', severity: 'medium', title: 'B' },
      { id: 'c', severity: 'low', title: 'C' },
    ],
  );
  const to = baseline(
    1,
    {
      'memory.used_percent': 62.5,
      'disk./var.used_percent': 80.5,
      'swap.used_percent': 9,
      'memory.available_bytes': 3e9,
      'disk./var.avail_bytes': 1e10 + 50 * 1024 * 1024,
      'net.eth0.rx_errors': 1005,
      'net.eth0.tx_errors': 3,
      'smart.sda.reallocated_sectors': 101,
      'clock.offset_ms': 10,
      'processes.total': 230,
      'processes.zombies': 0,
      'load.5': 0.7,
      'service.nginx.running': 0,
      'pressure.io.some_avg60': 1.5,
    },
    [
      { id: 'b', severity: 'critical', title: 'B now' },
      { id: 'c', severity: 'low', title: 'C' },
      { id: 'd', severity: 'info', title: 'D' },
      { id: 'e', severity: 'critical', title: 'E' },
    ],
  );

  it('gives each metric its change and verdict', () => {
    const byName = Object.fromEntries(compareBaselines(from, to).metrics.map((m) => [m.name, m]));
    const row = (name: string) => {
      const m = byName[name];
      return m && [m.from, m.to, m.change, m.changePercent, m.verdict];
    };
    expect(Object.keys(byName)).toEqual(Object.keys(byName).sort());
    expect(Object.keys(byName)).toHaveLength(15);
    expect(row('memory.used_percent')).toEqual([50, 62.5, 12.5, 25, 'regressed']);
    expect(row('disk./var.used_percent')).toEqual([80, 80.5, 0.5, 0.63, 'unchanged']); // under 1 point
    expect(row('swap.used_percent')).toEqual([10, 9, -1, -10, 'improved']); // exactly 1 point counts
    expect(row('memory.available_bytes')).toEqual([4e9, 3e9, -1e9, -25, 'regressed']);
    expect(row('disk./var.avail_bytes')).toEqual([1e10, 1e10 + 52428800, 52428800, 0.52, 'unchanged']); // < 1%
    expect(row('net.eth0.rx_errors')).toEqual([1000, 1005, 5, 0.5, 'unchanged']); // < 1% of a big counter
    expect(row('net.eth0.tx_errors')).toEqual([0, 3, 3, null, 'regressed']);
    expect(row('smart.sda.reallocated_sectors')).toEqual([100, 101, 1, 1, 'regressed']); // one more sector is news
    expect(row('clock.offset_ms')).toEqual([-40, 10, 50, 125, 'improved']); // closer to zero
    expect(row('processes.total')).toEqual([200, 230, 30, 15, 'changed']);
    expect(row('processes.zombies')).toEqual([3, 0, -3, -100, 'improved']);
    expect(row('load.5')).toEqual([1, 0.7, -0.3, -30, 'improved']);
    expect(row('service.nginx.running')).toEqual([1, 0, -1, -100, 'regressed']);
    expect(row('cpu.steal_percent')).toEqual([2, null, null, null, 'gone']);
    expect(row('pressure.io.some_avg60')).toEqual([null, 1.5, null, null, 'new']);
  });

  it('reports appeared, resolved and re-graded findings, worst first', () => {
    expect(compareBaselines(from, to).findings).toEqual({
      appeared: [
        { id: 'e', severity: 'critical', title: 'E' },
        { id: 'd', severity: 'info', title: 'D' },
      ],
      resolved: [{ id: 'a', severity: 'high', title: 'A' }],
      severityChanged: [{ id: 'b', title: 'B now', from: 'medium', to: 'critical' }],
    });
    // The reverse comparison mirrors it.
    const back = compareBaselines(to, from).findings;
    expect(back.appeared.map((f) => f.id)).toEqual(['a']);
    expect(back.resolved.map((f) => f.id)).toEqual(['e', 'd']);
    expect(back.severityChanged).toEqual([{ id: 'b', title: 'B', from: 'critical', to: 'medium' }]);
  });

  it('keeps only metrics matching the filter (prefixes or exact names)', () => {
    const names = compareBaselines(from, to, {
      metrics: ['disk.', 'load.5', 'cpu.steal_percent'],
    }).metrics.map((m) => m.name);
    expect(names).toEqual(['cpu.steal_percent', 'disk./var.avail_bytes', 'disk./var.used_percent', 'load.5']);
    expect(compareBaselines(from, to, { metrics: [] }).metrics).toHaveLength(15);
  });

  it('calls values that did not move unchanged, zeros included, whatever their direction', () => {
    const same = {
      'firewall.active': 0,
      'net.eth0.rx_errors': 0,
      'tcp.time_wait': 0,
      'service.nginx.running': 1,
      'load.1': 0.5,
      'memory.used_percent': 0,
    };
    const verdicts = compareBaselines(baseline(0, same), baseline(1, { ...same })).metrics.map(
      (m) => m.verdict,
    );
    expect(verdicts).toEqual(Array(6).fill('unchanged'));
    // ...while the smallest real step on a zero counter still shows.
    const [m] = compareBaselines(
      baseline(0, { 'tcp.time_wait': 0 }),
      baseline(1, { 'tcp.time_wait': 1 }),
    ).metrics;
    expect(m?.verdict).toBe('regressed');
  });
});

describe('trends', () => {
  // Six daily checks: disk grows a point a day from 80, reallocated sectors appear from day 1 and
  // grow 0 -> 8, available memory falls, total memory never moves, files grow too slowly to matter.
  const realloc = [undefined, 0, 0, 2, 5, 8];
  const series = [0, 1, 2, 3, 4, 5].map((d) =>
    baseline(d, {
      'disk./.used_percent': 80 + d,
      'memory.available_bytes': 8e9 - 5e8 * d,
      'memory.total_bytes': 16e9,
      'files.used_percent': 10 + 0.1 * d,
      ...(realloc[d] === undefined ? {} : { 'smart.sda.reallocated_sectors': realloc[d] }),
      ...(d === 5 ? { 'only.once': 1 } : {}),
    }),
  );
  const shuffled = [series[3], series[0], series[5], series[1], series[4], series[2]] as Baseline[];

  it('projects when a disk fills up and says how a fault counter grew, most urgent first', () => {
    const { trends: t, truncated } = trends(shuffled);
    expect(truncated).toBe(false);
    expect(t.map((x) => x.name)).toEqual([
      'disk./.used_percent',
      'smart.sda.reallocated_sectors',
      'memory.available_bytes',
      'files.used_percent',
    ]);
    // Fitted line 80 + 1/day reaches 100 on day 20; the newest check is day 5.
    expect(t[0]).toEqual({
      name: 'disk./.used_percent',
      points: 6,
      first: 80,
      last: 85,
      slopePerDay: 1,
      etaDays: 15,
      projection: 'disk./.used_percent: full in ~15 days at the current rate',
    });
    // Least squares over days 1..5 of 0,0,2,5,8: slope 21/10.
    expect(t[1]).toEqual({
      name: 'smart.sda.reallocated_sectors',
      points: 5,
      first: 0,
      last: 8,
      slopePerDay: 2.1,
      projection: 'smart.sda.reallocated_sectors grew 0 -> 8 over 5 checks',
    });
    expect(t[2]).toEqual({
      name: 'memory.available_bytes',
      points: 6,
      first: 8e9,
      last: 5.5e9,
      slopePerDay: -5e8,
    });
    // Full in ~895 days: too far to be a projection.
    expect(t[3]?.slopePerDay).toBeCloseTo(0.1, 10);
    expect(t[3]?.projection).toBeUndefined();
  });

  it('counts days to full from `now` when given', () => {
    const t = trends(series, { metrics: ['disk.'], now: new Date(T0 + 7 * DAY) }).trends;
    expect(t.map((x) => [x.etaDays, x.projection])).toEqual([
      [13, 'disk./.used_percent: full in ~13 days at the current rate'],
    ]);
    const late = trends(series, { metrics: ['disk.'], now: new Date(T0 + 19.5 * DAY) }).trends[0];
    expect([late?.etaDays, late?.projection]).toEqual([
      0.5,
      'disk./.used_percent: full in less than a day at the current rate',
    ]);
  });

  it('gives slopes the sign of the change', () => {
    const down = series.map((b, i) => ({
      ...b,
      metrics: { 'disk./.used_percent': 90 - 2 * i, 'x.count': i * i },
    }));
    const t = trends(down).trends;
    const byName = Object.fromEntries(t.map((x) => [x.name, x]));
    expect(byName['disk./.used_percent']?.slopePerDay).toBe(-2);
    expect(byName['disk./.used_percent']?.projection).toBeUndefined(); // shrinking: never full
    expect(byName['x.count']?.slopePerDay).toBe(5); // i^2 over 0..5: 175/35
    // Over a half-day spacing the same values climb twice as fast per day.
    const halfDays = down.map((b, i) => ({ ...b, createdAt: new Date(T0 + (i * DAY) / 2).toISOString() }));
    expect(trends(halfDays).trends.find((x) => x.name === 'x.count')?.slopePerDay).toBe(10);
  });

  it('leaves out flat series unless asked, and single points always', () => {
    expect(trends(series).trends.map((x) => x.name)).not.toContain('memory.total_bytes');
    const withFlat = trends(series, { includeFlat: true, metrics: ['memory.total', 'only.'] }).trends;
    expect(withFlat).toEqual([
      { name: 'memory.total_bytes', points: 6, first: 16e9, last: 16e9, slopePerDay: 0 },
    ]);
    expect(trends([series[0] as Baseline]).trends).toEqual([]);
    expect(trends([]).trends).toEqual([]);
  });

  it('gives the first `charts` trends their points, fitted line and full date', () => {
    const t = trends(shuffled, { charts: 2 }).trends;
    expect(t.map((x) => x.chart !== undefined)).toEqual([true, true, false, false]);
    // Days 0..5 of 80..85: the line 80 + 1/day reaches 100 on day 20.
    expect(t[0]?.chart).toEqual({
      start: new Date(T0).toISOString(),
      intercept: 80,
      days: [0, 1, 2, 3, 4, 5],
      values: [80, 81, 82, 83, 84, 85],
      fullAt: new Date(T0 + 20 * DAY).toISOString(),
    });
    // A counter has no full date; its points start where it was first seen (day 1).
    expect(t[1]?.chart).toMatchObject({ days: [1, 2, 3, 4, 5], values: [0, 0, 2, 5, 8] });
    expect(t[1]?.chart?.fullAt).toBeUndefined();
    const line = (d: number) => (t[1]?.chart?.intercept ?? 0) + 2.1 * d;
    // Least squares passes through the mean point (day 3, 3).
    expect(line(3)).toBeCloseTo(3, 10);
  });

  it(`keeps at most ${MAX_CHART_POINTS} points per chart, the first and last among them`, () => {
    const long = Array.from({ length: 200 }, (_, d) =>
      baseline(d / 4, { 'disk./.used_percent': 20 + d / 10 }),
    );
    const chart = trends(long, { charts: 1 }).trends[0]?.chart;
    expect(chart?.days).toHaveLength(MAX_CHART_POINTS);
    expect(chart?.days[0]).toBe(0);
    expect(chart?.days.at(-1)).toBe(199 / 4);
    expect(chart?.values.at(-1)).toBeCloseTo(39.9, 10);
  });

  it('caps the list at `limit` and says so', () => {
    expect(trends(series, { limit: 2 })).toEqual({
      trends: [
        expect.objectContaining({ name: 'disk./.used_percent' }),
        expect.objectContaining({ name: 'smart.sda.reallocated_sectors' }),
      ],
      truncated: true,
    });
    expect(trends(series, { limit: 4 }).truncated).toBe(false);
  });
});
