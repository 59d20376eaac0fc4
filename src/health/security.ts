import { fileOp } from '../host/blockingOps.js';
import type { CheckEnv } from '../audit/health/checkEnv.js';
import {
  analyzeFirewall,
  analyzePendingReboot,
  analyzeSshFailures,
  analyzeTaint,
  countSshFailures,
  type SshFailures,
} from '../audit/health/securityAnalysis.js';
import { emptyResult, type GroupResult, mergeResults } from '../audit/health/types.js';
import { confinePath, PathNotAllowedError } from '../host/confine.js';
import { under } from '../host/hostPaths.js';
import { exists, readText } from '../host/readFiles.js';
import { openVerified } from '../host/verifiedFile.js';
import { systemDescription } from './sharedFacts.js';

/** Debian/Ubuntu, then RHEL family. Rotated files are left to analyze-style tools. */
const AUTH_LOGS = ['/var/log/auth.log', '/var/log/secure'];
/** Only the newest part of a huge auth log is read, so the check stays fast and bounded. */
const AUTH_TAIL_BYTES = 32 * 1024 * 1024;

export async function checkSecurity(env: CheckEnv): Promise<GroupResult> {
  const [ssh, firewall, taint, reboot] = await Promise.all([
    sshFailures(env),
    systemDescription(env).then((d) => analyzeFirewall(d.firewalls)),
    readText(under(env.paths.proc, '/sys/kernel/tainted')).then((t) =>
      t === undefined
        ? { ...emptyResult(), notes: ['kernel: cannot read /proc/sys/kernel/tainted'] }
        : analyzeTaint(Number(t.trim()) || 0),
    ),
    pendingReboot(env),
  ]);
  return mergeResults(ssh, firewall, taint, reboot);
}

async function sshFailures(env: CheckEnv): Promise<GroupResult> {
  const counts: SshFailures = { total: 0, byIp: new Map() };
  const sources: string[] = [];
  const notes: string[] = [];
  for (const log of AUTH_LOGS) {
    let real: string;
    try {
      real = await confinePath(env.paths.root, env.allowedLogRoots, log);
    } catch (err) {
      if (err instanceof PathNotAllowedError) notes.push(`ssh: ${err.message}`);
      else if ((err as NodeJS.ErrnoException).code === 'EACCES')
        notes.push(`ssh: ${log} is not readable (needs root or the adm group)`);
      continue;
    }
    try {
      countSshFailures(await readTail(real, AUTH_TAIL_BYTES, env.signal), counts);
      sources.push(log);
    } catch (err) {
      notes.push(`ssh: cannot read ${log} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (sources.length === 0) {
    notes.push(
      'ssh: no auth log read (auth.log or secure); on journald-only hosts, forward sshd logs to a file',
    );
    return { ...emptyResult(), notes };
  }
  const r = analyzeSshFailures(counts, sources, env.thresholds);
  r.notes.push(...notes);
  return r;
}

/**
 * The last `bytes` of a file, starting at a line boundary. Opened by handle and verified to be
 * the regular file confined (src/host/verifiedFile.ts): a link or FIFO swapped in for the auth
 * log can neither lead the read outside the allowed paths nor hang the health check.
 */
async function readTail(path: string, bytes: number, signal: AbortSignal): Promise<string> {
  const { fh, stats } = await openVerified(path, { signal });
  try {
    const start = Math.max(0, stats.size - bytes);
    const buf = Buffer.alloc(stats.size - start);
    const { bytesRead } = await fileOp(() => fh.read(buf, 0, buf.length, start), signal);
    const text = buf.toString('utf8', 0, bytesRead);
    return start > 0 ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    await fh.close();
  }
}

async function pendingReboot(env: CheckEnv): Promise<GroupResult> {
  const root = (p: string) => under(env.paths.root, p);
  const marker =
    (await exists(root('/run/reboot-required'))) || (await exists(root('/var/run/reboot-required')));
  const pkgs = marker ? ((await readText(root('/run/reboot-required.pkgs'))) ?? '') : '';
  return analyzePendingReboot(marker, [
    ...new Set(
      pkgs
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ]);
}
