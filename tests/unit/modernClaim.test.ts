import { isLegacyRequest, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { claimsModern } from '../../src/http/modernClaim.js';

/** A POST as app.ts hands it to the SDK's classifier: the standard headers, the parsed body. */
function post(headers: Record<string, string>): Request {
  return new Request('http://mcp.invalid/mcp', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
  });
}

const version = fc.constantFrom('2026-07-28', '2025-11-25', '2025-06-18', '2024-11-05', '1999-01-01', '');
const meta = fc.record(
  {
    [PROTOCOL_VERSION_META_KEY]: fc.oneof(version, fc.integer(), fc.constant(null)),
    'io.modelcontextprotocol/clientInfo': fc.oneof(
      fc.record({ name: fc.string(), version: fc.string() }),
      fc.string(),
    ),
    'io.modelcontextprotocol/clientCapabilities': fc.oneof(fc.constant({}), fc.string()),
    progressToken: fc.oneof(fc.string(), fc.integer()),
  },
  { requiredKeys: [] },
);
const body = fc.record(
  {
    jsonrpc: fc.constantFrom('2.0', '1.0'),
    id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
    method: fc.constantFrom(
      'tools/list',
      'tools/call',
      'initialize',
      'server/discover',
      'ping',
      'notifications/cancelled',
    ),
    params: fc.oneof(
      fc.record({ _meta: meta, name: fc.string() }, { requiredKeys: [] }),
      fc.constant(null),
      fc.array(fc.integer()),
    ),
  },
  { requiredKeys: ['method'] },
);
const headers = fc.record(
  {
    'mcp-protocol-version': version,
    'mcp-method': fc.constantFrom('tools/list', 'tools/call', 'ping'),
  },
  { requiredKeys: [] },
);

describe('claimsModern (the fast route to the 2026-07-28 handler)', () => {
  it('never routes to the modern handler what the SDK classifier calls legacy', async () => {
    let claimed = 0;
    await fc.assert(
      fc.asyncProperty(body, headers, async (b, h) => {
        if (!claimsModern(b)) return;
        claimed++;
        expect(await isLegacyRequest(post(h), b)).toBe(false);
      }),
      { numRuns: 2000 },
    );
    // The generator reaches the fast route often enough for the property to mean something.
    expect(claimed).toBeGreaterThan(200);
  });

  it('takes the everyday 2026-07-28 call and leaves the rest to the SDK', () => {
    const envelope = { _meta: { [PROTOCOL_VERSION_META_KEY]: '2026-07-28' } };
    expect(claimsModern({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: envelope })).toBe(true);
    expect(claimsModern({ jsonrpc: '2.0', id: 1, method: 'initialize', params: envelope })).toBe(false);
    expect(claimsModern([{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: envelope }])).toBe(false);
    expect(claimsModern({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} })).toBe(false);
    expect(claimsModern({ jsonrpc: '2.0', id: 1, result: {} })).toBe(false);
  });
});
