import { randomUUID } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  isInitializeRequest,
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response } from 'express';
import { RpcCode, sendRpcError } from '../http/jsonRpcError.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { SessionStore } from '../session/sessionStore.js';

interface LiveSession {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
}

export interface HttpSessionOptions {
  store: SessionStore;
  createServer: () => McpServer;
  lifecycle: Lifecycle;
  logger: Logger;
  ttlSeconds: number;
}

/**
 * Streamable HTTP at /mcp with stateful sessions: one SDK transport and McpServer per session,
 * held in this process; the session record (and its idle expiry) lives in the SessionStore.
 */
export class HttpSessions {
  private readonly live = new Map<string, LiveSession>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly o: HttpSessionOptions) {}

  get size(): number {
    return this.live.size;
  }

  async handle(req: Request, res: Response): Promise<void> {
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

  private async handleExisting(id: string, req: Request, res: Response): Promise<void> {
    const session = this.live.get(id);
    const alive = session !== undefined && (await this.o.store.touch(id));
    if (!session || !alive) {
      if (session) await this.end(id, 'expired');
      sendRpcError(
        res,
        404,
        RpcCode.SessionNotFound,
        'Session not found: it expired or was closed. Send a new initialize request without Mcp-Session-Id.',
      );
      return;
    }
    await session.transport.handleRequest(req, res, req.body);
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
      req.body as { params?: { protocolVersion?: string; clientInfo?: Record<string, unknown> } }
    ).params;
    const requested = String(params?.protocolVersion ?? '');
    const server = this.o.createServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: async (id) => {
        this.live.set(id, { transport, server });
        const now = Date.now();
        await this.o.store.create({
          id,
          createdAt: now,
          lastSeenAt: now,
          // Mirrors the SDK's negotiation: the client's version when supported, else the latest.
          protocolVersion: SUPPORTED_PROTOCOL_VERSIONS.includes(requested)
            ? requested
            : LATEST_PROTOCOL_VERSION,
          clientName: typeof params?.clientInfo?.name === 'string' ? params.clientInfo.name : undefined,
          clientVersion:
            typeof params?.clientInfo?.version === 'string' ? params.clientInfo.version : undefined,
        });
        this.o.logger.info({ sessionId: id, client: params?.clientInfo?.name }, 'session started');
      },
      onsessionclosed: async (id) => {
        await this.end(id, 'deleted by client');
      },
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id && this.live.get(id)?.transport === transport) void this.end(id, 'transport closed');
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  }

  /** Forgets a session here and in the store, and closes its transport (ending any open streams). */
  private async end(id: string, reason: string): Promise<void> {
    const session = this.live.get(id);
    this.live.delete(id);
    await this.o.store.delete(id);
    if (!session) return;
    this.o.logger.info({ sessionId: id, reason }, 'session ended');
    await session.server.close().catch((err) => this.o.logger.warn({ err, sessionId: id }, 'close failed'));
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
      for (const id of [...this.live.keys()]) {
        if (!(await this.o.store.get(id))) await this.end(id, 'expired');
      }
    } catch (err) {
      this.o.logger.error({ err }, 'session sweep failed');
    }
  }

  async closeAll(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.all([...this.live.keys()].map((id) => this.end(id, 'server shutting down')));
  }
}
