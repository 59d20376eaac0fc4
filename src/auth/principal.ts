import type { AuthInfo } from '@modelcontextprotocol/server';
import { ALL_SCOPES, type Scope } from './scopes.js';

/** Who is calling: the subject of a token, an API key's name, or nobody in particular. */
export interface Principal {
  /** Stable id: `jwt:<sub>`, `key:<name>`, `anonymous` (no auth configured) or `local` (stdio). */
  id: string;
  kind: 'jwt' | 'apikey' | 'anonymous' | 'local';
  scopes: Scope[];
  /** Seconds since the epoch; tokens only. */
  expiresAt?: number;
}

/** Without authentication configured (loopback only, or AUTH_DISABLED), everyone may do everything. */
export const ANONYMOUS: Principal = { id: 'anonymous', kind: 'anonymous', scopes: ALL_SCOPES };
/** The stdio client: the local user who started the process. */
export const LOCAL: Principal = { id: 'local', kind: 'local', scopes: ALL_SCOPES };

/**
 * The SDK carries `req.auth` to tool handlers as `extra.authInfo`; the principal rides in its
 * `extra`. The token itself is never kept: it would end up in logs and heap dumps.
 */
export function toAuthInfo(p: Principal): AuthInfo {
  return {
    token: '',
    clientId: p.id,
    scopes: p.scopes,
    ...(p.expiresAt !== undefined ? { expiresAt: p.expiresAt } : {}),
    extra: { principal: p },
  };
}

/** An HTTP request that skipped authentication (a wiring bug): fails closed, no scopes. */
export const NOBODY: Principal = { id: 'unauthenticated', kind: 'anonymous', scopes: [] };

/** The principal of an HTTP request, as bearerAuth set it. */
export function requestPrincipal(req: object): Principal {
  const auth = (req as { auth?: AuthInfo }).auth;
  return auth ? principalOf(auth) : NOBODY;
}

/** The principal behind a message (stdio has no authInfo: the local user). */
export function principalOf(authInfo: AuthInfo | undefined): Principal {
  const p = authInfo?.extra?.principal as Principal | undefined;
  return p ?? LOCAL;
}
