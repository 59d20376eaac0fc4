/**
 * Authentication of /mcp requests (RFC 6750 bearer tokens, the MCP authorization spec).
 * Our own middleware rather than the SDK's requireBearerAuth: we need the failure reason for
 * metrics and the brute-force guard, a 401 without an error code when no credentials were sent
 * (RFC 6750 §3.1), refusal of tokens in the query string, and a JSON-RPC error body like every
 * other /mcp error. It sets `req.auth` exactly as the SDK's does, so tool handlers see the
 * principal as `extra.authInfo`.
 */
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { Request, RequestHandler, Response } from 'express';
import type { Counter } from 'prom-client';
import { RpcCode, sendRpcError } from '../http/jsonRpcError.js';
import type { Logger } from '../observability/logger.js';
import { AuthFailure, type AuthFailureReason } from './authFailure.js';
import type { Authenticator, AuthSettings } from './authenticator.js';
import type { BruteForceGuard } from './bruteForceGuard.js';
import { ANONYMOUS, toAuthInfo } from './principal.js';
import { metadataUrl, resourceUrl } from './protectedResource.js';

export interface BearerAuthOptions {
  settings: AuthSettings;
  authenticate: Authenticator;
  guard: BruteForceGuard;
  failures: Counter<'reason'>;
  logger: Logger;
  resourceUrl?: string;
}

/** Reasons that say nothing about guessing: they do not count towards the brute-force block. */
/**
 * Reasons that say nothing about guessing: they do not count towards the brute-force block (an
 * expired token is a real client whose refresh is late; behind a proxy it would lock out others).
 */
const NOT_GUESSES = new Set<AuthFailureReason>([
  'missing_token',
  'keys_unavailable',
  'no_scope',
  'expired',
  'not_yet_valid',
]);

export function bearerAuth(o: BearerAuthOptions): RequestHandler {
  return (req, res, next) => {
    void authenticateRequest(o, req)
      .then((authInfo) => {
        (req as Request & { auth?: AuthInfo }).auth = authInfo;
        next();
      })
      .catch((err: unknown) => {
        try {
          refuse(o, req, res, err);
        } catch (failure) {
          // Never leave a request unanswered (a header Node refuses, a closed socket...).
          o.logger.error({ err: failure }, 'authentication refusal failed');
          if (!res.headersSent) res.status(401).end();
        }
      });
  };
}

async function authenticateRequest(o: BearerAuthOptions, req: Request): Promise<AuthInfo> {
  const query = req.query as Record<string, unknown>;
  if (query.access_token !== undefined || query.token !== undefined || query.api_key !== undefined) {
    // URLs end up in proxy logs and browser history (RFC 6750 §2.3 and the MCP spec forbid it).
    throw new AuthFailure(
      'token_in_query',
      'Credentials in the query string are refused: send Authorization: Bearer <token>',
    );
  }
  if (o.settings.mode !== 'required') return toAuthInfo(ANONYMOUS);
  const blocked = await o.guard.blockedFor(req.ip ?? 'unknown');
  if (blocked > 0) throw new Blocked(blocked);
  const header = req.headers.authorization;
  // No credentials, or another scheme (Basic ...): the plain challenge of RFC 6750 §3.1, which
  // is also what makes an MCP client start its OAuth flow.
  if (header === undefined || header === '' || !/^bearer(\s|$)/i.test(header))
    throw new AuthFailure('missing_token', 'Authentication required');
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
  if (!match?.[1]) throw new AuthFailure('malformed_header', 'Expected "Authorization: Bearer <token>"');
  const principal = await o.authenticate(match[1]);
  if (principal.scopes.length === 0)
    throw new AuthFailure(
      'no_scope',
      "The credentials grant none of this server's scopes (audit:read at least)",
    );
  return toAuthInfo(principal);
}

class Blocked extends Error {
  constructor(readonly seconds: number) {
    super('blocked');
  }
}

function refuse(o: BearerAuthOptions, req: Request, res: Response, err: unknown): void {
  if (err instanceof Blocked) {
    res.setHeader('Retry-After', String(err.seconds));
    return sendRpcError(
      res,
      429,
      RpcCode.ServerError,
      `Too many failed authentication attempts: retry after ${err.seconds} s`,
    );
  }
  if (!(err instanceof AuthFailure)) {
    o.logger.error({ err }, 'authentication failed unexpectedly');
    return sendRpcError(res, 500, RpcCode.InternalError, 'Internal error; the server log has the details');
  }
  o.failures.inc({ reason: err.reason });
  // The reason, never the credential: tokens must not reach any log.
  o.logger.info(
    { reason: err.reason, ip: req.ip, requestId: res.locals.requestId },
    'authentication refused',
  );
  if (!NOT_GUESSES.has(err.reason)) void o.guard.recordFailure(req.ip ?? 'unknown');

  const prm = `resource_metadata="${metadataUrl(resourceUrl(req, o.resourceUrl))}"`;
  const challenge = (params: string) => res.setHeader('WWW-Authenticate', `Bearer ${params}`);
  switch (err.reason) {
    case 'missing_token':
      challenge(prm);
      return sendRpcError(
        res,
        401,
        RpcCode.ServerError,
        `Unauthorized: ${err.message}. See ${metadataUrl(resourceUrl(req, o.resourceUrl))}`,
      );
    case 'malformed_header':
    case 'token_in_query':
      challenge(`error="invalid_request", error_description="${quote(err.message)}", ${prm}`);
      return sendRpcError(res, 400, RpcCode.ServerError, `Bad request: ${err.message}`);
    case 'no_scope':
      challenge(
        `error="insufficient_scope", scope="audit:read", error_description="${quote(err.message)}", ${prm}`,
      );
      return sendRpcError(res, 403, RpcCode.ServerError, `Forbidden: ${err.message}`);
    case 'keys_unavailable':
      res.setHeader('Retry-After', '5');
      return sendRpcError(
        res,
        503,
        RpcCode.ServerError,
        `Cannot verify the token now: ${err.message}; retry shortly`,
      );
    default:
      challenge(`error="invalid_token", error_description="${quote(err.message)}", ${prm}`);
      return sendRpcError(res, 401, RpcCode.ServerError, `Unauthorized: ${err.message}`);
  }
}

/** RFC 6750 error_description: only %x20-21 / %x23-5B / %x5D-7E, whatever a message holds. */
function quote(s: string): string {
  return s.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '');
}
