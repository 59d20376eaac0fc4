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
