import type { CheckEnv } from '../audit/health/checkEnv.js';
import { type HealthStatus, scoreFindings } from '../audit/health/score.js';
import { CHECK_GROUPS, type CheckGroup, type GroupResult } from '../audit/health/types.js';
import { type Finding, worstFirst } from '../audit/findings.js';
import { under } from '../host/hostPaths.js';
import { readText } from '../host/readFiles.js';
import { checkClock } from './clock.js';
import { checkHardware } from './hardware.js';
import { checkNetwork } from './network.js';
import { checkResources } from './resources.js';
import { checkSecurity } from './security.js';
import { checkServices } from './services.js';

export interface CheckStatus {
  state: 'ran' | 'degraded' | 'skipped';
  notes: string[];
}

export interface HealthReport {
  hostId: string;
  status: HealthStatus;
  score: number;
  findings: Finding[];
  metrics: Record<string, number>;
  checks: Record<CheckGroup, CheckStatus>;
  checkedAt: string;
  durationMs: number;
}

export interface HealthOptions {
  groups?: CheckGroup[];
  cpuSampleMs: number;
  /** A group that takes longer is reported degraded; the rest still answer. */
  groupTimeoutMs?: number;
}

/** Runs the chosen check groups in parallel; one group failing or hanging never sinks the others. */
export async function runHealthCheck(callerEnv: CheckEnv, opts: HealthOptions): Promise<HealthReport> {
  const started = performance.now();
  // A fresh object per run: per-run caches (sharedFacts) are keyed by it.
  const env: CheckEnv = { ...callerEnv };
  const chosen = new Set(opts.groups ?? CHECK_GROUPS);
  const runners: Record<CheckGroup, () => Promise<GroupResult>> = {
    resources: () => checkResources(env, { cpuSampleMs: opts.cpuSampleMs }),
    services: () => checkServices(env),
    network: () => checkNetwork(env),
    hardware: () => checkHardware(env),
    security: () => checkSecurity(env),
    clock: () => checkClock(env),
  };
  const [hostId, ...results] = await Promise.all([
    hostIdentity(env),
    ...CHECK_GROUPS.map((g) =>
      chosen.has(g) ? guard(g, runners[g], opts.groupTimeoutMs ?? 20_000) : Promise.resolve(undefined),
    ),
  ]);
  const findings: Finding[] = [];
  const metrics: Record<string, number> = {};
  const checks = {} as Record<CheckGroup, CheckStatus>;
  CHECK_GROUPS.forEach((g, i) => {
    const r = results[i] as GroupResult | undefined;
    if (!r) {
      checks[g] = { state: 'skipped', notes: ['not requested'] };
      return;
    }
    findings.push(...r.findings);
    Object.assign(metrics, r.metrics);
    checks[g] = { state: r.notes.length > 0 ? 'degraded' : 'ran', notes: r.notes };
  });
  findings.sort(worstFirst);
  return {
    hostId,
    ...scoreFindings(findings),
    findings,
    metrics,
    checks,
    checkedAt: env.now.toISOString(),
    durationMs: Math.round(performance.now() - started),
  };
}

async function guard(
  group: CheckGroup,
  run: () => Promise<GroupResult>,
  timeoutMs: number,
): Promise<GroupResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<GroupResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ findings: [], metrics: {}, notes: [`${group}: gave up after ${timeoutMs} ms`] }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      run().catch((err: unknown) => ({
        findings: [],
        metrics: {},
        notes: [`${group}: failed: ${(err as Error).message}`],
      })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** machine-id survives renames; the host name is the fallback (containers often lack machine-id). */
export async function hostIdentity(env: Pick<CheckEnv, 'paths'>): Promise<string> {
  const id = (await readText(under(env.paths.root, '/etc/machine-id')))?.trim();
  if (id && /^[0-9a-f]{32}$/.test(id)) return id;
  const name = (await readText(under(env.paths.proc, '/sys/kernel/hostname')))?.trim();
  return name || 'unknown-host';
}
