import { join } from 'node:path';

/**
 * Where the audited host's trees are mounted, in node_exporter's convention
 * (--path.procfs, --path.sysfs, --path.rootfs): a container audits its host through
 * read-only mounts, and tests point these at fixture trees.
 */
export interface HostPaths {
  proc: string;
  sys: string;
  root: string;
}

/** Joins a host-absolute path like `/etc/os-release` under one of the roots. */
export function under(root: string, hostPath: string): string {
  return join(root, hostPath);
}
