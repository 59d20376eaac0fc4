/** Pure analysis of the "clock" check group. */
import { grade, type Thresholds } from './thresholds.js';
import { emptyResult, type GroupResult } from './types.js';

export interface ClockState {
  synchronized: boolean;
  /** Offset from the reference in ms, when the source reports one. */
  offsetMs?: number;
  source: string;
}

/** `chronyc -c tracking`: CSV; field 5 is the system time offset in seconds, the last the leap status. */
export function parseChronyTracking(csv: string): ClockState | undefined {
  const f = csv.trim().split(',');
  if (f.length < 14) return undefined;
  const offset = Number(f[4]);
  const leap = f[f.length - 1] ?? '';
  return {
    synchronized: leap !== 'Not synchronised' && f[0] !== '00000000',
    offsetMs: Number.isFinite(offset) ? offset * 1000 : undefined,
    source: `chrony (reference ${f[1]})`,
  };
}

/** `timedatectl show`: key=value lines; NTPSynchronized=yes|no. */
export function parseTimedatectl(text: string): ClockState | undefined {
  const m = /^NTPSynchronized=(yes|no)$/m.exec(text);
  return m ? { synchronized: m[1] === 'yes', source: 'timedatectl' } : undefined;
}

export function analyzeClock(s: ClockState, t: Thresholds): GroupResult {
  const r = emptyResult();
  r.metrics['clock.synchronized'] = s.synchronized ? 1 : 0;
  if (!s.synchronized) {
    r.findings.push({
      id: 'clock.unsynchronized',
      severity: 'high',
      title: 'The clock is not synchronized',
      evidence: `${s.source} reports no synchronization`,
      recommendation:
        'Enable time sync (timedatectl set-ntp true, or configure chrony/systemd-timesyncd with reachable NTP servers).',
    });
  }
  if (s.offsetMs !== undefined) {
    r.metrics['clock.offset_ms'] = Math.round(s.offsetMs * 1000) / 1000;
    const severity = grade(Math.abs(s.offsetMs), t.clockOffsetMs);
    if (severity) {
      r.findings.push({
        id: 'clock.offset',
        severity,
        title: `The clock is off by ${Math.abs(s.offsetMs).toFixed(0)} ms`,
        evidence: `${s.source}: offset ${s.offsetMs.toFixed(3)} ms`,
        recommendation:
          'Check the NTP sources (chronyc sources -v) and let chrony step the clock (chronyc makestep).',
      });
    }
  }
  return r;
}
