/**
 * Aggregates slow-log entries per fingerprint in bounded memory (it grows with distinct
 * fingerprints, capped, never with entries), then ranks them, flags full scans, likely missing
 * indexes, bursts, slow and lock-bound classes, and turns the flags into findings. Pure: no I/O.
 */
import { type Finding, type Severity, worstFirst } from '../findings.js';
import { filteredColumns, fingerprint, fingerprintId, maskLiterals } from './fingerprint.js';
import type { SlowLogFormat, SlowQueryEntry } from './types.js';

/** Distinct fingerprints tracked (~3 KB each); past this, new ones go to the "other" bucket. */
export const MAX_CLASSES = 10_000;
/** Query times kept per class for the p95 (exact up to this many executions, a uniform sample past it). */
const RESERVOIR = 256;
const MAX_VALUES_PER_CLASS = 10;
const MAX_FINGERPRINT_OUT = 1000;
const MAX_EXAMPLE_RAW = 4096;
const MAX_HOURS = 24 * 400;
const FINDINGS_LIMIT = 50;

export const QUERY_FLAGS = ['full_scan', 'missing_index', 'burst', 'slow', 'lock_wait', 'dominant'] as const;
export type QueryFlag = (typeof QUERY_FLAGS)[number];
export const ORDER_BY = ['totalTime', 'count', 'maxTime', 'avgTime', 'rowsExamined'] as const;
export type OrderBy = (typeof ORDER_BY)[number];

/** Thresholds of the flags (documented in the tool's description). */
export const THRESHOLDS = {
  fullScanMinRowsExamined: 10_000,
  fullScanMinRatio: 1000,
  burstMinPerMinute: 20,
  burstFactor: 10,
  burstMinSpanMinutes: 10,
  slowP95Seconds: 1,
  slowMaxSeconds: 10,
  lockMinSeconds: 1,
  lockShare: 0.3,
  dominantShare: 0.5,
};

interface Counted {
  values: Map<string, number>;
  overflow: boolean;
}

interface ClassState {
  key: string;
  fingerprint: string;
  dialect: SlowLogFormat;
  count: number;
  totalTime: number;
  minTime: number;
  maxTime: number;
  lockTotal: number;
  lockKnown: number;
  rowsKnown: number;
  rowsSent: number;
  rowsExamined: number;
  rowsAffected: number;
  maxRowsExamined: number;
  fullScanReported: number;
  first: number;
  last: number;
  users: Counted;
  hosts: Counted;
  dbs: Counted;
  example: string;
  exampleTime: number;
  reservoir: Float64Array;
  minute: number;
  minuteCount: number;
  peakPerMinute: number;
  peakMinute: number;
  truncated: number;
}

export interface ValueCount {
  name: string;
  count: number;
}

export interface QueryReport {
  id: string;
  fingerprint: string;
  engine: SlowLogFormat;
  count: number;
  countPercent: number;
  totalTime: number;
  timePercent: number;
  avgTime: number;
  p95Time: number;
  maxTime: number;
  minTime: number;
  lockTime: number | null;
  rowsExaminedAvg: number | null;
  rowsSentAvg: number | null;
  rowsAffectedAvg: number | null;
  examinedPerReturned: number | null;
  firstSeen: string | null;
  lastSeen: string | null;
  peakPerMinute: number;
  peakMinute: string | null;
  users: ValueCount[];
  hosts: ValueCount[];
  databases: ValueCount[];
  example: string;
  exampleTime: number;
  flags: QueryFlag[];
  indexCandidates: string[];
}

export interface SlowLogReport {
  entries: number;
  totalTime: number;
  distinctFingerprints: number;
  timeRange: { from: string; to: string } | null;
  other: { count: number; totalTime: number } | null;
  queries: QueryReport[];
  truncated: boolean;
  flagged: Record<QueryFlag, number>;
  findings: Finding[];
  findingsTruncated: boolean;
  timeline: Array<{ hour: string; count: number; totalTime: number }>;
  peakMinute: { minute: string; count: number } | null;
}

/** The largest |milliseconds| a Date can hold (ECMA-262 time values). */
const MAX_DATE_MS = 8.64e15;

const round = (n: number, d = 6) => Math.round(n * 10 ** d) / 10 ** d;
const iso = (t: number) => new Date(t).toISOString();

function count(c: Counted, v: string | null) {
  if (v === null) return;
  const n = c.values.get(v);
  if (n !== undefined) c.values.set(v, n + 1);
  else if (c.values.size < MAX_VALUES_PER_CLASS) c.values.set(v, 1);
  else c.overflow = true;
}

function topValues(c: Counted): ValueCount[] {
  return [...c.values]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 5)
    .map(([name, n]) => ({ name, count: n }));
}

export class SlowQueryAggregator {
  readonly skipped: Record<string, number> = {};
  private readonly classes = new Map<string, ClassState>();
  private entries = 0;
  private totalTime = 0;
  private first = Infinity;
  private last = -Infinity;
  private other = { count: 0, totalTime: 0 };
  private readonly hours = new Map<number, { count: number; totalTime: number }>();
  private minute = -1;
  private minuteCount = 0;
  private peak = { minute: -1, count: 0 };
  /** A deterministic generator for the reservoirs, so a result is reproducible. */
  private seed = 0x2545f491;
  /** True once a fingerprint was turned away because MAX_CLASSES were tracked. */
  capReached = false;

  constructor(private readonly opts: { since?: number; until?: number; maxClasses?: number } = {}) {}

  skip(reason: string, n = 1): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + n;
  }

  private random(): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed / 4294967296;
  }

  add(entry: SlowQueryEntry, dialect: SlowLogFormat): void {
    // A log is untrusted text: a duration that is not a finite number of seconds cannot be
    // summed, and a time outside what a Date holds cannot be printed.
    if (!Number.isFinite(entry.queryTime) || entry.queryTime < 0) return this.skip('bad_duration');
    const e = entry.time === null || Math.abs(entry.time) <= MAX_DATE_MS ? entry : { ...entry, time: null };
    const t = e.time;
    if (this.opts.since !== undefined || this.opts.until !== undefined) {
      if (t === null) return this.skip('undated');
      if (this.opts.since !== undefined && t < this.opts.since) return this.skip('before_since');
      if (this.opts.until !== undefined && t >= this.opts.until) return this.skip('after_until');
    }
    let fp = fingerprint(e.statement, dialect);
    if (fp === '') fp = e.truncated ? '(statement too long to read)' : '(empty statement)';
    // Long fingerprints are keyed by their hash so the map does not hold 16 KB keys.
    const key = fp.length <= 256 ? fp : `\u0000${fingerprintId(fp)}`;
    let c = this.classes.get(key);
    if (!c) {
      if (this.classes.size >= (this.opts.maxClasses ?? MAX_CLASSES)) {
        this.capReached = true;
        this.other.count++;
        this.other.totalTime += e.queryTime;
        this.global(e);
        return;
      }
      c = {
        key: fingerprintId(fp),
        fingerprint: fp.length > MAX_FINGERPRINT_OUT ? `${fp.slice(0, MAX_FINGERPRINT_OUT)}…` : fp,
        dialect,
        count: 0,
        totalTime: 0,
        minTime: Infinity,
        maxTime: -1,
        lockTotal: 0,
        lockKnown: 0,
        rowsKnown: 0,
        rowsSent: 0,
        rowsExamined: 0,
        rowsAffected: 0,
        maxRowsExamined: 0,
        fullScanReported: 0,
        first: Infinity,
        last: -Infinity,
        users: { values: new Map(), overflow: false },
        hosts: { values: new Map(), overflow: false },
        dbs: { values: new Map(), overflow: false },
        example: '',
        exampleTime: -1,
        reservoir: new Float64Array(RESERVOIR),
        minute: -1,
        minuteCount: 0,
        peakPerMinute: 0,
        peakMinute: -1,
        truncated: 0,
      };
      this.classes.set(key, c);
    }
    const q = e.queryTime;
    if (c.count < RESERVOIR) c.reservoir[c.count] = q;
    else {
      const j = Math.floor(this.random() * (c.count + 1));
      if (j < RESERVOIR) c.reservoir[j] = q;
    }
    c.count++;
    c.totalTime += q;
    if (q < c.minTime) c.minTime = q;
    if (q > c.maxTime) {
      c.maxTime = q;
      // The slowest execution is the example (masked when reported).
      c.example = e.statement.length > MAX_EXAMPLE_RAW ? e.statement.slice(0, MAX_EXAMPLE_RAW) : e.statement;
      c.exampleTime = q;
    }
    if (e.lockTime !== null) {
      c.lockTotal += e.lockTime;
      c.lockKnown++;
    }
    if (e.rowsExamined !== null) {
      c.rowsKnown++;
      c.rowsExamined += e.rowsExamined;
      c.rowsSent += e.rowsSent ?? 0;
      c.rowsAffected += e.rowsAffected ?? 0;
      if (e.rowsExamined > c.maxRowsExamined) c.maxRowsExamined = e.rowsExamined;
    }
    if (e.fullScan) c.fullScanReported++;
    if (e.truncated) c.truncated++;
    count(c.users, e.user);
    count(c.hosts, e.host);
    count(c.dbs, e.db);
    if (t !== null) {
      if (t < c.first) c.first = t;
      if (t > c.last) c.last = t;
      const m = Math.floor(t / 60_000);
      if (m === c.minute) c.minuteCount++;
      else {
        c.minute = m;
        c.minuteCount = 1;
      }
      if (c.minuteCount > c.peakPerMinute) {
        c.peakPerMinute = c.minuteCount;
        c.peakMinute = m;
      }
    }
    this.global(e);
  }

  private global(e: SlowQueryEntry) {
    this.entries++;
    this.totalTime += e.queryTime;
    const t = e.time;
    if (t === null) return;
    if (t < this.first) this.first = t;
    if (t > this.last) this.last = t;
    const h = Math.floor(t / 3_600_000);
    const bucket = this.hours.get(h);
    if (bucket) {
      bucket.count++;
      bucket.totalTime += e.queryTime;
    } else if (this.hours.size < MAX_HOURS) this.hours.set(h, { count: 1, totalTime: e.queryTime });
    const m = Math.floor(t / 60_000);
    if (m === this.minute) this.minuteCount++;
    else {
      this.minute = m;
      this.minuteCount = 1;
    }
    if (this.minuteCount > this.peak.count) this.peak = { minute: m, count: this.minuteCount };
  }

  get distinct(): number {
    return this.classes.size;
  }

  finish(top: number, orderBy: OrderBy = 'totalTime'): SlowLogReport {
    const total = this.totalTime;
    const all = [...this.classes.values()].map((c) => this.report(c, total));
    const key: Record<OrderBy, (q: QueryReport) => number> = {
      totalTime: (q) => q.totalTime,
      count: (q) => q.count,
      maxTime: (q) => q.maxTime,
      avgTime: (q) => q.avgTime,
      rowsExamined: (q) => (q.rowsExaminedAvg ?? 0) * q.count,
    };
    all.sort(
      (a, b) => key[orderBy](b) - key[orderBy](a) || b.totalTime - a.totalTime || a.id.localeCompare(b.id),
    );
    const flagged = Object.fromEntries(QUERY_FLAGS.map((f) => [f, 0])) as Record<QueryFlag, number>;
    const findings: Finding[] = [];
    for (const q of all) {
      for (const f of q.flags) flagged[f]++;
      findings.push(...findingsOf(q));
    }
    if (this.capReached)
      findings.push({
        id: 'slowlog.fingerprint_cap',
        severity: 'info',
        title: `More than ${this.opts.maxClasses ?? MAX_CLASSES} distinct query fingerprints`,
        evidence: `${this.other.count} executions (${round(this.other.totalTime, 3)} s) of further fingerprints were counted in "other", not analysed`,
        recommendation:
          'Narrow the window with since/until; so many distinct shapes often mean statements built with inlined identifiers or unbatched IN lists',
      });
    findings.sort((a, b) => worstFirst(a, b) || (findingWeight.get(b) ?? 0) - (findingWeight.get(a) ?? 0));
    const hours = [...this.hours.entries()].sort((a, b) => a[0] - b[0]).slice(-168);
    return {
      entries: this.entries,
      totalTime: round(total),
      distinctFingerprints: this.classes.size,
      timeRange: Number.isFinite(this.first) ? { from: iso(this.first), to: iso(this.last) } : null,
      other:
        this.other.count > 0 ? { count: this.other.count, totalTime: round(this.other.totalTime) } : null,
      queries: all.slice(0, top),
      truncated: all.length > top,
      flagged,
      findings: findings.slice(0, FINDINGS_LIMIT),
      findingsTruncated: findings.length > FINDINGS_LIMIT,
      timeline: hours.map(([h, b]) => ({
        hour: iso(h * 3_600_000),
        count: b.count,
        totalTime: round(b.totalTime, 3),
      })),
      peakMinute:
        this.peak.count > 0 ? { minute: iso(this.peak.minute * 60_000), count: this.peak.count } : null,
    };
  }

  private report(c: ClassState, total: number): QueryReport {
    const n = Math.min(c.count, RESERVOIR);
    const sample = Array.from(c.reservoir.subarray(0, n)).sort((a, b) => a - b);
    const p95 = sample[Math.max(0, Math.ceil(0.95 * n) - 1)] ?? 0;
    const avgExamined = c.rowsKnown > 0 ? c.rowsExamined / c.rowsKnown : null;
    const avgSent = c.rowsKnown > 0 ? c.rowsSent / c.rowsKnown : null;
    const avgAffected = c.rowsKnown > 0 ? c.rowsAffected / c.rowsKnown : null;
    const returned = (avgSent ?? 0) + (avgAffected ?? 0);
    const ratio = avgExamined === null ? null : avgExamined / Math.max(returned, 1);
    const share = total > 0 ? c.totalTime / total : 0;
    const flags: QueryFlag[] = [];
    const fullScan =
      (avgExamined !== null &&
        avgExamined >= THRESHOLDS.fullScanMinRowsExamined &&
        (ratio ?? 0) >= THRESHOLDS.fullScanMinRatio) ||
      (c.fullScanReported * 2 >= c.count && (avgExamined ?? 0) >= 1000);
    if (fullScan) {
      flags.push('full_scan');
      if (/\b(?:where|join|on)\b/.test(c.fingerprint)) flags.push('missing_index');
    }
    const spanMinutes = Number.isFinite(c.first) ? (c.last - c.first) / 60_000 : 0;
    if (
      c.peakPerMinute >= THRESHOLDS.burstMinPerMinute &&
      spanMinutes >= THRESHOLDS.burstMinSpanMinutes &&
      c.peakPerMinute >= THRESHOLDS.burstFactor * (c.count / Math.max(spanMinutes, 1))
    )
      flags.push('burst');
    if (p95 >= THRESHOLDS.slowP95Seconds || c.maxTime >= THRESHOLDS.slowMaxSeconds) flags.push('slow');
    if (c.lockTotal >= THRESHOLDS.lockMinSeconds && c.lockTotal >= THRESHOLDS.lockShare * c.totalTime)
      flags.push('lock_wait');
    if (share >= THRESHOLDS.dominantShare && c.count >= 10 && this.classes.size > 1) flags.push('dominant');
    return {
      id: c.key,
      fingerprint: c.fingerprint,
      engine: c.dialect,
      count: c.count,
      countPercent: round((c.count / Math.max(1, this.entries)) * 100, 2),
      totalTime: round(c.totalTime),
      timePercent: round(share * 100, 2),
      avgTime: round(c.totalTime / c.count),
      p95Time: round(p95),
      maxTime: round(c.maxTime),
      minTime: round(c.minTime),
      lockTime: c.lockKnown > 0 ? round(c.lockTotal) : null,
      rowsExaminedAvg: avgExamined === null ? null : round(avgExamined, 1),
      rowsSentAvg: avgSent === null ? null : round(avgSent, 1),
      rowsAffectedAvg: avgAffected === null ? null : round(avgAffected, 1),
      examinedPerReturned: ratio === null ? null : round(ratio, 1),
      firstSeen: Number.isFinite(c.first) ? iso(c.first) : null,
      lastSeen: Number.isFinite(c.last) ? iso(c.last) : null,
      peakPerMinute: c.peakPerMinute,
      peakMinute: c.peakMinute >= 0 ? iso(c.peakMinute * 60_000) : null,
      users: topValues(c.users),
      hosts: topValues(c.hosts),
      databases: topValues(c.dbs),
      example: maskLiterals(c.example, c.dialect),
      exampleTime: round(c.exampleTime),
      flags,
      indexCandidates: flags.includes('missing_index') ? filteredColumns(c.fingerprint) : [],
    };
  }
}

/** Orders findings of equal severity: the class's share of time. */
const findingWeight = new WeakMap<Finding, number>();

function findingsOf(q: QueryReport): Finding[] {
  const out: Finding[] = [];
  const short = q.fingerprint.length > 80 ? `${q.fingerprint.slice(0, 80)}…` : q.fingerprint;
  const add = (id: string, severity: Severity, title: string, evidence: string, recommendation: string) => {
    const f = {
      id: `slowlog.${id}:${q.id}`,
      severity,
      title: `${title}: ${short}`,
      evidence,
      recommendation,
    };
    findingWeight.set(f, q.totalTime);
    out.push(f);
  };
  const times = `${q.count} executions, ${q.totalTime.toFixed(3)} s total (${q.timePercent}% of logged time), avg ${q.avgTime.toFixed(3)} s, p95 ${q.p95Time.toFixed(3)} s, max ${q.maxTime.toFixed(3)} s`;
  if (q.flags.includes('full_scan')) {
    const big = (q.timePercent >= 10 && q.count >= 10) || (q.rowsExaminedAvg ?? 0) >= 1_000_000;
    const rows = `${q.rowsExaminedAvg} rows examined per execution for ${q.rowsSentAvg} sent and ${q.rowsAffectedAvg} changed (${q.examinedPerReturned}x); ${times}`;
    if (q.flags.includes('missing_index'))
      add(
        'missing_index',
        big ? 'high' : 'medium',
        'Full scans that an index would likely avoid',
        rows,
        `Run EXPLAIN on the example (${q.example.slice(0, 120)}); ` +
          (q.indexCandidates.length > 0
            ? `consider an index covering ${q.indexCandidates.join(', ')} (most selective first)`
            : 'index the columns in its WHERE/JOIN conditions') +
          ', then confirm Rows_examined drops',
      );
    else
      add(
        'full_scan',
        big ? 'high' : 'medium',
        'Reads whole tables',
        rows,
        'A statement without a filter reads every row: add a WHERE/LIMIT, paginate, or cache the result',
      );
  }
  if (q.flags.includes('slow')) {
    const severe = q.maxTime >= 10 || q.p95Time >= 5;
    add(
      'slow_query',
      severe ? 'high' : 'medium',
      'Slow executions',
      times,
      'EXPLAIN (ANALYZE) the example to see where time goes; check indexes, row counts and whether it runs at a busy time',
    );
  }
  if (q.flags.includes('lock_wait'))
    add(
      'lock_wait',
      'medium',
      'Time spent waiting for locks',
      `${q.lockTime} s of ${q.totalTime.toFixed(3)} s waiting for locks over ${q.count} executions`,
      'Find the writers holding the locks (long transactions, ALTERs, MyISAM tables); shorten transactions or move to InnoDB row locks',
    );
  if (q.flags.includes('burst'))
    add(
      'burst',
      q.timePercent >= 5 ? 'medium' : 'low',
      'Bursts of executions',
      `${q.peakPerMinute} executions in the minute from ${q.peakMinute} against ${q.count} between ${q.firstSeen} and ${q.lastSeen}`,
      'Look for a cron job, a retry loop or an N+1 pattern at that time; batch or cache the lookups',
    );
  if (q.flags.includes('dominant'))
    add(
      'dominant',
      'medium',
      'One statement takes most of the logged time',
      times,
      'Optimising this one statement pays the most: start here',
    );
  return out;
}
