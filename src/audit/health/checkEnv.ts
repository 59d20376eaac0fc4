import type { HostPaths } from '../../host/hostPaths.js';
import type { runCommand } from '../../host/runCommand.js';
import type { Thresholds } from './thresholds.js';

/** What a check group may use. `run` is injectable so tests can point it at fake binaries. */
export interface CheckEnv {
  paths: HostPaths;
  thresholds: Thresholds;
  run: typeof runCommand;
  signal: AbortSignal;
  now: Date;
  /** Roots that log files must lie under (AUDIT_ALLOWED_PATHS); auth logs outside are not read. */
  allowedLogRoots: string[];
}
