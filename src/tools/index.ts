import { analyzeBotsTool } from './analyzeBots.js';
import { auditComposeTool } from './auditCompose.js';
import { analyzeSlowQueriesTool } from './analyzeSlowQueries.js';
import { checkClockTool } from './checkClock.js';
import { checkDatabaseTool } from './checkDatabase.js';
import { checkDnsTool } from './checkDns.js';
import { checkHttpTool } from './checkHttp.js';
import { checkPermissionsTool } from './checkPermissions.js';
import { checkTlsTool } from './checkTls.js';
import { compareBaselinesTool } from './compareBaselines.js';
import { deleteBaselinesTool } from './deleteBaselines.js';
import { detectSystemTool } from './detectSystem.js';
import { fleetHealthTool } from './fleetHealth.js';
import { listHostsTool } from './listHosts.js';
import { runHealthCheckTool } from './runHealthCheck.js';
import { scanSecretsTool } from './scanSecrets.js';
import type { Scope } from '../auth/scopes.js';
import type { Toolset } from '../config.js';
import type { ToolDefinition } from './types.js';

/** Every tool the server offers. One module per tool; add new ones here. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry keeps its own schema types; the registry only needs the shape.
export const tools: ToolDefinition<any, any>[] = [
  detectSystemTool,
  runHealthCheckTool,
  compareBaselinesTool,
  analyzeBotsTool,
  checkTlsTool,
  checkDnsTool,
  checkClockTool,
  checkHttpTool,
  auditComposeTool,
  scanSecretsTool,
  checkPermissionsTool,
  checkDatabaseTool,
  analyzeSlowQueriesTool,
  deleteBaselinesTool,
  listHostsTool,
  fleetHealthTool,
];

/** The scope each tool needs, for the authorization gate. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
export function scopesOf(list: ToolDefinition<any, any>[]): ReadonlyMap<string, Scope> {
  return new Map(list.map((t) => [t.name, t.scope]));
}

export const toolScopes = scopesOf(tools);

/** The TOOLSETS group of each tool: an operator offers fewer tools by naming fewer groups. */
export const TOOLSET_OF: Readonly<Record<string, Toolset>> = {
  detect_system: 'health',
  run_health_check: 'health',
  compare_baselines: 'health',
  delete_baselines: 'health',
  analyze_bots: 'logs',
  check_tls: 'network',
  check_dns: 'network',
  check_clock: 'network',
  check_http: 'network',
  audit_compose: 'config',
  scan_secrets: 'config',
  check_permissions: 'config',
  check_database: 'database',
  analyze_slow_queries: 'database',
  list_hosts: 'health',
  fleet_health: 'health',
};

/**
 * The tools of the given toolsets (every tool when unset). A tool without a group (a test's
 * own) is always offered. Scopes still decide who sees and calls what is offered.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
export function selectTools<T extends ToolDefinition<any, any>>(
  list: T[],
  toolsets?: readonly Toolset[],
): T[] {
  if (!toolsets) return list;
  return list.filter((t) => {
    const group = TOOLSET_OF[t.name];
    return group === undefined || toolsets.includes(group);
  });
}
