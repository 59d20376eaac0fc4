/**
 * Fixture host trees for the fleet tests (issue 19): each agent audits its own /proc, /sys and
 * root, with a machine-id of its own so each host has its own hostId.
 */
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES } from './servers.js';

export interface HostTree {
  HOST_PROC: string;
  HOST_SYS: string;
  HOST_ROOT: string;
}

/** A copy of a fixture root (or of the healthy one's etc/ only) with the given machine-id. */
export function rootWithId(from: string | undefined, id: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'host-root-'));
  if (from) cpSync(from, dir, { recursive: true });
  else cpSync(join(FIXTURES, 'health', 'healthy', 'root', 'etc'), join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'etc', 'machine-id'), `${id}\n`);
  return dir;
}

/** One of the health fixtures (healthy, stressed) as a host with its own machine-id. */
export function healthTree(kind: 'healthy' | 'stressed', id: string): HostTree {
  return {
    HOST_PROC: join(FIXTURES, 'health', kind, 'proc'),
    HOST_SYS: join(FIXTURES, 'health', kind, 'sys'),
    HOST_ROOT: rootWithId(join(FIXTURES, 'health', kind, 'root'), id),
  };
}

/** Three hosts: healthy, stressed (full disk, load), and node_exporter's degraded RAID. */
export function threeHostTrees(): { healthy: HostTree; stressed: HostTree; raid: HostTree } {
  return {
    healthy: healthTree('healthy', '11111111111111111111111111111111'),
    stressed: healthTree('stressed', '22222222222222222222222222222222'),
    // node_exporter's real fixture: an md array with a failed member.
    raid: {
      HOST_PROC: join(FIXTURES, 'node_exporter', 'proc'),
      HOST_SYS: join(FIXTURES, 'node_exporter', 'sys'),
      HOST_ROOT: rootWithId(undefined, '33333333333333333333333333333333'),
    },
  };
}
