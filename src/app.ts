import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { hostHeaderValidation } from '@modelcontextprotocol/express';
import cors from 'cors';
import { Gauge } from 'prom-client';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Authenticator } from './auth/authenticator.js';
import { bearerAuth } from './auth/bearerAuth.js';
import type { Principal } from './auth/principal.js';
import type { BruteForceGuard } from './auth/bruteForceGuard.js';
import { PRM_PATH, protectedResourceMetadata, resourceUrl } from './auth/protectedResource.js';
import { isLoopbackHost } from './config.js';
import { CallSlots, gateTransport } from './mcp/authorizationGate.js';
import { PROMPT_SCOPES } from './mcp/prompts.js';
import type { AuditLog } from './observability/auditLog.js';
import { scopesOf, tools as allTools } from './tools/index.js';
import type { ToolDefinition } from './tools/types.js';
import type { BaselineStore } from './baselines/types.js';
import type { Outbound } from './net/outbound.js';
import type { Config } from './config.js';
import { RpcCode, sendRpcError } from './http/jsonRpcError.js';
import { originValidation } from './http/originValidation.js';
import type { Lifecycle } from './lifecycle.js';
import { createMcpServer, type ServerExtension } from './mcp/createMcpServer.js';
import { HttpSessions, SESSION_ID_RE } from './mcp/httpSessions.js';
import { createModernHttp } from './mcp/modernHttp.js';
import { FleetEventBus } from './session/eventBus.js';
import { isLegacyRequest } from '@modelcontextprotocol/server';
import { claimsModern } from './http/modernClaim.js';
import type { Logger } from './observability/logger.js';
import { LivenessMonitor } from './observability/liveness.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { MemorySessionStore } from './session/memorySessionStore.js';
import { MemorySessionBus, type SessionBus } from './session/sessionBus.js';
import { MemorySessionEvents, type SessionEvents } from './session/sessionEvents.js';
import type { SessionStore } from './session/sessionStore.js';
import { createExecutor } from './tasks/executor.js';
import { TaskService, type TaskSupport } from './tasks/taskService.js';
import { MemoryTaskStore, type TaskStore } from './tasks/taskStore.js';
import { TASK_TOOLS } from './tasks/taskSupport.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  lifecycle: Lifecycle;
  baselines: BaselineStore;
  outbound: Outbound;
  store?: SessionStore;
  bus?: SessionBus;
  events?: SessionEvents;
  /**
   * Redis reachable in fleet mode. While it is false the instance is degraded, not unready: it
   * still serves every 2026-07-28 request and the sessions it holds, so a balancer must keep
   * sending it traffic (a Redis outage would otherwise take every instance out at once).
   */
  dependenciesReady?: () => boolean;
  /** Per-client rate limit on /mcp (undefined: none); runs after the body is parsed (batches count per call). */
  rateLimiter?: RequestHandler;
  /** Per-IP limit on requests without credentials where authentication is required. */
  unauthenticatedLimiter?: RequestHandler;
  /** Adds fleet metrics (redis_up) to /metrics. */
  registerMetrics?: (registry: Metrics['registry']) => void;
  /** Verifies bearer credentials (unused unless authentication is configured). */
  authenticate: Authenticator;
  /** Blocks IPs after repeated authentication failures. */
  bruteForce: BruteForceGuard;
  /** One record per tool call. */
  audit: AuditLog;
  /** The tools offered (default: all of tools/index.ts). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see tools/index.ts
  tools?: ToolDefinition<any, any>[];
  /** Test-only surface added to every server (the conformance fixtures). */
  extension?: ServerExtension;
  /** Task records (Redis in fleet mode; memory by default). */
  taskStore?: TaskStore;
}

export interface App {
  express: Express;
  sessions: HttpSessions;
  metrics: Metrics;
  /** Change events for 2026-07-28 listen streams; start() before serving, close() at shutdown. */
  events: FleetEventBus;
  /** Behind /health; close() at shutdown. */
  liveness: LivenessMonitor;
  /** Long calls as tasks; start() before serving, close() at shutdown (fails what runs here). */
  tasks: TaskService;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const QUIET_PATHS = new Set(['/health', '/ready', '/metrics']);

/** The HTTP surface: /mcp (streamable HTTP), /health, /ready, /metrics. */
export function createApp(deps: AppDeps): App {
  const { config, logger, lifecycle, baselines, outbound } = deps;
  const offered = deps.tools ?? allTools;
  const offeredScopes = scopesOf(offered);
  const store = deps.store ?? new MemorySessionStore(config.SESSION_TTL_SECONDS * 1000);
  // The sessions gauge reads `sessions` lazily, at scrape time, after it exists.
  const metrics = createMetrics(() => sessions.size);
  outbound.registerMetrics(metrics.registry);
  deps.registerMetrics?.(metrics.registry);
  new Gauge({
    name: 'mcp_get_streams',
    help: 'Open GET (server-to-client) streams on this instance; capped by MAX_STREAMS',
    registers: [metrics.registry],
    collect() {
      this.set(sessions.streamCount);
    },
  });
  const bus = deps.bus ?? new MemorySessionBus();
  const events = new FleetEventBus(bus, logger);
  const serverDeps = {
    config,
    logger,
    metrics,
    baselines,
    outbound,
    events,
    tools: offered,
    ...(deps.extension ? { extension: deps.extension } : {}),
  };
  const gateOptions = {
    callSlots: new CallSlots(config.MAX_CONCURRENT_CALLS_PER_PRINCIPAL),
    toolScopes: offeredScopes,
    promptScopes: PROMPT_SCOPES,
    audit: deps.audit,
    denied: metrics.toolCallsDenied,
  };
  // A task's call runs on a server of its own, with the task deadline instead of the tool one.
  const execute = createExecutor(
    ({ sessionId }) =>
      createMcpServer({
        ...serverDeps,
        config: { ...config, TOOL_DEADLINE_SECONDS: config.TASK_DEADLINE_SECONDS },
        ...(sessionId
          ? { session: { current: { sessionId, notify: (n) => sessions.notify(sessionId, n) } } }
          : {}),
      }),
    logger,
  );
  const offeredNames = new Set(offered.map((t) => t.name));
  const tasks = new TaskService({
    store: deps.taskStore ?? new MemoryTaskStore(),
    bus,
    execute,
    support: new Map<string, TaskSupport>([
      ...[...TASK_TOOLS].filter(([name]) => offeredNames.has(name)),
      ...Object.entries(deps.extension?.taskSupport ?? {}),
    ]),
    config,
    logger,
    metrics,
    audit: deps.audit,
  });
  const sessions = new HttpSessions({
    store,
    bus,
    events: deps.events ?? new MemorySessionEvents(),
    onStoreOp: (op, outcome) => metrics.sessionStoreOps.inc({ op, outcome }),
    lifecycle,
    logger,
    ttlSeconds: config.SESSION_TTL_SECONDS,
    maxStreamsPerPrincipal: config.MAX_STREAMS_PER_PRINCIPAL,
    maxStreams: config.MAX_STREAMS,
    createServer: (slot) => createMcpServer({ ...serverDeps, session: slot, tasksFor: 'legacy' }),
    gate: (transport, principal, sessionId, cancels, record) =>
      gateTransport(transport, {
        ...gateOptions,
        principal,
        sessionId,
        cancels,
        client: isAnonymous(principal) ? `s:${sessionId}` : principal.id,
        tasks: {
          service: tasks,
          ...(record
            ? {
                session: {
                  capabilities: record.clientCapabilities ?? {},
                  ...(record.clientName !== undefined ? { clientName: record.clientName } : {}),
                  ...(record.clientVersion !== undefined ? { clientVersion: record.clientVersion } : {}),
                },
              }
            : {}),
        },
      }),
  });
  const modern = createModernHttp({
    createServer: () => createMcpServer({ ...serverDeps, tasksFor: 'modern' }),
    gate: (transport, principal, ip) =>
      gateTransport(transport, {
        ...gateOptions,
        principal,
        modern: true,
        client: isAnonymous(principal) ? `ip:${ip ?? 'unknown'}` : principal.id,
        tasks: { service: tasks },
      }),
    bus: events,
    maxBodyBytes: config.MAX_BODY_BYTES,
    logger,
  });

  const app = express();
  app.disable('x-powered-by');
  // Behind a load balancer every client has its IP: the brute-force guard and the per-IP rate
  // limit need the client's own, from X-Forwarded-For, trusted only as far as TRUST_PROXY says.
  app.set('trust proxy', trustProxy(config.TRUST_PROXY));
  app.use(accessLog(logger, metrics));

  // Liveness: fails when the process is alive but cannot serve (thread pool or event loop stuck,
  // every file-operation slot held by a hung mount), so an orchestrator restarts it.
  const liveness = new LivenessMonitor();
  app.get('/health', async (_req, res) => {
    const report = await liveness.check();
    if (report.ok) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'stuck', reasons: report.reasons });
  });
  const readiness = () => (lifecycle.draining ? 'draining' : !lifecycle.ready ? 'starting' : 'ready');
  const degraded = () => ((deps.dependenciesReady?.() ?? true) ? [] : ['redis unreachable']);
  metrics.onReadiness(() => (readiness() === 'ready' ? 1 : 0));
  app.get('/ready', (_req, res) => {
    const state = readiness();
    const reasons = degraded();
    res
      .status(state === 'ready' ? 200 : 503)
      .json({ status: state, ...(reasons.length > 0 ? { degraded: reasons } : {}) });
  });

  // Everything that reveals host facts is protected against DNS rebinding.
  const guard = [hostHeaderValidation(config.allowedHosts), originValidation(config.allowedOrigins)];
  // Scrapers address instances by IP (DNS service discovery, Kubernetes pods), and an IP Host
  // cannot be a rebinding attack (that always carries the attacker's name); names still must be
  // in ALLOWED_HOSTS.
  const scrapeGuard: RequestHandler = (req, res, next) =>
    isIP(hostnameOf(req.headers.host)) !== 0 ? next() : guard[0]!(req, res, next);
  app.get('/metrics', scrapeGuard, guard[1]!, async (_req, res) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  // RFC 9728, at the root and path-suffixed (/mcp) locations the MCP spec has clients try.
  const authorizationServers =
    config.AUTH_AUTHORIZATION_SERVERS ?? (config.AUTH_ISSUER && config.auth.jwt ? [config.AUTH_ISSUER] : []);
  app.get([PRM_PATH, `${PRM_PATH}/mcp`], guard[0]!, cors(), (req, res) => {
    res.json(protectedResourceMetadata(resourceUrl(req, config.AUTH_RESOURCE_URL), authorizationServers));
  });

  app.all(
    '/mcp',
    ...guard,
    browserCors(config.allowedOrigins),
    ...(deps.unauthenticatedLimiter && config.auth.mode === 'required' ? [deps.unauthenticatedLimiter] : []),
    bearerAuth({
      settings: config.auth,
      authenticate: deps.authenticate,
      guard: deps.bruteForce,
      failures: metrics.authFailures,
      logger,
      resourceUrl: config.AUTH_RESOURCE_URL,
    }),
    trackInFlight(lifecycle),
    express.json({ limit: config.MAX_BODY_BYTES }),
    ...(deps.rateLimiter ? [deps.rateLimiter] : []),
    async (req, res) => {
      if (!['GET', 'POST', 'DELETE'].includes(req.method)) {
        res.setHeader('Allow', 'GET, POST, DELETE');
        sendRpcError(res, 405, RpcCode.ServerError, `Method ${req.method} not allowed on /mcp`);
        return;
      }
      // 2026-07-28 requests carry their version in _meta and need no session: the SDK's own
      // classifier decides, so our routing never disagrees with the SDK's modern entry.
      if (req.method === 'POST' && tooDeep(req.body, MAX_JSON_DEPTH)) {
        sendRpcError(
          res,
          400,
          RpcCode.InvalidRequest,
          `Invalid Request: JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
        );
        return;
      }
      if (
        req.method === 'POST' &&
        (claimsModern(req.body) || !(await isLegacyRequest(classifiable(req), req.body)))
      )
        return modern.serve(req, res);
      await sessions.handle(req, res);
    },
  );

  app.use((_req, res) => {
    res.status(404).json({ error: 'Not found. The MCP endpoint is /mcp.' });
  });
  app.use(errorHandler(config, logger));

  return { express: app, sessions, metrics, events, liveness, tasks };
}

/**
 * Gives each request an id (X-Request-Id, echoed back), counts it in the metrics, and logs one
 * line when it ends with the request and session ids. Headers and bodies are never logged:
 * they carry tokens and session credentials.
 */
function accessLog(logger: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    res.locals.requestId = requestId;
    const started = performance.now();
    res.once('close', () => {
      const seconds = (performance.now() - started) / 1000;
      const status = res.statusCode;
      metrics.httpDuration.observe({ method: req.method }, seconds);
      metrics.httpRequests.inc({ method: req.method, status: String(status) });
      if (QUIET_PATHS.has(req.path) && status < 400) return;
      logger.info(
        {
          requestId,
          // Client-chosen: only a well-formed id reaches the log, anything else is marked.
          sessionId: loggableSessionId(req.headers['mcp-session-id']),
          method: req.method.slice(0, 16),
          path: req.path.slice(0, 128),
          status,
          ms: Math.round(seconds * 1000),
        },
        'request',
      );
    });
    next();
  };
}

/** No credentials to tell callers apart (auth not configured): they count by session or address. */
function isAnonymous(p: Principal): boolean {
  return p.kind !== 'jwt' && p.kind !== 'apikey';
}

/** A session id as the log may show it: ours (32 hex digits), or a marker for anything else. */
function loggableSessionId(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' && SESSION_ID_RE.test(v) ? v : 'malformed';
}

/**
 * CORS for browser clients: only the allowed origins (any loopback origin when ALLOWED_ORIGINS
 * is unset, as originValidation), the MCP headers allowed in, the session id and auth
 * challenge readable by scripts, preflight answered here (before authentication: browsers
 * send no credentials on a preflight).
 */
function browserCors(allowed: string[] | null): RequestHandler {
  return cors({
    origin: (origin, cb) => {
      if (origin === undefined) return cb(null, false);
      try {
        const url = new URL(origin);
        cb(null, allowed === null ? isLoopbackHost(url.hostname) : allowed.includes(url.origin));
      } catch {
        cb(null, false);
      }
    },
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: [
      'Content-Type',
      'Authorization',
      'Mcp-Session-Id',
      'Mcp-Protocol-Version',
      'Mcp-Method',
      'Mcp-Name',
      'Last-Event-ID',
      'X-Request-Id',
    ],
    exposedHeaders: ['Mcp-Session-Id', 'WWW-Authenticate', 'Retry-After', 'X-Request-Id'],
    maxAge: 600,
  });
}

/**
 * Far deeper JSON than any MCP message needs: refused before routing, since the SDK's Node adapter
 * re-serialises the parsed body (recursively) and would fail on it with a 500.
 */
const MAX_JSON_DEPTH = 2048;

/** Whether a parsed JSON value nests deeper than `max` (iterative: no recursion on hostile input). */
function tooDeep(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * What the SDK's classifier reads of a POST besides its parsed body: the method and the
 * standard headers. Built without the body (the classifier takes it parsed).
 */
function classifiable(req: express.Request): globalThis.Request {
  const headers = new Headers();
  for (const name of ['mcp-protocol-version', 'mcp-method', 'mcp-name', 'content-type']) {
    const v = req.headers[name];
    if (typeof v === 'string') headers.set(name, v);
  }
  return new Request('http://mcp.invalid/mcp', { method: 'POST', headers });
}

/** TRUST_PROXY as express's 'trust proxy' takes it. */
function trustProxy(v: string): boolean | number | string[] {
  if (v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v.split(',').map((s) => s.trim());
}

/** The Host header's name without port or IPv6 brackets ('' when absent or malformed). */
function hostnameOf(host: string | undefined): string {
  if (!host) return '';
  try {
    return new URL(`http://${host}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

/** A POST is a call in flight until its response ends; GET streams are not (they may last hours). */
function trackInFlight(lifecycle: Lifecycle): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET') res.once('close', lifecycle.begin());
    next();
  };
}

function errorHandler(config: Config, logger: Logger): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') {
      sendRpcError(
        res,
        413,
        RpcCode.ServerError,
        `Request body too large: the limit is ${config.MAX_BODY_BYTES} bytes (MAX_BODY_BYTES)`,
      );
    } else if (type === 'entity.parse.failed') {
      sendRpcError(res, 400, RpcCode.ParseError, 'Parse error: the body is not valid JSON');
    } else if (
      typeof (err as { status?: number }).status === 'number' &&
      (err as { status: number }).status < 500
    ) {
      sendRpcError(res, (err as { status: number }).status, RpcCode.InvalidRequest, (err as Error).message);
    } else {
      logger.error({ err, requestId: res.locals.requestId }, 'request failed');
      sendRpcError(res, 500, RpcCode.InternalError, 'Internal error; the server log has the details');
    }
  };
}
