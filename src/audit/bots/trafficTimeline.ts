/**
 * Requests per time bucket by client class, and how many of them were hostile (an attack
 * signature, a sensitive-path probe, a login POST or a scanner user agent), with the bursts of
 * hostile traffic found in it: what the Bots view charts. Bounded: at most MAX_HELD buckets are
 * held while reading (past that the bucket grows to the next step of BUCKET_STEPS_MINUTES), and
 * the answer has at most `maxPoints` buckets, the smallest step that fits the span (past
 * maxPoints weeks, the newest maxPoints weeks).
 *
 * Robust to forged or skewed timestamps (a line from 2099, epoch junk): a time at or past `until`
 * (without it: now + 1 day) is never held, and without `since`/`until` the chart spans the bulk
 * of the log only: starting from the middle half of the requests, it widens over gaps of at most
 * max(MIN_GAP, that half's span); a bucket further away is left out. Requests left off the chart
 * are counted in `outOfRange`.
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
const DAY = 1440 * MINUTE;
/** Without `since`/`until`, the chart widens from the bulk of the log over gaps up to this (or the bulk's span). */
export const MIN_GAP_MS = 31 * DAY;
/** The Date range's ends: a bucket's edge past them (a forged timestamp) is clamped, never a RangeError. */
const MAX_DATE = 8.64e15;
/** Requests in a held bucket (its class counters; the hostile counter is a subset). */
const total = (counts: number[]) => counts.slice(0, HOSTILE).reduce((a, b) => a + b, 0);
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
  /** Requests not charted: a time far from the bulk of the log or in the future, or older than the window shown. */
  outOfRange: number;
}

export interface TimelineOptions {
  /** The window asked for: the chart keeps to it and is not trimmed to the bulk at that end. */
  since?: number;
  until?: number;
  /** The clock (ms): without `until`, times from now + 1 day on are out of range. */
  now?: number;
}

export class TimelineBuilder {
  private stepIndex = 0;
  private readonly buckets = new Map<number, number[]>();
  private lastKey = Number.NaN;
  private lastBucket: number[] | undefined;
  /** Requests never held (out of range) or dropped from the held buckets. */
  private dropped = 0;
  private readonly upper: number;

  constructor(private readonly opts: TimelineOptions = {}) {
    this.upper = opts.until ?? (opts.now ?? Date.now()) + DAY;
  }

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
    if (time >= this.upper || (this.opts.since !== undefined && time < this.opts.since)) {
      this.dropped++;
      return;
    }
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
    for (const k of keys.slice(0, Math.max(0, keys.length - keep))) {
      this.dropped += total(this.buckets.get(k) as number[]);
      this.buckets.delete(k);
    }
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
      outOfRange: this.dropped,
    };
    if (this.buckets.size === 0) return empty;
    const { lo, hi } = this.bulk();
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
    let outOfRange = this.dropped;
    for (const [key, counts] of this.buckets) {
      const row = key >= lo && key <= hi ? rows[Math.floor(key / ratio) - first] : undefined;
      if (!row) {
        outOfRange += total(counts);
        continue;
      }
      for (let i = 0; i < counts.length; i++) (row[i] as number) += counts[i] as number;
    }
    const series: Record<string, number[]> = {};
    CLIENT_CLASSES.forEach((cls, i) => {
      if (rows.some((r) => (r[i] as number) > 0)) series[cls] = rows.map((r) => r[i] as number);
    });
    const hostile = rows.map((r) => r[HOSTILE] as number);
    const totals = rows.map(total);
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
      outOfRange,
    };
  }

  /**
   * The first and last held bucket keys to chart. At an end given by `since`/`until`, the last
   * held bucket; otherwise the bulk's: from the middle half of the requests outwards while the
   * gap to the next held bucket is at most max(MIN_GAP_MS, the middle half's span). A single
   * forged line decades away is left out; a quiet start or end of a real log is not.
   */
  private bulk(): { lo: number; hi: number } {
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    const sums = keys.map((k) => total(this.buckets.get(k) as number[]));
    const n = sums.reduce((a, b) => a + b, 0);
    // Bucket indices holding the requests of rank n/4 and n - 1 - n/4 (0-based, in time order).
    const rankLo = Math.floor(n / 4);
    const rankHi = n - 1 - rankLo;
    let coreLo = 0;
    let coreHi = keys.length - 1;
    let seen = 0;
    let foundLo = false;
    for (let i = 0; i < keys.length; i++) {
      seen += sums[i] as number;
      if (!foundLo && seen > rankLo) {
        coreLo = i;
        foundLo = true;
      }
      if (seen > rankHi) {
        coreHi = i;
        break;
      }
    }
    const stepMs = this.stepMinutes * MINUTE;
    const gap = Math.max(MIN_GAP_MS, ((keys[coreHi] as number) - (keys[coreLo] as number) + 1) * stepMs);
    let i = coreLo;
    if (this.opts.since !== undefined) i = 0;
    else while (i > 0 && ((keys[i] as number) - (keys[i - 1] as number)) * stepMs <= gap) i--;
    let j = coreHi;
    if (this.opts.until !== undefined) j = keys.length - 1;
    else while (j < keys.length - 1 && ((keys[j + 1] as number) - (keys[j] as number)) * stepMs <= gap) j++;
    return { lo: keys[i] as number, hi: keys[j] as number };
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
