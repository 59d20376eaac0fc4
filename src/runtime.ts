import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { DrainingStdioTransport } from './stdioTransport.js';
import { type App, type AppDeps, createApp } from './app.js';
import { createFleet } from './fleet/fleet.js';
import { rateLimit, unauthenticatedRateLimit } from './http/rateLimit.js';
import type { Config } from './config.js';
import { Lifecycle } from './lifecycle.js';
import { createOutbound } from './net/outbound.js';
import { createMcpServer } from './mcp/createMcpServer.js';
import type { Logger } from './observability/logger.js';
import type { SessionStore } from './session/sessionStore.js';
import { createAuthenticator } from './auth/authenticator.js';
import { createBruteForceGuard } from './auth/bruteForceGuard.js';
import { LOCAL } from './auth/principal.js';
import { gateTransport } from './mcp/authorizationGate.js';
import { gateOnConnect } from './mcp/modernHttp.js';
import { PROMPT_SCOPES } from './mcp/prompts.js';
import { type AuditLog, createAuditLog } from './observability/auditLog.js';
import { toolScopes } from './tools/index.js';
import { MemorySessionBus } from './session/sessionBus.js';
import { createExecutor } from './tasks/executor.js';
import { TaskService } from './tasks/taskService.js';
import { TASK_TOOLS } from './tasks/taskSupport.js';
import { startFleetAgents } from './hosts/fleetAgents.js';
import { VERSION } from './mcp/createMcpServer.js';

export interface RunningHttp {
  app: App;
  http: Server;
  lifecycle: Lifecycle;
  url: string;
  /** Drains and stops; resolves when everything is closed. */
  shutdown(reason: string): Promise<void>;
}

export async function startHttp(
  config: Config,
  logger: Logger,
  opts: {
    store?: SessionStore;
    audit?: AuditLog;
    tools?: AppDeps['tools'];
    extension?: AppDeps['extension'];
  } = {},
): Promise<RunningHttp> {
  warnIfAuthDisabled(config, logger);
  const lifecycle = new Lifecycle();
  const fleet = await createFleet(config, logger);
  const baselines = fleet.baselines;
  const outbound = createOutbound(config);
  // Registered agents (Redis) are attached before any McpServer is built.
  const agents = await startFleetAgents(config, fleet, outbound.resilience, logger, VERSION);
  const app = createApp({
    config,
    logger,
    lifecycle,
    baselines,
    outbound,
    store: opts.store ?? fleet.store,
    bus: fleet.bus,
    events: fleet.events,
    taskStore: fleet.tasks,
    dependenciesReady: fleet.ready,
    registerMetrics: fleet.registerMetrics,
    authenticate: createAuthenticator(config.auth, outbound.resilience),
    bruteForce: createBruteForceGuard({
      limit: config.AUTH_FAILURE_LIMIT,
      windowSeconds: config.AUTH_FAILURE_WINDOW_SECONDS,
      redis: fleet.redis,
      prefix: config.REDIS_PREFIX,
    }),
    audit: opts.audit ?? createAuditLog(config.AUDIT_LOG_FILE, 'stdout'),
    ...(opts.tools ? { tools: opts.tools } : {}),
    ...(opts.extension ? { extension: opts.extension } : {}),
    rateLimiter: rateLimit({
      perMinute: config.RATE_LIMIT_PER_MINUTE,
      burstPerSecond: config.RATE_LIMIT_BURST,
      redis: fleet.redis,
      prefix: config.REDIS_PREFIX,
    }),
    unauthenticatedLimiter: unauthenticatedRateLimit({
      perMinute: config.RATE_LIMIT_PER_MINUTE,
      burstPerSecond: config.RATE_LIMIT_BURST,
      prefix: config.REDIS_PREFIX,
    }),
  });
  logger.info({ mode: fleet.mode, auth: config.auth.mode }, 'sessions, baselines and authentication');
  const http = app.express.listen(config.PORT, config.HOST);
  await new Promise<void>((resolve, reject) => {
    http.once('listening', resolve);
    http.once('error', reject);
  });
  // Slow-loris bounds on what the client sends (headers, then the whole request with its body);
  // neither limits a response, so SSE streams stay open as long as they are used.
  http.headersTimeout = 30_000;
  http.requestTimeout = 60_000;
  app.sessions.startSweeper();
  await app.sessions.listenForCancels();
  await app.events.start();
  await app.tasks.start();
  lifecycle.markReady();
  const addr = http.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}/mcp`;
  logger.info({ url, host: addr.address, port: addr.port }, 'listening');
  // AGENT_NAME: serving instances learn of this agent only once it answers.
  await agents.startHeartbeat();

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    stopping ??= (async () => {
      logger.info({ reason, inFlight: lifecycle.active }, 'draining');
      // A registered agent leaves Redis first: serving instances stop routing to it at once.
      await agents.stopHeartbeat();
      lifecycle.drain();
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      const idle = await lifecycle.idle(config.SHUTDOWN_GRACE_SECONDS * 1000);
      if (!idle) logger.warn({ inFlight: lifecycle.active }, 'grace period over; closing in-flight requests');
      await app.sessions.closeAll();
      // Tasks still running here read failed (the client may start them again elsewhere).
      await app.tasks.close();
      await app.events.close();
      app.liveness.close();
      await baselines.close();
      outbound.close();
      agents.close();
      await fleet.close();
      http.closeAllConnections();
      await closed;
      logger.info('stopped');
    })();
    return stopping;
  };
  return { app, http, lifecycle, url, shutdown };
}

/** Said at every start: an explicit choice to run an audit server open to its network. */
function warnIfAuthDisabled(config: Config, logger: Logger): void {
  if (config.auth.mode === 'disabled')
    logger.warn(
      { host: config.HOST },
      'AUTH_DISABLED=true: every client that reaches this server may call every tool; use it only on a private network you trust',
    );
}

export async function runStdio(config: Config, logger: Logger): Promise<(reason: string) => Promise<void>> {
  const fleet = await createFleet(config, logger);
  const baselines = fleet.baselines;
  const outbound = createOutbound(config);
  const agents = await startFleetAgents(config, fleet, outbound.resilience, logger, VERSION);
  const audit = createAuditLog(config.AUDIT_LOG_FILE, 'stderr');
  const wire = new DrainingStdioTransport(config.SHUTDOWN_GRACE_SECONDS * 1000);
  const tasks = new TaskService({
    store: fleet.tasks,
    bus: new MemorySessionBus(),
    execute: createExecutor(
      () =>
        createMcpServer({
          config: { ...config, TOOL_DEADLINE_SECONDS: config.TASK_DEADLINE_SECONDS },
          logger,
          baselines,
          outbound,
        }),
      logger,
    ),
    support: TASK_TOOLS,
    config,
    logger,
    audit,
  });
  await tasks.start();
  // One connection, either era: the SDK pins it to the era of the client's opening message.
  const handle = serveStdio(
    ({ era }) =>
      gateOnConnect(createMcpServer({ config, logger, baselines, outbound, tasksFor: era }), (transport) =>
        // The local user has every scope; the gate still writes the audit trail.
        gateTransport(transport, {
          principal: LOCAL,
          toolScopes,
          promptScopes: PROMPT_SCOPES,
          audit,
          modern: era === 'modern',
          tasks: { service: tasks },
        }),
      ),
    {
      // Requests already read are answered before the server exits on stdin EOF (issue 18).
      transport: wire,
      onerror: (err) => logger.debug({ err: err.message }, 'stdio message rejected or failed'),
    },
  );
  logger.info('serving on stdio');
  let stopping: Promise<void> | undefined;
  return (reason) =>
    (stopping ??= (async () => {
      logger.info({ reason }, 'stopping');
      await wire.drain();
      await handle.close();
      await tasks.close();
      await baselines.close();
      outbound.close();
      agents.close();
      await fleet.close();
    })());
}
