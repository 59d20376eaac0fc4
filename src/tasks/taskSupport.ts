import type { TaskSupport } from './taskService.js';

/**
 * The tools whose calls may outlast a client's patience (big logs, whole trees, many targets,
 * slow databases, a whole fleet of hosts): they run as tasks when the client supports them, synchronously otherwise.
 * The short tools (detect_system, check_dns, check_clock, compare_baselines, delete_baselines)
 * always answer at once.
 */
export const TASK_TOOLS: ReadonlyMap<string, TaskSupport> = new Map(
  [
    'analyze_bots',
    'analyze_slow_queries',
    'scan_secrets',
    'check_permissions',
    'audit_compose',
    'check_tls',
    'check_http',
    'run_health_check',
    'check_database',
    'fleet_health',
  ].map((name) => [name, { mode: 'optional' }]),
);
