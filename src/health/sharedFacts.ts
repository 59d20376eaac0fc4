import type { CheckEnv } from '../audit/health/checkEnv.js';
import { describeSystem, type SystemDescription } from '../audit/describeSystem.js';
import { type ProcessRow, readProcessTable } from '../host/processes.js';
import { gatherSystemFacts } from '../host/systemFacts.js';

/**
 * Reads several groups need, done once per health-check run: the process table (resources counts
 * zombies, services looks for daemons) and the system description (services and security). They
 * are the costliest reads of the check. Keyed by the env object, which runHealthCheck creates per
 * run and hands to every group; collected with it.
 */
interface Shared {
  processes?: Promise<ProcessRow[]>;
  description?: Promise<SystemDescription>;
}
const perRun = new WeakMap<CheckEnv, Shared>();

function shared(env: CheckEnv): Shared {
  let s = perRun.get(env);
  if (!s) perRun.set(env, (s = {}));
  return s;
}

export function processTable(env: CheckEnv): Promise<ProcessRow[]> {
  const s = shared(env);
  return (s.processes ??= readProcessTable(env.paths.proc));
}

export function systemDescription(env: CheckEnv): Promise<SystemDescription> {
  const s = shared(env);
  return (s.description ??= gatherSystemFacts(env.paths, processTable(env)).then((f) =>
    describeSystem(f, env.now),
  ));
}
