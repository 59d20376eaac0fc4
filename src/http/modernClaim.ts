import { PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';

/**
 * The common 2026-07-28 request, routed without the SDK's classifier (which builds a web Request
 * and validates the envelope, then the modern handler does both again): a single request, not
 * initialize, whose params._meta carries the protocol-version claim. isLegacyRequest documents
 * exactly these as never legacy (a claim goes to the modern path, which answers even a malformed
 * envelope or a header mismatch); everything else still asks the SDK.
 */
export function claimsModern(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const { method, params } = body as { method?: unknown; params?: unknown };
  if (typeof method !== 'string' || method === 'initialize') return false;
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return false;
  const meta = (params as { _meta?: unknown })._meta;
  return (
    meta !== null && typeof meta === 'object' && !Array.isArray(meta) && PROTOCOL_VERSION_META_KEY in meta
  );
}
