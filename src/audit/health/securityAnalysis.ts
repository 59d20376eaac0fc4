/** Pure analysis of the "security" check group. */
import { isIP } from 'node:net';
import type { Component } from '../systemDetection.js';
import { grade, type Thresholds } from './thresholds.js';
import { emptyResult, type GroupResult } from './types.js';

export interface SshFailures {
  total: number;
  byIp: Map<string, number>;
}

// sshd's wording across versions: "Failed password for [invalid user] X from IP port N ssh2",
// "Invalid user X from IP port N", "Connection closed by authenticating user X IP port N [preauth]".
const FAILED =
  /sshd\[\d+\]: (?:Failed (?:password|publickey|keyboard-interactive\/pam) for (?:invalid user )?.*? from|Invalid user .*? from) (\S+) port \d+/;

/** Counts failed SSH logins per source address in auth.log / secure text. */
export function countSshFailures(
  text: string,
  into: SshFailures = { total: 0, byIp: new Map() },
): SshFailures {
  for (const line of text.split('\n')) {
    const m = FAILED.exec(line);
    if (!m?.[1] || isIP(m[1]) === 0) continue;
    into.total++;
    into.byIp.set(m[1], (into.byIp.get(m[1]) ?? 0) + 1);
  }
  return into;
}

export function analyzeSshFailures(f: SshFailures, sources: string[], t: Thresholds): GroupResult {
  const r = emptyResult();
  r.metrics['ssh.failed_logins'] = f.total;
  r.metrics['ssh.failed_login_ips'] = f.byIp.size;
  const top = [...f.byIp].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 10);
  const severity = grade(f.total, t.failedSshLogins) ?? (f.total > 0 ? 'info' : undefined);
  if (severity) {
    r.findings.push({
      id: 'ssh.failed_logins',
      severity,
      title: `${f.total} failed SSH logins from ${f.byIp.size} addresses`,
      evidence: `top: ${top.map(([ip, n]) => `${ip} (${n})`).join(', ')}; from ${sources.join(', ')}`,
      recommendation:
        'Disable password logins (PasswordAuthentication no), allow only keys, and rate-limit or ban sources (fail2ban, CSF, or nftables meters).',
    });
  }
  return r;
}

export function analyzeFirewall(firewalls: Component[]): GroupResult {
  const r = emptyResult();
  const active = firewalls.filter((f) => f.running);
  r.metrics['firewall.active'] = active.length > 0 ? 1 : 0;
  if (active.length === 0) {
    r.findings.push({
      id: 'firewall.inactive',
      severity: 'high',
      title: 'No active firewall found',
      evidence:
        firewalls.length === 0
          ? 'no nftables/iptables kernel module loaded, no firewalld or lfd process'
          : `installed but not active: ${firewalls.map((f) => f.name).join(', ')}`,
      recommendation:
        'Load a default-deny ruleset for inbound traffic (nftables, firewalld or CSF) allowing only the services you publish.',
    });
  }
  return r;
}

// Documented in the kernel's tainted-kernels.rst; the letters are what `dmesg` prints.
const TAINT_BITS: Array<[number, string]> = [
  [0, 'proprietary module loaded'],
  [1, 'module force-loaded'],
  [4, 'machine check exception occurred'],
  [5, 'bad page referenced'],
  [7, 'kernel died recently (OOPS or BUG)'],
  [9, 'kernel issued a warning'],
  [12, 'out-of-tree module loaded'],
  [13, 'unsigned module loaded'],
  [14, 'soft lockup occurred'],
  [15, 'kernel live-patched'],
];
const SERIOUS_TAINT = new Set([4, 5, 7, 14]);

export function analyzeTaint(value: number): GroupResult {
  const r = emptyResult();
  r.metrics['kernel.tainted'] = value;
  if (value === 0) return r;
  const reasons = TAINT_BITS.filter(([bit]) => (value & (1 << bit)) !== 0);
  const serious = reasons.some(([bit]) => SERIOUS_TAINT.has(bit));
  r.findings.push({
    id: 'kernel.tainted',
    severity: serious ? 'medium' : 'info',
    title: serious ? 'The kernel recorded a serious error since boot' : 'The kernel is tainted',
    evidence: `tainted=${value}: ${reasons.map(([, why]) => why).join('; ') || 'other bits'}`,
    recommendation: serious
      ? 'Read the kernel log for the event (journalctl -k -b | grep -iE "oops|bug|mce|lockup") and plan a reboot after fixing the cause.'
      : 'Usually harmless (a vendor or out-of-tree module); note it for kernel bug reports.',
  });
  return r;
}

export function analyzePendingReboot(marker: boolean, packages: string[]): GroupResult {
  const r = emptyResult();
  r.metrics['reboot.required'] = marker ? 1 : 0;
  if (marker) {
    r.findings.push({
      id: 'reboot.required',
      severity: 'medium',
      title: 'A reboot is pending to finish updates',
      evidence:
        packages.length > 0
          ? `packages: ${packages.slice(0, 10).join(', ')}`
          : '/run/reboot-required present',
      recommendation: 'Schedule a reboot so the updated kernel and libraries are actually in use.',
    });
  }
  return r;
}
