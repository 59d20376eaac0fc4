import { describe, expect, it } from 'vitest';
import { fleetOutliers, median } from '../../src/audit/fleetOutliers.js';

const fleet = (entries: Record<string, Record<string, number>>) => new Map(Object.entries(entries));

describe('fleetOutliers', () => {
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('finds the one web server with 10x the others retransmits', () => {
    const hosts: Record<string, Record<string, number>> = {};
    const rates = [0.4, 0.5, 0.45, 0.6, 0.55, 0.5, 5.2];
    rates.forEach((r, i) => (hosts[`web${i}`] = { 'tcp.retrans_percent': r, 'memory.used_percent': 40 + i }));
    const { outliers, truncated } = fleetOutliers(fleet(hosts));
    expect(truncated).toBe(false);
    expect(outliers).toHaveLength(1);
    expect(outliers[0]).toMatchObject({
      host: 'web6',
      metric: 'tcp.retrans_percent',
      value: 5.2,
      median: 0.5,
      hostsCompared: 7,
    });
    expect(outliers[0]?.ratio).toBeCloseTo(10.4);
    expect(outliers[0]?.deviations).toBeGreaterThan(3.5);
  });

  it('one sick host cannot hide itself: the median and MAD ignore it', () => {
    // Mean and standard deviation would be dragged by the 98 (z ~ 2.3 with 5 hosts).
    const { outliers } = fleetOutliers(
      fleet({
        a: { 'disk./.used_percent': 41 },
        b: { 'disk./.used_percent': 44 },
        c: { 'disk./.used_percent': 39 },
        d: { 'disk./.used_percent': 43 },
        e: { 'disk./.used_percent': 98 },
      }),
    );
    expect(outliers.map((o) => `${o.host} ${o.metric}`)).toEqual(['e disk./.used_percent']);
  });

  it('the floor keeps small differences quiet when the fleet agrees exactly (MAD 0)', () => {
    const { outliers } = fleetOutliers(
      fleet({
        a: { 'tcp.retrans_percent': 0.1, 'cpu.iowait_percent': 1 },
        b: { 'tcp.retrans_percent': 0.1, 'cpu.iowait_percent': 1 },
        c: { 'tcp.retrans_percent': 0.9, 'cpu.iowait_percent': 12 },
      }),
    );
    // 0.8 points of retransmits < 3.5 x 0.5; 11 points of iowait < 3.5 x 5.
    expect(outliers).toEqual([]);
  });

  it('needs three hosts reporting the metric, compares like with like and only upwards', () => {
    expect(
      fleetOutliers(fleet({ a: { 'processes.zombies': 0 }, b: { 'processes.zombies': 500 } })).outliers,
    ).toEqual([]);
    const { outliers } = fleetOutliers(
      fleet({
        a: { 'disk./var.used_percent': 99, 'disk./.used_percent': 10, 'load.per_core.5': 0.1 },
        b: { 'disk./.used_percent': 11, 'load.per_core.5': 5 },
        c: { 'disk./.used_percent': 12, 'load.per_core.5': 4.9, 'uptime.seconds': 1 },
        d: { 'disk./.used_percent': 10, 'load.per_core.5': 5.1, 'uptime.seconds': 1e9 },
      }),
    );
    // /var only on one host; a's low load is not an outlier (lower is better); uptime is not compared.
    expect(outliers).toEqual([]);
  });

  it('a zero median gives no ratio; results are capped farthest first', () => {
    const hosts: Record<string, Record<string, number>> = {
      a: { 'processes.zombies': 0, 'swap.used_percent': 0 },
      b: { 'processes.zombies': 0, 'swap.used_percent': 0 },
      c: { 'processes.zombies': 300, 'swap.used_percent': 95 },
    };
    const all = fleetOutliers(fleet(hosts));
    expect(all.outliers.map((o) => o.metric)).toEqual(['processes.zombies', 'swap.used_percent']);
    expect(all.outliers[0]?.ratio).toBeNull();
    const cut = fleetOutliers(fleet(hosts), { limit: 1 });
    expect(cut.outliers).toHaveLength(1);
    expect(cut.truncated).toBe(true);
  });
});
