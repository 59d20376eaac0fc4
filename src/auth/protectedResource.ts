/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728): tells an MCP client which authorization
 * servers issue tokens for this server and which scopes exist. Served at
 * /.well-known/oauth-protected-resource and its path-suffixed form (…/mcp), as the MCP
 * authorization spec has clients try both.
 */
import type { Request } from 'express';
import { SCOPES } from './scopes.js';

export const PRM_PATH = '/.well-known/oauth-protected-resource';

/** The /mcp URL as clients see it: AUTH_RESOURCE_URL, else from the (validated) Host header. */
export function resourceUrl(req: Request, configured: string | undefined): string {
  return configured ?? `${req.protocol}://${req.get('host') ?? 'localhost'}/mcp`;
}

export function metadataUrl(resource: string): string {
  const u = new URL(resource);
  const path = u.pathname === '/' ? '' : u.pathname;
  return new URL(`${PRM_PATH}${path}`, u).href;
}

export function protectedResourceMetadata(resource: string, authorizationServers: string[]) {
  return {
    resource,
    authorization_servers: authorizationServers,
    scopes_supported: Object.keys(SCOPES),
    bearer_methods_supported: ['header'],
    resource_name: 'server-audit-mcp',
  };
}
