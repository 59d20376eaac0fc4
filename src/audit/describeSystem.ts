import type { SystemFacts } from '../host/systemFacts.js';
import type { OsRelease } from './procParsers.js';
import {
  CONTROL_PANELS,
  type Component,
  classifyVirtualization,
  DATABASES,
  MAIL_SERVERS,
  FIREWALLS,
  matchSignatures,
  type Virtualization,
  WEB_SERVERS,
} from './systemDetection.js';

export interface SystemDescription {
  hostname: string | null;
  os: OsRelease | null;
  kernel: string | null;
  cpu: { cores: number | null; model: string | null };
  memoryTotalBytes: number | null;
  uptimeSeconds: number | null;
  bootTime: string | null;
  virtualization: Virtualization;
  webServers: Component[];
  databases: Component[];
  mailServers: Component[];
  controlPanel: { name: 'cpanel' | 'plesk' | 'interworx' | 'none'; evidence: string[] };
  firewalls: Component[];
  unreadable: string[];
  detectedAt: string;
}

/** Turns gathered facts into detect_system's answer. Pure: `now` is passed in. */
export function describeSystem(f: SystemFacts, now: Date): SystemDescription {
  const panels = matchSignatures(CONTROL_PANELS, f.host);
  const panel = panels[0];
  return {
    hostname: f.hostname,
    os: f.osRelease,
    kernel: f.kernel,
    cpu: { cores: f.cpu?.logicalCores || null, model: f.cpu?.model ?? null },
    memoryTotalBytes: f.memoryTotalBytes,
    uptimeSeconds: f.uptimeSeconds === null ? null : Math.floor(f.uptimeSeconds),
    bootTime:
      f.uptimeSeconds === null ? null : new Date(now.getTime() - f.uptimeSeconds * 1000).toISOString(),
    virtualization: classifyVirtualization(f.virtualization),
    webServers: matchSignatures(WEB_SERVERS, f.host),
    databases: matchSignatures(DATABASES, f.host),
    mailServers: matchSignatures(MAIL_SERVERS, f.host),
    controlPanel: panel
      ? { name: panel.name as 'cpanel' | 'plesk' | 'interworx', evidence: panel.evidence }
      : { name: 'none', evidence: [] },
    firewalls: matchSignatures(FIREWALLS, f.host),
    unreadable: f.unreadable,
    detectedAt: now.toISOString(),
  };
}
