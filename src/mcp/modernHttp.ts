/**
 * MCP 2026-07-28 on /mcp: stateless, one McpServer per request, served by the SDK's
 * createMcpHandler in its strict mode (legacy traffic never reaches it: app.ts routes with the
 * SDK's own isLegacyRequest). The SDK owns the protocol (envelope validation, standard headers,
 * server/discover, subscriptions/listen, cache fields, resultType); we add what is ours on the
 * request's transport, exactly as on the legacy path: the authorization gate and the audit trail.
 */
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  type AuthInfo,
  createMcpHandler,
  type McpHttpHandler,
  type McpRequestContext,
  type McpServer,
  type ServerEventBus,
  type Transport,
} from '@modelcontextprotocol/server';
import type { Request, Response } from 'express';
import { NOBODY, type Principal, principalOf } from '../auth/principal.js';
import type { Logger } from '../observability/logger.js';

export interface ModernHttpOptions {
  /** A fresh server with every tool, resource and prompt registered. */
  createServer: () => McpServer;
  /** Puts the authorization gate and audit trail on the request's transport. */
  gate: (transport: Transport, principal: Principal, clientIp: string | undefined) => void;
  /** Change events for subscriptions/listen streams (fleet-wide in fleet mode). */
  bus: ServerEventBus;
  maxBodyBytes: number;
  logger: Logger;
}

export interface ModernHttp {
  handler: McpHttpHandler;
  /** Serves one request already parsed by express.json (req.auth set by bearerAuth). */
  serve(req: Request, res: Response): Promise<void>;
}

/**
 * The SDK's serving entries (createMcpHandler, serveStdio) connect the instance they get from our
 * factory to a transport of their own and then deliver messages: the gate goes on in between, as
 * on the legacy path (HttpSessions.run).
 */
export function gateOnConnect(server: McpServer, gate: (transport: Transport) => void): McpServer {
  const connect = server.connect.bind(server);
  server.connect = async (transport: Transport) => {
    await connect(transport);
    gate(transport);
  };
  return server;
}

/** Idle servers kept for reuse: building one per request (tools, schemas, validators) dominates a call. */
const POOL_MAX = 64;

interface Pooled {
  server: McpServer;
  /** Whose request the server serves now; set by the factory, read when the SDK connects it. */
  principal: Principal;
  clientIp: string | undefined;
}

export function createModernHttp(o: ModernHttpOptions): ModernHttp {
  const idle: Pooled[] = [];
  const build = (): Pooled => {
    const p: Pooled = { server: o.createServer(), principal: NOBODY, clientIp: undefined };
    gateOnConnect(p.server, (transport) => o.gate(transport, p.principal, p.clientIp));
    // The SDK closes the instance when the exchange ends (it chains this after its own hook):
    // then it goes back to the pool. A server still connected is never reused.
    p.server.server.onclose = () => {
      p.principal = NOBODY;
      if (!p.server.isConnected() && idle.length < POOL_MAX) idle.push(p);
    };
    return p;
  };
  const factory = (ctx: McpRequestContext): McpServer => {
    const p = idle.pop() ?? build();
    p.principal = principalOf(ctx.authInfo);
    p.clientIp = ctx.authInfo?.extra?.clientIp as string | undefined;
    return p.server;
  };
  const handler = createMcpHandler(factory, {
    legacy: 'reject',
    bus: o.bus,
    maxRequestBodySize: o.maxBodyBytes,
    onerror: (err) => o.logger.debug({ err: err.message }, 'modern request rejected or failed'),
  });
  const node = toNodeHandler(handler, {
    maxRequestBodySize: o.maxBodyBytes,
    onerror: (err) => o.logger.error({ err }, 'modern request failed'),
  });
  return {
    handler,
    serve: (req, res) => {
      // The client's address rides with the auth info to the factory: anonymous callers (no auth
      // on loopback) are told apart by it, as the rate limit does.
      const auth = (req as { auth?: AuthInfo }).auth;
      if (auth) (req as { auth?: AuthInfo }).auth = { ...auth, extra: { ...auth.extra, clientIp: req.ip } };
      return node(req, res, req.body);
    },
  };
}
