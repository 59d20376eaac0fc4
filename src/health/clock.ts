import type { CheckEnv } from '../audit/health/checkEnv.js';
import { analyzeClock, parseChronyTracking, parseTimedatectl } from '../audit/health/clockAnalysis.js';
import { emptyResult, type GroupResult } from '../audit/health/types.js';

/** chrony reports the offset; timedatectl only whether systemd thinks the clock is synced. */
export async function checkClock(env: CheckEnv): Promise<GroupResult> {
  if (env.paths.root !== '/') {
    return {
      ...emptyResult(),
      notes: ['clock: skipped: chronyc and timedatectl only query the local system, and HOST_ROOT is not /'],
    };
  }
  const opts = { timeoutMs: 3000, signal: env.signal };
  const chrony = await env.run('chronyc', ['-c', 'tracking'], opts);
  const fromChrony = chrony.found && chrony.exitCode === 0 ? parseChronyTracking(chrony.stdout) : undefined;
  if (fromChrony) return analyzeClock(fromChrony, env.thresholds);
  const tdc = await env.run('timedatectl', ['show'], opts);
  const fromTdc = tdc.found && tdc.exitCode === 0 ? parseTimedatectl(tdc.stdout) : undefined;
  if (fromTdc) return analyzeClock(fromTdc, env.thresholds);
  return {
    ...emptyResult(),
    notes: [
      'clock: neither chronyc nor timedatectl answered: install chrony (or use systemd-timesyncd) to keep and report time sync',
    ],
  };
}
