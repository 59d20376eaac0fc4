/**
 * What a principal may do. Every tool names the one scope it needs; tools/list shows a
 * principal only the tools its scopes cover.
 */
export const SCOPES = {
  'audit:read': 'host-local, read-only tools and the baseline resources',
  'audit:network': 'tools that reach the network (TLS, DNS, HTTP, clock checks)',
  'audit:logs': 'tools that read log files',
  'audit:admin': 'tools that change state (deleting baselines)',
} as const;

export type Scope = keyof typeof SCOPES;

export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

export function isScope(s: string): s is Scope {
  return Object.hasOwn(SCOPES, s);
}

/** Only the scopes this server knows; the rest of a token's scopes are someone else's business. */
export function knownScopes(granted: Iterable<string>): Scope[] {
  return ALL_SCOPES.filter((s) => new Set(granted).has(s));
}
