import type { Resilience } from '../resilience/resilience.js';
import { API_KEY_PREFIX, type ApiKeyEntry, findApiKey } from './apiKeys.js';
import { AuthFailure } from './authFailure.js';
import { createJwtVerifier, type JwtSettings } from './jwtVerifier.js';
import type { Principal } from './principal.js';

export interface AuthSettings {
  /** none: loopback only, everyone anonymous; disabled: AUTH_DISABLED=true; required: credentials needed. */
  mode: 'none' | 'disabled' | 'required';
  jwt?: JwtSettings;
  apiKeys: ApiKeyEntry[];
}

/** Turns a bearer credential into a principal, or throws AuthFailure. */
export type Authenticator = (credential: string) => Promise<Principal>;

export function createAuthenticator(s: AuthSettings, resilience: Resilience): Authenticator {
  const jwt = s.jwt ? createJwtVerifier(s.jwt, resilience) : undefined;
  return async (credential) => {
    if (credential.startsWith(API_KEY_PREFIX)) {
      const entry = s.apiKeys.length > 0 ? findApiKey(s.apiKeys, credential) : undefined;
      if (!entry) throw new AuthFailure('unknown_api_key', 'The API key is not known to this server');
      return { id: `key:${entry.name}`, kind: 'apikey', scopes: entry.scopes };
    }
    if (!jwt) throw new AuthFailure('malformed_token', 'This server accepts API keys only (sam_...)');
    return jwt(credential);
  };
}
