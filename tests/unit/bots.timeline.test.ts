import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BotAnalyzer } from '../../src/audit/bots/analyzer.js';
import { CLIENT_CLASSES } from '../../src/audit/bots/classify.js';
import {
  BURST_MIN,
  findBursts,
  MAX_HELD,
  TimelineBuilder,
  type TrafficTimeline,
} from '../../src/audit/bots/trafficTimeline.js';
import { parserFor } from '../../src/audit/logs/logFormat.js';

/** The per-bucket timeline by client class that the Bots view charts, on the real Apache sample. */
const combined = parserFor('combined');
const SAMPLE = readFileSync(join(import.meta.dirname, '../fixtures/logs/elastic-apache-10k.log'), 'utf8')
  .split('\n')
  .filter(Boolean);

function analyze(lines: string[], opts: { since?: number; until?: number } = {}) {
  const a = new BotAnalyzer({ isAllowed: () => false, ...opts });
  for (const l of lines) {
    const e = combined(l);
    if (e) a.add(e);
  }
  return a.finish(25);
}

const total = (t: TrafficTimeline) =>
  Object.values(t.series).reduce((s, arr) => s + arr.reduce((a, b) => a + b, 0), 0);

describe('traffic timeline on the real Apache sample (elastic, 10,000 lines, 3.5 days)', () => {
  const r = analyze(SAMPLE);
  const t = r.traffic;

  it('coarsens 3.5 days to 30-minute buckets within 240 points, losing no request', () => {
    const from = Date.parse(r.timeRange?.from ?? '');
    const to = Date.parse(r.timeRange?.to ?? '');
    // 17 May 10:05 to 20 May 21:05: 83 hours; 15-minute buckets would need 332 points.
    expect((to - from) / 3_600_000).toBeCloseTo(83, 0);
    expect(t.bucketSeconds).toBe(1800);
    expect(t.points).toBeLessThanOrEqual(240);
    expect(t.points).toBe(Math.floor(to / 1_800_000) - Math.floor(from / 1_800_000) + 1);
    expect(Date.parse(t.start ?? '')).toBe(Math.floor(from / 1_800_000) * 1_800_000);
    expect(total(t)).toBe(r.requests);
    expect(t.outOfRange).toBe(0);
    for (const [cls, arr] of Object.entries(t.series)) {
      expect(CLIENT_CLASSES).toContain(cls);
      expect(arr).toHaveLength(t.points);
      // Per class, the buckets add up to the class's requests.
      expect(arr.reduce((a, b) => a + b, 0)).toBe(r.requestsByClass[cls as keyof typeof r.requestsByClass]);
    }
    // Only classes seen are listed.
    for (const [cls, n] of Object.entries(r.requestsByClass)) expect(cls in t.series).toBe(n > 0);
  });

  it('counts the wp-login and scanner requests as hostile, never more than the bucket holds', () => {
    const hostile = t.hostile.reduce((a, b) => a + b, 0);
    expect(hostile).toBeGreaterThan(0);
    expect(hostile).toBeGreaterThanOrEqual(r.requestsByClass.scanner);
    t.hostile.forEach((n, i) => {
      const inBucket = Object.values(t.series).reduce((s, arr) => s + (arr[i] ?? 0), 0);
      expect(n).toBeLessThanOrEqual(inBucket);
    });
    for (const b of t.bursts) {
      expect(b.peak).toBeGreaterThanOrEqual(t.burstThreshold);
      expect(b.hostileRequests).toBeLessThanOrEqual(b.requests);
    }
  });

  it('is per minute for a one-hour window', () => {
    const since = Date.parse('2015-05-18T12:00:00Z');
    const w = analyze(SAMPLE, { since, until: since + 3_600_000 });
    expect(w.requests).toBeGreaterThan(50);
    expect(w.traffic.bucketSeconds).toBe(60);
    expect(w.traffic.points).toBeLessThanOrEqual(60);
    expect(total(w.traffic)).toBe(w.requests);
  });

  it('marks an injected wp-login flood as a burst at the minute it happened', () => {
    const since = Date.parse('2015-05-18T12:00:00Z');
    // 120 login POSTs from one address within 12:30 (real log lines around it).
    const flood = Array.from(
      { length: 120 },
      (_, i) =>
        `203.0.113.66 - - [18/May/2015:12:30:${String(i % 60).padStart(2, '0')} +0000] "POST /wp-login.php HTTP/1.1" 200 1200 "-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"`,
    );
    const w = analyze([...SAMPLE, ...flood], { since, until: since + 3_600_000 });
    const bursts = w.traffic.bursts;
    expect(bursts.length).toBeGreaterThanOrEqual(1);
    const flooded = bursts.find((b) => b.from === '2015-05-18T12:30:00.000Z');
    expect(flooded).toMatchObject({ to: '2015-05-18T12:31:00.000Z', peak: expect.any(Number) });
    expect(flooded?.hostileRequests).toBeGreaterThanOrEqual(120);
    const i = (Date.parse('2015-05-18T12:30:00Z') - Date.parse(w.traffic.start ?? '')) / 60_000;
    expect(w.traffic.hostile[i]).toBe(flooded?.hostileRequests);
  });
});

describe('TimelineBuilder bounds', () => {
  it(`past ${MAX_HELD} held buckets grows the bucket, keeping every request`, () => {
    const b = new TimelineBuilder();
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    // One request a minute for 30,000 minutes (~21 days): more buckets than may be held.
    for (let i = 0; i < 30_000; i++) b.add(t0 + i * 60_000, i % 7 === 0 ? 'scanner' : 'human', i % 7 === 0);
    expect(b.stepMinutes).toBe(5);
    const t = b.finish(240);
    // 21 days in 240 points: 3-hour buckets (2-hour steps do not exist; 1 hour would need 500).
    expect(t.bucketSeconds).toBe(3 * 3600);
    expect(t.points).toBeLessThanOrEqual(240);
    expect(total(t)).toBe(30_000);
    expect(t.hostile.reduce((a, c) => a + c, 0)).toBe(Math.ceil(30_000 / 7));
  });

  it('keeps the real traffic in view when one line is forged or skewed (2099, epoch junk), and counts it (review finding)', () => {
    const base = analyze(SAMPLE);
    const real = base.traffic;
    // A real line of the sample with its date replaced.
    const line = SAMPLE[5000] as string;
    const dated = (d: string) => line.replace(/\[[^\]]+\]/, `[${d}]`);
    const future = dated('01/Jan/2099:00:00:00 +0000');
    const epoch = dated('01/Jan/1970:00:00:00 +0000');
    const yearBefore = dated('20/May/2014:21:00:00 +0000');
    for (const [forged, n] of [
      [[future], 1],
      [[epoch], 1],
      [[SAMPLE[0] as string, epoch, future], 2],
      [[yearBefore, epoch], 2],
    ] as const) {
      const w = analyze([...SAMPLE.slice(0, 4000), ...forged, ...SAMPLE.slice(4000)]);
      expect(w.requests).toBe(base.requests + forged.length);
      // The same chart as without the forged lines: the same buckets over the same 3.5 days.
      expect(w.traffic.bucketSeconds).toBe(1800);
      expect(w.traffic.start).toBe(real.start);
      expect(w.traffic.points).toBe(real.points);
      expect(w.traffic.hostile).toEqual(real.hostile);
      expect(w.traffic.outOfRange).toBe(n);
      expect(total(w.traffic) + w.traffic.outOfRange).toBe(w.requests);
    }
  });

  it('keeps a quiet start of a real log that is close to its bulk', () => {
    // One request a day for 20 days before the sample: a quiet start, not a forged time.
    const from = Date.parse('2015-05-17T10:05:00Z');
    const b = new TimelineBuilder();
    for (let d = 20; d >= 1; d--) b.add(from - d * 86_400_000, 'human', false);
    let parsed = 0;
    for (const l of SAMPLE) {
      const e = combined(l);
      if (!e) continue;
      b.add(e.time, 'human', false);
      parsed++;
    }
    const t = b.finish(240);
    expect(t.outOfRange).toBe(0);
    expect(total(t)).toBe(parsed + 20);
    expect(Date.parse(t.start ?? '')).toBeLessThanOrEqual(from - 20 * 86_400_000);
  });

  it('leaves out times from now + 1 day (or until) on, and holds no more than it may', () => {
    const now = Date.parse('2026-12-06T00:00:00Z');
    const b = new TimelineBuilder({ now });
    b.add(now - 3_600_000, 'human', false);
    b.add(now + 2 * 86_400_000, 'scanner', true);
    const t = b.finish(240);
    expect(t.series).toEqual({ human: [1] });
    expect(t.outOfRange).toBe(1);
    // Two lines, 50 years apart: no bulk to tell the forged one, so the newest 240 weeks.
    const two = new TimelineBuilder({ now });
    two.add(Date.parse('1976-01-01T00:00:00Z'), 'human', false);
    two.add(Date.parse('2026-01-01T00:00:00Z'), 'scanner', true);
    const tt = two.finish(240);
    expect(tt).toMatchObject({ bucketSeconds: 7 * 86400, points: 240, outOfRange: 1 });
    expect(tt.hostile.at(-1)).toBe(1);
    // 30,000 distinct weeks (~575 years): the oldest are dropped, never more than MAX_HELD kept.
    const many = new TimelineBuilder({ now });
    const week = 7 * 86_400_000;
    for (let i = 0; i < 30_000; i++) many.add(now - i * week, 'human', false);
    expect(many.held).toBeLessThanOrEqual(MAX_HELD);
    const m = many.finish(240);
    expect(m.points).toBe(240);
    expect(total(m) + m.outOfRange).toBe(30_000);
  });

  it('clamps buckets at the ends of the Date range (forged timestamps) instead of throwing', () => {
    // An explicit window as wide as it gets: nothing is left out, the edges are clamped.
    const b = new TimelineBuilder({ since: Number.NEGATIVE_INFINITY, until: Number.POSITIVE_INFINITY });
    for (let i = 0; i < 10; i++) b.add(8.64e15 - 1000, 'scanner', true);
    b.add(-8.64e15, 'human', false);
    const t = b.finish(240);
    expect(t.points).toBe(240);
    expect(t.bursts[0]?.to).toBe('+275760-09-13T00:00:00.000Z');
  });

  it('answers an empty timeline for no timed requests', () => {
    const t = new TimelineBuilder().finish();
    expect(t).toMatchObject({ points: 0, start: null, series: {}, hostile: [], bursts: [] });
  });

  it('finds bursts over max(BURST_MIN, 4 x median) and merges adjacent buckets', () => {
    const hostile = [1, 2, 1, 30, 40, 1, 2, 1, 9, 1];
    const totals = hostile.map((n) => n + 10);
    const { threshold, bursts } = findBursts(hostile, totals, 0, 60_000);
    expect(threshold).toBe(Math.max(BURST_MIN, 4 * 1));
    expect(bursts).toEqual([
      {
        from: new Date(180_000).toISOString(),
        to: new Date(300_000).toISOString(),
        hostileRequests: 70,
        requests: 90,
        peak: 40,
      },
      {
        from: new Date(480_000).toISOString(),
        to: new Date(540_000).toISOString(),
        hostileRequests: 9,
        requests: 19,
        peak: 9,
      },
    ]);
  });
});
