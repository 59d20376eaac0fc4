import { randomBytes } from 'node:crypto';
import { LoggingLevelSchema } from '@modelcontextprotocol/core';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import {
  type EventStore,
  isInitializeRequest,
  type JSONRPCMessage,
  type JSONRPCNotification,
  LATEST_PROTOCOL_VERSION,
  type McpServer,
  SUPPORTED_PROTOCOL_VERSIONS,
  type Transport,
} from '@modelcontextprotocol/server';
import type { Request, Response } from 'express';
import { type Principal, requestPrincipal } from '../auth/principal.js';
import { RpcCode, sendRpcError } from '../http/jsonRpcError.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import { CANCEL_CHANNEL, type SessionBus } from '../session/sessionBus.js';
import type { SessionEvents } from '../session/sessionEvents.js';
import type { SessionRecord, SessionStore } from '../session/sessionStore.js';

/** What a per-request McpServer needs to know about the session it serves. */
export interface SessionContext {
  sessionId: string;
  /** Sends a server-initiated notification to the session's GET stream, on whatever instance holds it. */
  notify(notification: JSONRPCNotification): void;
}

/**
 * Which session a pooled server serves right now. Set when the server is taken for a request,
 * cleared when it returns to the pool; a tool call reads it once, when it starts.
 */
export interface SessionSlot {
  current: SessionContext | undefined;
}

interface Pooled {
  server: McpServer;
  slot: SessionSlot;
}

/** Idle servers kept for reuse: building one (tools, schemas, handlers) costs ~0.2 ms. */
const POOL_MAX = 64;

export interface HttpSessionOptions {
  store: SessionStore;
  bus: SessionBus;
  /** Keeps GET-stream events for Last-Event-ID replay on any instance. */
  events: SessionEvents;
  createServer: (slot: SessionSlot) => McpServer;
  lifecycle: Lifecycle;
  logger: Logger;
  ttlSeconds: number;
  /** Counts store operations for /metrics. */
  onStoreOp?: (op: string, outcome: 'ok' | 'error') => void;
  /** Open GET streams allowed per principal and in all, on this instance (each holds a server). */
  maxStreamsPerPrincipal?: number;
  maxStreams?: number;
  /** Puts the authorization gate and audit trail on a request's transport (mcp/authorizationGate.ts). */
  gate?: (
    transport: Transport,
    principal: Principal,
    sessionId: string,
    cancels: SessionCancels,
    record: SessionRecord | undefined,
  ) => void;
}

/** How a request's stream registers its in-flight requests and forwards cancellations. */
export interface SessionCancels {
  opened(id: string | number, cancel: (id: string | number, reason?: string) => void): void;
  closed(id: string | number, cancel: (id: string | number, reason?: string) => void): void;
  forward(id: string | number, reason?: string): void;
  /**
   * A server-to-client request (elicitation, sampling) sent on this stream under a session-unique
   * id: the client's response arrives in another POST, maybe on another instance, and is
   * delivered here. The returned function stops waiting.
   */
  awaitResponse(id: string, deliver: (response: JSONRPCMessage) => void): () => void;
}

/** Store failures answer quickly and clearly: a fleet must not hang on a dead Redis. */
class StoreUnavailable extends Error {}

/**
 * Streamable HTTP at /mcp. We own the session (id, expiry, record in the SessionStore) and run
 * the SDK transport per request in its stateless mode, so any instance can serve any request of
 * any session: nothing a session needs lives only in one process. Server-initiated messages go
 * through the SessionBus to whichever instance holds the session's GET stream. See
 * docs/ARCHITECTURE.md, "Sessions".
 */
export class HttpSessions {
  /** Sessions this instance served lately: answers while the store is down, and the size metric. */
  private readonly known = new Map<string, SessionRecord>();
  /** Open GET streams here, per session, to close them when the session ends. */
  private readonly streams = new Map<string, Set<() => void>>();
  private sweeper: NodeJS.Timeout | undefined;
  /** Requests running here, by session and JSON-RPC id, to cancel them from another stream. */
  private readonly inflight = new Map<string, (id: string | number, reason?: string) => void>();
  /** Server-to-client requests waiting for the client's response here, by session and id. */
  private readonly awaiting = new Map<string, (response: JSONRPCMessage) => void>();
  private unsubscribeCancels: (() => Promise<void>) | undefined;
  private cancelRetry: NodeJS.Timeout | undefined;
  private readonly idle: Pooled[] = [];
  private readonly streamsByPrincipal = new Map<string, number>();
  /** Open GET streams on this instance. */
  streamCount = 0;

  constructor(private readonly o: HttpSessionOptions) {}

  /** A server for one request of a session: from the pool, or new. */
  private acquire(id: string): Pooled {
    const p =
      this.idle.pop() ??
      ((slot: SessionSlot) => ({ server: this.o.createServer(slot), slot }))({ current: undefined });
    p.slot.current = this.context(id);
    return p;
  }

  /** Back to the pool once its transport is closed; a server still connected is dropped instead. */
  private release(p: Pooled): void {
    p.slot.current = undefined;
    if (!p.server.isConnected() && this.idle.length < POOL_MAX) this.idle.push(p);
  }

  /** Connects a pooled server to a fresh stateless transport for this response, and returns it after. */
  private async run(
    p: Pooled,
    req: Request,
    res: Response,
    onClose?: () => void,
    eventStore?: EventStore,
  ): Promise<void> {
    const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: undefined, eventStore });
    await p.server.connect(transport);
    const sessionId = p.slot.current?.sessionId;
    if (sessionId !== undefined) seedClient(p.server, this.known.get(sessionId));
    if (sessionId !== undefined)
      this.o.gate?.(
        transport,
        requestPrincipal(req),
        sessionId,
        this.cancelsFor(sessionId),
        this.known.get(sessionId),
      );
    const done = () => {
      onClose?.();
      void p.server
        .close()
        .catch(() => undefined)
        .then(() => this.release(p));
    };
    if (res.destroyed) done();
    else res.once('close', done);
    await transport.handleRequest(req, res, req.body);
  }

  /** Sessions known to this instance. */
  get size(): number {
    return this.known.size;
  }

  async handle(req: Request, res: Response): Promise<void> {
    // The per-request transport maps responses to requests by id: two requests with one id in a
    // batch would lose one answer (and its audit record). Refused before anything runs.
    if (req.method === 'POST' && hasDuplicateIds(req.body)) {
      sendRpcError(res, 400, RpcCode.InvalidRequest, 'Invalid Request: a batch repeats a request id');
      return;
    }
    const sessionId = req.header('mcp-session-id');
    if (sessionId !== undefined) return this.handleExisting(sessionId, req, res);
    if (req.method === 'POST' && !req.is('application/json')) {
      sendRpcError(
        res,
        415,
        RpcCode.ServerError,
        'Unsupported Media Type: Content-Type must be application/json',
      );
      return;
    }
    if (req.method === 'POST' && isInitializeRequest(req.body)) return this.handleInitialize(req, res);
    sendRpcError(
      res,
      400,
      RpcCode.ServerError,
      'Bad Request: no Mcp-Session-Id header. Start a session with an initialize request first.',
    );
  }

  /** A server-initiated notification for a session, delivered wherever its GET stream is. */
  notify(sessionId: string, notification: JSONRPCNotification): void {
    this.o.bus
      .publish(sessionId, { kind: 'notify', notification })
      .then(async (receivers) => {
        // No GET stream anywhere right now (its instance may have just died): keep the event,
        // so the client's reconnect with Last-Event-ID replays it.
        if (receivers === 0)
          await this.o.events.forSession(sessionId).storeEvent('_GET_stream', notification);
      })
      .catch((err: unknown) => {
        this.o.logger.warn({ err, sessionId }, 'notification not delivered');
      });
  }

  private async store<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      const value = await fn();
      this.o.onStoreOp?.(op, 'ok');
      return value;
    } catch (err) {
      this.o.onStoreOp?.(op, 'error');
      this.o.logger.warn({ err, op }, 'session store unavailable');
      throw new StoreUnavailable();
    }
  }

  private unavailable(res: Response): void {
    res.setHeader('Retry-After', '5');
    sendRpcError(
      res,
      503,
      RpcCode.ServerError,
      'Session store unavailable: retry shortly, or connect to another instance.',
    );
  }

  private async handleExisting(id: string, req: Request, res: Response): Promise<void> {
    // Ids are ours (32 hex digits): anything else is unknown without asking the store.
    if (!SESSION_ID_RE.test(id)) return this.notFound(res);
    let record: SessionRecord | undefined;
    try {
      record = await this.store('touch', () => this.o.store.touch(id));
    } catch {
      // The store is down: sessions this instance knows keep working; others cannot be checked.
      record = this.known.get(id);
      if (!record) return this.unavailable(res);
    }
    if (!record) {
      this.forget(id);
      return this.notFound(res);
    }
    this.known.set(id, record);
    // A session belongs to whoever created it. Another principal gets 404, as for an unknown
    // id: a 403 would confirm that the session exists.
    const principal = requestPrincipal(req);
    if (record.principal !== principal.id) {
      this.o.logger.warn(
        { sessionId: id, principal: principal.id },
        'session presented by another principal',
      );
      return this.notFound(res);
    }
    if (req.method === 'DELETE') return this.handleDelete(id, res);
    if (req.method === 'POST' && isSetLevel(req.body))
      return this.handleSetLevel(id, req.body as SetLevel, res);
    if (req.method === 'GET') return this.handleStream(id, req, res);
    if (req.method === 'POST' && isResponses(req.body)) return this.handleResponses(id, req.body, res);
    await this.serve(id, req, res);
  }

  private notFound(res: Response): void {
    sendRpcError(
      res,
      404,
      RpcCode.SessionNotFound,
      'Session not found: it expired or was closed. Send a new initialize request without Mcp-Session-Id.',
    );
  }

  /**
   * logging/setLevel is answered here: the level belongs to the session (kept in its record for
   * every instance), not to whichever pooled server happens to receive the request.
   */
  private async handleSetLevel(id: string, body: SetLevel, res: Response): Promise<void> {
    const level = LoggingLevelSchema.safeParse(body.params?.level);
    if (!level.success) {
      res.status(200).json({
        jsonrpc: '2.0',
        id: body.id ?? null,
        error: {
          code: -32602,
          message: `Invalid params: level must be one of ${LoggingLevelSchema.options.join(', ')}`,
        },
      });
      return;
    }
    try {
      await this.store('update', () => this.o.store.update(id, { logLevel: level.data }));
    } catch {
      return this.unavailable(res);
    }
    res.status(200).json({ jsonrpc: '2.0', id: body.id ?? null, result: {} });
  }

  private async handleInitialize(req: Request, res: Response): Promise<void> {
    if (this.o.lifecycle.draining) {
      res.setHeader('Retry-After', '5');
      sendRpcError(
        res,
        503,
        RpcCode.ServerError,
        'Server is shutting down; connect to another instance or retry.',
      );
      return;
    }
    const params = (
      req.body as {
        params?: {
          protocolVersion?: string;
          clientInfo?: Record<string, unknown>;
          capabilities?: Record<string, unknown>;
        };
      }
    ).params;
    const requested = String(params?.protocolVersion ?? '');
    const now = Date.now();
    const record: SessionRecord = {
      id: randomBytes(16).toString('hex'), // 128 random bits
      createdAt: now,
      lastSeenAt: now,
      // Mirrors the SDK's negotiation: the client's version when supported, else the latest.
      protocolVersion: SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION,
      // Client-chosen and kept for the whole session (and in Redis): bounded.
      clientName: boundedString(params?.clientInfo?.name),
      clientVersion: boundedString(params?.clientInfo?.version),
      clientCapabilities: boundedCapabilities(params?.capabilities),
      principal: requestPrincipal(req).id,
    };
    try {
      await this.store('create', () => this.o.store.create(record));
    } catch {
      return this.unavailable(res);
    }
    this.known.set(record.id, record);
    this.o.logger.info({ sessionId: record.id, client: record.clientName }, 'session started');
    // The stateless transport does not add the header; the session is ours.
    res.setHeader('mcp-session-id', record.id);
    await this.serve(record.id, req, res);
  }

  private async handleDelete(id: string, res: Response): Promise<void> {
    try {
      await this.store('delete', () => this.o.store.delete(id));
    } catch {
      return this.unavailable(res);
    }
    this.forget(id);
    await this.o.bus.publish(id, { kind: 'end' }).catch(() => undefined);
    this.o.logger.info({ sessionId: id, reason: 'deleted by client' }, 'session ended');
    res.status(200).end();
  }

  private context(id: string): SessionContext {
    return { sessionId: id, notify: (n) => this.notify(id, n) };
  }

  /** One SDK server (pooled) and a fresh stateless transport for this request. */
  private async serve(id: string, req: Request, res: Response): Promise<void> {
    await this.run(this.acquire(id), req, res);
  }

  /** The GET stream: server-initiated messages for the session arrive over the bus. */
  private async handleStream(id: string, req: Request, res: Response): Promise<void> {
    if ((this.streams.get(id)?.size ?? 0) > 0) {
      // As the SDK does: one standalone stream per session (here, per instance).
      sendRpcError(res, 409, RpcCode.ServerError, 'Conflict: this session already has an open GET stream');
      return;
    }
    // Counted per principal; anonymous callers (no auth configured) per address.
    const who = requestPrincipal(req);
    const owner = who.kind === 'jwt' || who.kind === 'apikey' ? who.id : `ip:${req.ip ?? 'unknown'}`;
    const mine = this.streamsByPrincipal.get(owner) ?? 0;
    if (mine >= (this.o.maxStreamsPerPrincipal ?? Infinity)) {
      res.setHeader('Retry-After', '5');
      sendRpcError(
        res,
        429,
        RpcCode.ServerError,
        `Too many open streams: these credentials hold ${mine} GET streams here (MAX_STREAMS_PER_PRINCIPAL); close one first`,
      );
      return;
    }
    if (this.streamCount >= (this.o.maxStreams ?? Infinity)) {
      res.setHeader('Retry-After', '5');
      sendRpcError(
        res,
        503,
        RpcCode.ServerError,
        'This instance holds as many GET streams as it may (MAX_STREAMS): retry shortly, or connect to another instance',
      );
      return;
    }
    const events = this.o.events.forSession(id);
    const lastEventId = req.header('last-event-id');
    if (lastEventId !== undefined) {
      // Checked here, where a store failure can answer 503; inside the SDK it would be a 500.
      try {
        await this.store('events', async () => events.getStreamIdForEventId?.(lastEventId));
      } catch {
        return this.unavailable(res);
      }
    }
    const p = this.acquire(id);
    let unsubscribe: (() => Promise<void>) | undefined;
    const close = () => void p.server.close().catch(() => undefined);
    const local = this.streams.get(id) ?? new Set<() => void>();
    this.streams.set(id, local.add(close));
    this.streamCount++;
    this.streamsByPrincipal.set(owner, mine + 1);
    let counted = true;
    const cleanup = () => {
      if (counted) {
        counted = false;
        this.streamCount--;
        const n = (this.streamsByPrincipal.get(owner) ?? 1) - 1;
        if (n <= 0) this.streamsByPrincipal.delete(owner);
        else this.streamsByPrincipal.set(owner, n);
      }
      local.delete(close);
      if (local.size === 0 && this.streams.get(id) === local) this.streams.delete(id);
      void unsubscribe?.();
    };
    try {
      unsubscribe = await this.o.bus.subscribe(id, (m) => {
        if (m.kind === 'end') close();
        else if (m.kind === 'notify')
          void p.server.server.notification(m.notification).catch((err: unknown) => {
            this.o.logger.warn({ err, sessionId: id }, 'notification not written to the stream');
          });
      });
      // A DELETE on another instance between our touch and the subscription would be missed.
      if (!(await this.o.store.get(id))) throw new Error('session ended');
    } catch {
      cleanup();
      this.release(p);
      return this.unavailable(res);
    }
    await this.run(p, req, res, cleanup, events);
  }

  /** Drops local knowledge of a session and closes its streams held here. */
  private forget(id: string): void {
    this.known.delete(id);
    for (const k of this.inflight.keys()) if (k.startsWith(`${id} `)) this.inflight.delete(k);
    this.o.events.forget?.(id);
    for (const close of this.streams.get(id) ?? []) close();
    this.streams.delete(id);
  }

  /**
   * Each POST runs on its own transport, so a notifications/cancelled arrives on another stream,
   * maybe another instance, than the request it cancels: found here, or broadcast to the fleet.
   */
  private cancelsFor(sessionId: string): SessionCancels {
    const key = (id: string | number) => `${sessionId} ${typeof id} ${id}`;
    return {
      opened: (id, cancel) => void this.inflight.set(key(id), cancel),
      closed: (id, cancel) => {
        // Only this stream's entry: another stream may have reused the id since.
        if (this.inflight.get(key(id)) === cancel) this.inflight.delete(key(id));
      },
      forward: (requestId, reason) => {
        const local = this.inflight.get(key(requestId));
        if (local) return local(requestId, reason);
        void this.o.bus
          .publish(CANCEL_CHANNEL, {
            kind: 'cancel',
            sessionId,
            requestId,
            ...(reason !== undefined ? { reason } : {}),
          })
          .catch((err: unknown) => this.o.logger.warn({ err, sessionId }, 'cancellation not forwarded'));
      },
      awaitResponse: (id, deliver) => {
        const k = `${sessionId} ${id}`;
        this.awaiting.set(k, deliver);
        return () => {
          if (this.awaiting.get(k) === deliver) this.awaiting.delete(k);
        };
      },
    };
  }

  /**
   * The client's answers to our elicitation or sampling requests: delivered to the stream that
   * asked, here or (over the fleet channel) on another instance. Accepted with 202 either way,
   * as the transport would: a response has no answer of its own.
   */
  private handleResponses(sessionId: string, body: unknown, res: Response): void {
    for (const message of (Array.isArray(body) ? body : [body]) as Array<JSONRPCMessage & { id: unknown }>) {
      const deliver = this.awaiting.get(`${sessionId} ${String(message.id)}`);
      if (deliver) deliver(message);
      else
        void this.o.bus
          .publish(CANCEL_CHANNEL, { kind: 'response', sessionId, message })
          .catch((err: unknown) => this.o.logger.warn({ err, sessionId }, 'response not forwarded'));
    }
    res.status(202).end();
  }

  /** Listens for cancellations other instances forward; retried until the bus (Redis) answers. */
  async listenForCancels(): Promise<void> {
    try {
      this.unsubscribeCancels = await this.o.bus.subscribe(CANCEL_CHANNEL, (m) => {
        if (m.kind === 'cancel')
          this.inflight.get(`${m.sessionId} ${typeof m.requestId} ${m.requestId}`)?.(m.requestId, m.reason);
        else if (m.kind === 'response')
          this.awaiting.get(`${m.sessionId} ${String((m.message as { id?: unknown }).id)}`)?.(m.message);
      });
    } catch (err) {
      this.o.logger.warn({ err }, 'cannot listen for forwarded cancellations yet; retrying');
      this.cancelRetry = setTimeout(() => void this.listenForCancels(), 5000);
      this.cancelRetry.unref();
    }
  }

  /** Expires idle sessions in the background, every quarter TTL (at most once a minute). */
  startSweeper(): void {
    const every = Math.min((this.o.ttlSeconds * 1000) / 4, 60_000);
    this.sweeper = setInterval(() => void this.sweep(), every);
    this.sweeper.unref();
  }

  async sweep(): Promise<void> {
    try {
      await this.o.store.sweepExpired();
      for (const id of [...this.known.keys()]) {
        if (!(await this.o.store.get(id))) {
          this.forget(id);
          this.o.logger.info({ sessionId: id, reason: 'expired' }, 'session ended');
        }
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'session sweep failed');
    }
  }

  /** Ends this instance's streams; the sessions themselves live on in the store for other instances. */
  async closeAll(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.cancelRetry) clearTimeout(this.cancelRetry);
    await this.unsubscribeCancels?.().catch(() => undefined);
    for (const id of [...this.streams.keys()]) for (const close of this.streams.get(id) ?? []) close();
    this.streams.clear();
  }
}

/** Our session ids: 128 random bits in hex. */
export const SESSION_ID_RE = /^[0-9a-f]{32}$/;

type SetLevel = { id?: string | number; params?: { level?: unknown } };

/**
 * A well-formed logging/setLevel request (one message, JSON-RPC 2.0, a string or number id).
 * Anything else goes to the SDK transport, which checks the envelope like for every request.
 */
function isSetLevel(body: unknown): boolean {
  const m = body as { jsonrpc?: unknown; method?: unknown; id?: unknown } | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    !Array.isArray(m) &&
    m.jsonrpc === '2.0' &&
    m.method === 'logging/setLevel' &&
    (typeof m.id === 'string' || (typeof m.id === 'number' && Number.isFinite(m.id)))
  );
}

function boundedString(v: unknown): string | undefined {
  return typeof v === 'string' ? v.slice(0, 256) : undefined;
}

/** The capability keys the protocol defines, and only while they stay small. */
const CAPABILITY_KEYS = ['roots', 'sampling', 'elicitation', 'tasks', 'experimental', 'extensions'];
const MAX_CAPABILITIES_BYTES = 4096;

function boundedCapabilities(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  const picked = Object.fromEntries(
    Object.entries(v as Record<string, unknown>).filter(([k]) => CAPABILITY_KEYS.includes(k)),
  );
  return JSON.stringify(picked).length <= MAX_CAPABILITIES_BYTES ? picked : {};
}

/**
 * What the client declared at initialize, for a server that serves one request of its session:
 * the SDK checks it before a request to the client (elicitation, sampling). The SDK seeds it the
 * same way for a 2026-07-28 request from its envelope; for a 2025 session it has no public
 * setter, so the fields it reads are written here (kept in the session record for every instance).
 */
function seedClient(server: McpServer, record: SessionRecord | undefined): void {
  if (!record) return;
  const inner = server.server as unknown as { _clientCapabilities?: unknown; _clientVersion?: unknown };
  inner._clientCapabilities = record.clientCapabilities;
  inner._clientVersion = { name: record.clientName ?? 'unknown', version: record.clientVersion ?? 'unknown' };
}

/** A POST carrying only JSON-RPC responses (results or errors), no requests or notifications. */
function isResponses(body: unknown): boolean {
  const all = Array.isArray(body) ? body : [body];
  return (
    all.length > 0 &&
    all.every((m: unknown) => {
      const r = m as { jsonrpc?: unknown; method?: unknown; id?: unknown; result?: unknown; error?: unknown };
      return (
        typeof r === 'object' &&
        r !== null &&
        r.jsonrpc === '2.0' &&
        r.method === undefined &&
        (typeof r.id === 'string' || typeof r.id === 'number') &&
        (r.result !== undefined || r.error !== undefined)
      );
    })
  );
}

function hasDuplicateIds(body: unknown): boolean {
  if (!Array.isArray(body)) return false;
  const seen = new Set<unknown>();
  for (const m of body as Array<{ id?: unknown; method?: unknown }>) {
    if (typeof m !== 'object' || m === null || m.id === undefined || m.method === undefined) continue;
    const key = `${typeof m.id} ${String(m.id)}`;
    if (seen.has(key)) return true;
    seen.add(key);
  }
  return false;
}
