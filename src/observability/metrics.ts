import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per server instance, so tests can run several servers in one process. */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'status'>;
  httpDuration: Histogram<'method'>;
  sessionsActive: Gauge;
  toolCalls: Counter<'tool' | 'outcome'>;
  toolDuration: Histogram<'tool'>;
  sessionStoreOps: Counter<'op' | 'outcome'>;
  authFailures: Counter<'reason'>;
  toolCallsDenied: Counter<'tool' | 'reason'>;
  tasksStarted: Counter<'tool'>;
  tasksFinished: Counter<'tool' | 'status'>;
  tasksRunning: Gauge;
  taskDuration: Histogram<'tool' | 'status'>;
  tasksOverdue: Gauge;
  /** Sets what mcp_ready reports at scrape time (1 when /ready would answer 200). */
  onReadiness(read: () => number): void;
}

export function createMetrics(sessionsActive: () => number): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let readiness = () => 0;
  new Gauge({
    name: 'mcp_ready',
    help: '1 when /ready answers 200; 0 while starting, draining or Redis is unreachable',
    registers: [registry],
    collect() {
      this.set(readiness());
    },
  });
  return {
    registry,
    onReadiness(read) {
      readiness = read;
    },
    httpRequests: new Counter({
      name: 'mcp_http_requests_total',
      help: 'HTTP requests answered, by method and status code',
      labelNames: ['method', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'mcp_http_request_duration_seconds',
      help: 'Time from request to response end (SSE streams: until the stream closes)',
      labelNames: ['method'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    sessionsActive: new Gauge({
      name: 'mcp_sessions_active',
      help: 'MCP sessions held by this instance',
      registers: [registry],
      collect() {
        this.set(sessionsActive());
      },
    }),
    toolCalls: new Counter({
      name: 'mcp_tool_calls_total',
      help: 'Tool calls, by tool and outcome: ok, refused (a ToolError the caller can act on), error (server failure)',
      labelNames: ['tool', 'outcome'],
      registers: [registry],
    }),
    sessionStoreOps: new Counter({
      name: 'session_store_operations_total',
      help: 'Session store operations by op (create, touch, update, delete) and outcome (ok, error)',
      labelNames: ['op', 'outcome'],
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'auth_failures_total',
      help: 'Refused credentials on /mcp by reason (missing_token, expired, wrong_audience, unknown_api_key ...)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    toolCallsDenied: new Counter({
      name: 'tool_calls_denied_total',
      help: 'Tool calls refused before running, by tool and reason (insufficient_scope)',
      labelNames: ['tool', 'reason'],
      registers: [registry],
    }),
    tasksStarted: new Counter({
      name: 'mcp_tasks_started_total',
      help: 'Tool calls accepted as tasks on this instance, by tool',
      labelNames: ['tool'],
      registers: [registry],
    }),
    tasksFinished: new Counter({
      name: 'mcp_tasks_finished_total',
      help: 'Tasks run here that settled, by tool and status (completed, failed, cancelled)',
      labelNames: ['tool', 'status'],
      registers: [registry],
    }),
    tasksRunning: new Gauge({
      name: 'mcp_tasks_running',
      help: 'Tasks running on this instance',
      registers: [registry],
    }),
    taskDuration: new Histogram({
      name: 'mcp_task_duration_seconds',
      help: 'Time from a task start to its settling, by tool and status',
      labelNames: ['tool', 'status'],
      buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers: [registry],
    }),
    tasksOverdue: new Gauge({
      name: 'mcp_tasks_overdue',
      help: 'Tasks running here for longer than TASK_DEADLINE_SECONDS (they should have stopped)',
      registers: [registry],
    }),
    toolDuration: new Histogram({
      name: 'mcp_tool_call_duration_seconds',
      help: 'Tool handler duration',
      labelNames: ['tool'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
  };
}
