/** Pure analysis of the "services" check group. */
import type { Component } from '../systemDetection.js';
import type { SystemDescription } from '../describeSystem.js';
import { grade, type Thresholds } from './thresholds.js';
import { emptyResult, type GroupResult } from './types.js';

const RESTART: Record<string, string> = {
  apache: 'systemctl status apache2 httpd; journalctl -u apache2 -u httpd -e',
  nginx: 'systemctl status nginx; nginx -t; journalctl -u nginx -e',
  litespeed: 'systemctl status lsws; /usr/local/lsws/bin/lswsctrl status',
  caddy: 'systemctl status caddy; journalctl -u caddy -e',
  mariadb: 'systemctl status mariadb; journalctl -u mariadb -e',
  mysql: 'systemctl status mysql mysqld; journalctl -u mysql -u mysqld -e',
  postgres: 'systemctl status postgresql; journalctl -u postgresql -e',
  redis: 'systemctl status redis-server redis; journalctl -u redis-server -e',
  postfix: 'systemctl status postfix; postfix check',
  exim: 'systemctl status exim exim4; exim -bP',
  firewalld: 'systemctl status firewalld',
  csf: 'csf -l; systemctl status lfd',
};

/** Installed but not running is the finding; firewalls are judged by the security group. */
export function analyzeServices(d: SystemDescription): GroupResult {
  const r = emptyResult();
  const groups: Array<[string, Component[]]> = [
    ['web', d.webServers],
    ['database', d.databases],
    ['mail', d.mailServers],
  ];
  for (const [kind, components] of groups) {
    for (const c of components) {
      r.metrics[`service.${c.name}.running`] = c.running ? 1 : 0;
      if (c.installed && !c.running) {
        r.findings.push({
          id: `service.down:${c.name}`,
          severity: kind === 'mail' ? 'medium' : 'high',
          title: `${c.name} is installed but not running`,
          evidence: c.evidence.join('; '),
          recommendation: `Check why it stopped: ${RESTART[c.name] ?? `systemctl status ${c.name}`}. If it is no longer used, uninstall it.`,
        });
      }
    }
  }
  return r;
}

export function analyzeMailQueue(server: string, count: number, capped: boolean, t: Thresholds): GroupResult {
  const r = emptyResult();
  r.metrics['mail.queue'] = count;
  const severity = grade(count, t.mailQueue);
  if (severity) {
    r.findings.push({
      id: 'mail.queue',
      severity,
      title: `${capped ? 'At least ' : ''}${count} messages in the ${server} queue`,
      evidence: `${count}${capped ? '+' : ''} queue files`,
      recommendation:
        server === 'postfix'
          ? 'See why mail is stuck (mailq | tail; postqueue -p), check for a spamming account or an unreachable relay.'
          : 'See why mail is stuck (exim -bpc; exim -bp | head), check for a spamming account or an unreachable relay.',
    });
  }
  return r;
}

export function analyzeFailedUnits(units: string[]): GroupResult {
  const r = emptyResult();
  r.metrics['systemd.failed_units'] = units.length;
  if (units.length > 0) {
    r.findings.push({
      id: 'systemd.failed_units',
      severity: 'medium',
      title: `${units.length} failed systemd unit${units.length === 1 ? '' : 's'}`,
      evidence: units.slice(0, 20).join(', ') + (units.length > 20 ? `, and ${units.length - 20} more` : ''),
      recommendation:
        'Inspect each (systemctl status <unit>; journalctl -u <unit> -e), fix or disable it, then systemctl reset-failed.',
    });
  }
  return r;
}

/** `systemctl list-units --state=failed --no-legend --plain` lines: "unit load active sub description". */
export function parseFailedUnits(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim().replace(/^●\s*/, '').split(/\s+/)[0] ?? '')
    .filter((u) => u.length > 0);
}
