/**
 * Requests per time bucket by client class, and how many of them were hostile (an attack
 * signature, a sensitive-path probe, a login POST or a scanner user agent), with the bursts of
 * hostile traffic found in it: what the Bots view charts. Bounded: at most MAX_HELD buckets are
 * held while reading (past that the bucket grows to the next step of BUCKET_STEPS_MINUTES), and
 * the answer has at most `maxPoints` buckets, the smallest step that fits the span (past
 * maxPoints weeks, the newest maxPoints weeks).
 */
import { CLIENT_CLASSES, type ClientClass } from './classify.js';

/** Bucket sizes in minutes; each divides the next, so buckets merge exactly when the step grows. */
export const BUCKET_STEPS_MINUTES = [1, 5, 15, 30, 60, 180, 360, 720, 1440, 10080] as const;
/** Buckets held while reading (each CLIENT_CLASSES.length + 1 counters). */
export const MAX_HELD = 20_000;
/** Points in the answer by default. */
export const DEFAULT_MAX_POINTS = 240;
/** At most this many bursts are reported (the largest, in time order). */
export const MAX_BURSTS = 20;
/** A bucket is part of a burst when its hostile requests reach max(this, BURST_FACTOR x median). */
export const BURST_MIN = 5;
export const BURST_FACTOR = 4;

const HOSTILE = CLIENT_CLASSES.length;
const INDEX = new Map<ClientClass, number>(CLIENT_CLASSES.map((c, i) => [c, i]));
const MINUTE = 60_000;
/** The Date range's ends: a bucket's edge past them (a forged timestamp) is clamped, never a RangeError. */
const MAX_DATE = 8.64e15;
const isoOf = (ms: number) => new Date(Math.max(-MAX_DATE, Math.min(MAX_DATE, ms))).toISOString();

export interface Burst {
  from: string;
  /** The end of the burst's last bucket. */
  to: string;
  hostileRequests: number;
  requests: number;
  /** Hostile requests in its busiest bucket. */
  peak: number;
}

export interface TrafficTimeline {
  bucketSeconds: number;
  /** Start of the first bucket; bucket i starts at start + i * bucketSeconds. */
  start: string | null;
  points: number;
  /** Requests per bucket by client class; only classes with requests. */
  series: Record<string, number[]>;
  /** Hostile requests per bucket (attack signature, sensitive-path probe, login POST or scanner UA). */
  hostile: number[];
  /** A bucket whose hostile requests reach this is part of a burst. */
  burstThreshold: number;
  bursts: Burst[];
}

export class TimelineBuilder {
  private stepIndex = 0;
  private readonly buckets = new Map<number, number[]>();
  private lastKey = Number.NaN;
  private lastBucket: number[] | undefined;

  /** Buckets held now (at most MAX_HELD). */
  get held(): number {
    return this.buckets.size;
  }

  /** The current bucket in minutes. */
  get stepMinutes(): number {
    return BUCKET_STEPS_MINUTES[this.stepIndex] as number;
  }

  add(time: number, cls: ClientClass, hostile: boolean): void {
    if (!Number.isFinite(time)) return;
    let key = Math.floor(time / (this.stepMinutes * MINUTE));
    // Logs run in time order: most lines land in the bucket of the line before.
    let b = key === this.lastKey ? this.lastBucket : this.buckets.get(key);
    if (!b) {
      b = new Array<number>(HOSTILE + 1).fill(0);
      this.buckets.set(key, b);
      if (this.buckets.size > MAX_HELD) {
        if (this.stepIndex < BUCKET_STEPS_MINUTES.length - 1) this.regroup(this.stepIndex + 1);
        // Centuries of timestamps even in weeks (a corrupt or forged log): only the newest half stays.
        else this.dropOldest(MAX_HELD / 2);
        key = Math.floor(time / (this.stepMinutes * MINUTE));
        b = this.buckets.get(key);
        if (!b) this.buckets.set(key, (b = new Array<number>(HOSTILE + 1).fill(0)));
      }
    }
    this.lastKey = key;
    this.lastBucket = b;
    (b[INDEX.get(cls) as number] as number)++;
    if (hostile) (b[HOSTILE] as number)++;
  }

  private dropOldest(keep: number): void {
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    for (const k of keys.slice(0, Math.max(0, keys.length - keep))) this.buckets.delete(k);
    this.lastKey = Number.NaN;
  }

  /** Merges the held buckets into the (coarser) step `index`. */
  private regroup(index: number): void {
    const ratio = (BUCKET_STEPS_MINUTES[index] as number) / this.stepMinutes;
    const old = [...this.buckets];
    this.buckets.clear();
    this.lastKey = Number.NaN;
    this.stepIndex = index;
    for (const [key, counts] of old) {
      const k = Math.floor(key / ratio);
      const into = this.buckets.get(k);
      if (!into) this.buckets.set(k, counts);
      else for (let i = 0; i < counts.length; i++) (into[i] as number) += counts[i] as number;
    }
  }

  finish(maxPoints = DEFAULT_MAX_POINTS): TrafficTimeline {
    const empty: TrafficTimeline = {
      bucketSeconds: this.stepMinutes * 60,
      start: null,
      points: 0,
      series: {},
      hostile: [],
      burstThreshold: BURST_MIN,
      bursts: [],
    };
    if (this.buckets.size === 0) return empty;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const k of this.buckets.keys()) {
      if (k < lo) lo = k;
      if (k > hi) hi = k;
    }
    // The smallest step (no finer than the one held) that shows the whole span in maxPoints.
    let index = this.stepIndex;
    const spanMinutes = (hi - lo + 1) * this.stepMinutes;
    while (
      index < BUCKET_STEPS_MINUTES.length - 1 &&
      spanMinutes / (BUCKET_STEPS_MINUTES[index] as number) > maxPoints
    )
      index++;
    const step = BUCKET_STEPS_MINUTES[index] as number;
    const ratio = step / this.stepMinutes;
    // Even weekly buckets do not fit (years of log): the newest maxPoints of them.
    const last = Math.floor(hi / ratio);
    const first = Math.max(Math.floor(lo / ratio), last - maxPoints + 1);
    const points = last - first + 1;
    const rows = Array.from({ length: points }, () => new Array<number>(HOSTILE + 1).fill(0));
    for (const [key, counts] of this.buckets) {
      const row = rows[Math.floor(key / ratio) - first];
      if (!row) continue;
      for (let i = 0; i < counts.length; i++) (row[i] as number) += counts[i] as number;
    }
    const series: Record<string, number[]> = {};
    CLIENT_CLASSES.forEach((cls, i) => {
      if (rows.some((r) => (r[i] as number) > 0)) series[cls] = rows.map((r) => r[i] as number);
    });
    const hostile = rows.map((r) => r[HOSTILE] as number);
    const totals = rows.map((r) => r.slice(0, HOSTILE).reduce((a, b) => a + b, 0));
    const startMs = first * step * MINUTE;
    const { threshold, bursts } = findBursts(hostile, totals, startMs, step * MINUTE);
    return {
      bucketSeconds: step * 60,
      start: isoOf(startMs),
      points,
      series,
      hostile,
      burstThreshold: threshold,
      bursts,
    };
  }
}

/**
 * Runs of buckets whose hostile requests reach max(BURST_MIN, BURST_FACTOR x the median bucket):
 * attack traffic standing out from its own background. The largest MAX_BURSTS, in time order.
 */
export function findBursts(
  hostile: number[],
  totals: number[],
  startMs: number,
  bucketMs: number,
): { threshold: number; bursts: Burst[] } {
  const sorted = [...hostile].sort((a, b) => a - b);
  const median = sorted.length ? (sorted[Math.floor((sorted.length - 1) / 2)] as number) : 0;
  const threshold = Math.max(BURST_MIN, Math.ceil(BURST_FACTOR * median));
  const found: Array<Burst & { at: number }> = [];
  let open: (Burst & { at: number }) | null = null;
  hostile.forEach((n, i) => {
    if (n >= threshold) {
      if (!open) {
        open = {
          at: i,
          from: isoOf(startMs + i * bucketMs),
          to: '',
          hostileRequests: 0,
          requests: 0,
          peak: 0,
        };
        found.push(open);
      }
      open.hostileRequests += n;
      open.requests += totals[i] as number;
      open.peak = Math.max(open.peak, n);
      open.to = isoOf(startMs + (i + 1) * bucketMs);
    } else open = null;
  });
  const kept = found
    .sort((a, b) => b.hostileRequests - a.hostileRequests || a.at - b.at)
    .slice(0, MAX_BURSTS)
    .sort((a, b) => a.at - b.at)
    .map(({ at: _at, ...b }) => b);
  return { threshold, bursts: kept };
}
