import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BotVerifier } from '../../src/net/botVerifier.js';
import { Resilience } from '../../src/resilience/resilience.js';
import { type DnsStub, reverseName, startDnsStub } from '../helpers/dnsStub.js';

let stub: DnsStub;

beforeAll(async () => {
  stub = await startDnsStub({
    ptr: {
      '192.0.2.10': ['crawl-192-0-2-10.googlebot.com'],
      '192.0.2.11': ['crawl-192-0-2-99.googlebot.com'],
      '192.0.2.12': ['pretend.googlebot.com.evil.example'],
      '2001:db8::b1': ['msnbot-2001-db8--b1.search.msn.com'],
    },
    a: { 'crawl-192-0-2-10.googlebot.com': ['192.0.2.10'], 'crawl-192-0-2-99.googlebot.com': ['192.0.2.99'] },
    aaaa: { 'msnbot-2001-db8--b1.search.msn.com': ['2001:db8::b1'] },
  });
});
afterAll(() => stub?.close());

const verifier = (opts: { timeoutMs?: number; volumeThreshold?: number } = {}) => {
  const resilience = new Resilience({
    timeoutMs: opts.timeoutMs ?? 1000,
    retries: 1,
    retryMinMs: 10,
    retryMaxMs: 50,
    errorThresholdPercentage: 50,
    volumeThreshold: opts.volumeThreshold ?? 3,
    resetTimeoutMs: 60_000,
    maxBreakers: 100,
  });
  return {
    resilience,
    v: new BotVerifier(resilience, { servers: [stub.server], timeoutMs: opts.timeoutMs ?? 1000 }),
  };
};

describe('search-engine verification by reverse and forward DNS', () => {
  it('verifies a real crawler (PTR in the engine domain, forward back to the IP), IPv4 and IPv6', async () => {
    const { v } = verifier();
    expect(await v.verify('192.0.2.10', 'Google')).toEqual({
      verdict: 'verified',
      detail: 'crawl-192-0-2-10.googlebot.com',
    });
    expect(await v.verify('2001:db8::b1', 'Bing')).toEqual({
      verdict: 'verified',
      detail: 'msnbot-2001-db8--b1.search.msn.com',
    });
  });

  it('fails a fake: no PTR, a PTR outside the domain, or a forward lookup to another IP', async () => {
    const { v } = verifier();
    expect(await v.verify('192.0.2.66', 'Google')).toEqual({
      verdict: 'failed',
      detail: '192.0.2.66 has no reverse DNS name',
    });
    expect((await v.verify('192.0.2.12', 'Google')).verdict).toBe('failed');
    expect(await v.verify('192.0.2.11', 'Google')).toEqual({
      verdict: 'failed',
      detail: 'crawl-192-0-2-99.googlebot.com resolves to 192.0.2.99, not 192.0.2.11',
    });
    // A Googlebot PTR does not verify a Bing claim.
    expect((await v.verify('192.0.2.10', 'Bing')).verdict).toBe('failed');
  });

  it('caches answers: a second check sends no query', async () => {
    const { v } = verifier();
    await v.verify('192.0.2.10', 'Google');
    const before = stub.queries.length;
    expect((await v.verify('192.0.2.10', 'Google')).verdict).toBe('verified');
    expect(stub.queries.length).toBe(before);
    expect(stub.queries).toContain(`PTR ${reverseName('192.0.2.10')}`);
  });

  it('gives "unknown" when DNS does not answer, and the breaker opens so later checks cost nothing', async () => {
    const { v, resilience } = verifier({ timeoutMs: 150, volumeThreshold: 3 });
    stub.silent = true;
    try {
      const outcomes = [];
      for (const ip of ['192.0.2.201', '192.0.2.202', '192.0.2.203'])
        outcomes.push(await v.verify(ip, 'Google'));
      expect(outcomes.map((o) => o.verdict)).toEqual(['unknown', 'unknown', 'unknown']);
      expect(resilience.state('dns', stub.server)).toBe('open');
      expect(v.available).toBe(false);
      const queries = stub.queries.length;
      const fast = await v.verify('192.0.2.204', 'Google');
      expect(fast.verdict).toBe('unknown');
      expect(fast.detail).toContain(
        `dns target ${stub.server} is failing; calls are paused, retry after 60 s`,
      );
      // Fast because nothing was asked: no query reached the resolver (not a wall-clock bound).
      expect(stub.queries.length).toBe(queries);
    } finally {
      stub.silent = false;
    }
  });
});
