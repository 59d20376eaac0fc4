import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHttp } from '../../src/runtime.js';
import { type DnsStub, startDnsStub, type StubRecords } from '../helpers/dnsStub.js';
import { connectClient, startInProcess } from '../helpers/servers.js';

type Out = {
  answers: Array<{
    resolver: string;
    name: string;
    type: string;
    rcode: string;
    values: string[];
    error: string | null;
  }>;
  findings: Array<{ id: string; severity: string; evidence: string }>;
  status: string;
};

const zone: StubRecords = {
  a: { 'shop.test': ['192.0.2.10'], 'mail.shop.test': ['192.0.2.25'] },
  aaaa: { 'shop.test': ['2001:db8::10'] },
  other: [
    { type: 'MX', name: 'shop.test', data: { preference: 10, exchange: 'mail.shop.test' } },
    { type: 'TXT', name: 'shop.test', data: ['v=spf1 mx -all'] },
    { type: 'TXT', name: '_dmarc.shop.test', data: ['v=DMARC1; p=quarantine'] },
    { type: 'CAA', name: 'shop.test', data: { flags: 0, tag: 'issue', value: 'letsencrypt.org' } },
    { type: 'TXT', name: 'bare.test', data: ['hello'] },
  ],
  servfail: ['broken.test'],
};
let primary: DnsStub;
let secondary: DnsStub;
let dead: DnsStub;
let server: RunningHttp;
let client: Client;

beforeAll(async () => {
  primary = await startDnsStub(zone);
  // The second resolver has a stale A record for shop.test.
  secondary = await startDnsStub({ ...zone, a: { ...zone.a, 'shop.test': ['192.0.2.99'] } });
  dead = await startDnsStub({});
  dead.silent = true;
  server = await startInProcess({
    // Stubs on loopback answer at once: the bound only has to outlast a busy machine (the silent
    // stub costs it once per case).
    OUTBOUND_TIMEOUT_MS: '3000',
    RETRY_COUNT: '0',
    DNS_SERVERS: primary.server,
  });
  client = await connectClient(server.url);
});
afterAll(async () => {
  await client?.close();
  await server?.shutdown('test done');
  for (const s of [primary, secondary, dead]) await s?.close();
});

async function dns(args: Record<string, unknown>): Promise<Out> {
  const res = await client.callTool({ name: 'check_dns', arguments: args });
  expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
  return res.structuredContent as Out;
}
const ids = (o: Out) => o.findings.map((f) => `${f.severity} ${f.id}`);

describe('check_dns against local DNS stubs', () => {
  it('reads every record type and is quiet on a well-kept zone', async () => {
    const o = await dns({ names: ['shop.test'], types: ['A', 'AAAA', 'MX', 'TXT', 'CAA'] });
    const v = Object.fromEntries(
      o.answers.filter((a) => a.name === 'shop.test').map((a) => [a.type, a.values]),
    );
    expect(v).toEqual({
      A: ['192.0.2.10'],
      AAAA: ['2001:db8::10'],
      MX: ['10 mail.shop.test'],
      TXT: ['v=spf1 mx -all'],
      CAA: ['0 issue letsencrypt.org'],
    });
    expect(o.findings).toEqual([]);
    expect(o.status).toBe('ok');
  });

  it('flags resolvers that disagree and answers that miss the expectation', async () => {
    const o = await dns({
      names: ['shop.test'],
      types: ['A', 'MX'],
      resolvers: [primary.server, secondary.server],
      expect: { 'shop.test': ['192.0.2.10'], 'shop.test MX': ['10 mail.shop.test.'] },
    });
    expect(ids(o)).toEqual([
      'high dns.unexpected:shop.test@' + secondary.server,
      'medium dns.resolvers_disagree:shop.test.A',
    ]);
    expect(o.findings[0]?.evidence).toBe('expected 192.0.2.10; got 192.0.2.99');
  });

  it('reports NXDOMAIN, SERVFAIL, a dead resolver and missing CAA, SPF and DMARC', async () => {
    const o = await dns({ names: ['nope.test', 'broken.test', 'bare.test'], types: ['A', 'TXT', 'CAA'] });
    expect(ids(o)).toEqual(
      expect.arrayContaining([
        `high dns.nxdomain:nope.test@${primary.server}`,
        `high dns.servfail:broken.test.A@${primary.server}`,
        'info dns.no_caa:bare.test',
        'info dns.no_spf:bare.test',
        'info dns.no_dmarc:bare.test',
      ]),
    );
    const t = await dns({ names: ['shop.test'], types: ['A'], resolvers: [dead.server] });
    expect(t.answers[0]).toMatchObject({ rcode: 'TIMEOUT' });
    expect(ids(t)).toEqual([`high dns.timeout:shop.test.A@${dead.server}`]);
  });

  it('counts its queries and open breakers on /metrics', async () => {
    await dns({ names: ['shop.test'], types: ['A'], resolvers: [dead.server] });
    await dns({ names: ['shop.test'], types: ['A'] });
    const text = await (await fetch(server.url.replace('/mcp', '/metrics'))).text();
    expect(text).toMatch(/^outbound_requests_total\{dependency="dns",outcome="ok"\} [1-9]/m);
    expect(text).toMatch(/^outbound_requests_total\{dependency="dns",outcome="error"\} [1-9]/m);
    expect(text).toContain('# TYPE circuit_breaker_state gauge');
    expect(text).toContain('# TYPE circuit_breaker_transitions_total counter');
  });

  it('survives a resolver that answers garbage', async () => {
    const junk = await startDnsStub({});
    junk.malformed = true;
    try {
      const o = await dns({ names: ['shop.test'], types: ['A'], resolvers: [junk.server] });
      expect(o.answers[0]?.rcode).not.toBe('NOERROR');
      expect(o.status).toBe('warning');
    } finally {
      await junk.close();
    }
  });

  it('refuses a resolver at the metadata address and bad names with clear errors', async () => {
    const a = await client.callTool({
      name: 'check_dns',
      arguments: { names: ['shop.test'], resolvers: ['169.254.169.254'] },
    });
    expect(a.isError).toBe(true);
    expect((a.content as Array<{ text: string }>)[0]?.text).toContain('resolver 169.254.169.254 refused');
    // Port 0 once ended the process inside node's resolver.
    const zero = await client.callTool({
      name: 'check_dns',
      arguments: { names: ['shop.test'], resolvers: ['192.0.2.1:0'] },
    });
    expect(zero.isError).toBe(true);
    expect((zero.content as Array<{ text: string }>)[0]?.text).toContain('port 1-65535');
    const b = await client.callTool({ name: 'check_dns', arguments: { names: ['bad name;rm'] } });
    expect(b.isError).toBe(true);
    expect((b.content as Array<{ text: string }>)[0]?.text).toContain('must be a DNS name');
  });
});
