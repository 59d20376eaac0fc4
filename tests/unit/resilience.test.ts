import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { SsrfError, SsrfPolicy } from '../../src/net/ssrf.js';
import { BreakerOpenError, Resilience, type ResilienceOptions } from '../../src/resilience/resilience.js';
import { startDnsStub } from '../helpers/dnsStub.js';

const base: ResilienceOptions = {
  timeoutMs: 500,
  retries: 2,
  retryMinMs: 10,
  retryMaxMs: 40,
  errorThresholdPercentage: 50,
  volumeThreshold: 3,
  resetTimeoutMs: 300,
  maxBreakers: 100,
};

/** Reads one line from a TCP server: the outbound call under test, over a real socket. */
function readLine(port: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, signal });
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\n')) {
        s.destroy();
        resolve(buf.trim());
      }
    });
    s.on('error', reject);
    s.on('close', () => reject(Object.assign(new Error('closed early'), { code: 'ECONNRESET' })));
  });
}

async function listen(handler: (sock: import('node:net').Socket) => void, port = 0): Promise<Server> {
  const srv = createServer(handler);
  srv.listen(port, '127.0.0.1');
  await once(srv, 'listening');
  return srv;
}
const portOf = (s: Server) => (s.address() as import('node:net').AddressInfo).port;
const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

describe('guarded outbound calls', () => {
  it('retries a flaky target (two resets, then an answer) to success', async () => {
    let n = 0;
    const srv = await listen((sock) => (++n <= 2 ? sock.resetAndDestroy() : sock.end('hello\n')));
    servers.push(srv);
    const r = new Resilience(base);
    expect(await r.guarded('tcp', 'flaky', (signal) => readLine(portOf(srv), signal))).toBe('hello');
    expect(n).toBe(3);
  });

  it('never retries what is not transient', async () => {
    const r = new Resilience(base);
    let calls = 0;
    const err = Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' });
    await expect(
      r.guarded('tls', 'x', async () => {
        calls++;
        throw err;
      }),
    ).rejects.toBe(err);
    expect(calls).toBe(1);
  });

  it('opens the breaker on a dead port, fails fast, half-opens and closes when the server is back', async () => {
    const probe = await listen(() => {});
    const port = portOf(probe);
    probe.close();
    await once(probe, 'close');
    const r = new Resilience({ ...base, retries: 0 });
    const call = () => r.guarded('tcp', `127.0.0.1:${port}`, (signal) => readLine(port, signal));
    for (let i = 0; i < 3; i++) await expect(call()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(r.state('tcp', `127.0.0.1:${port}`)).toBe('open');
    // Fails fast: BreakerOpenError is the breaker's own answer, given without any attempt (the
    // wall clock would only measure the machine's load).
    await expect(call()).rejects.toBeInstanceOf(BreakerOpenError);
    await expect(call()).rejects.toThrow(
      `tcp target 127.0.0.1:${port} is failing; calls are paused, retry after 1 s`,
    );
    // The server comes back on the same port; after resetTimeout one trial call goes through.
    servers.push(await listen((sock) => sock.end('back\n'), port));
    await new Promise((res) => setTimeout(res, base.resetTimeoutMs + 50));
    expect(r.state('tcp', `127.0.0.1:${port}`)).toBe('half_open');
    expect(await call()).toBe('back');
    expect(r.state('tcp', `127.0.0.1:${port}`)).toBe('closed');
  });

  it('stops retrying at the deadline', async () => {
    const r = new Resilience({ ...base, retries: 10, retryMinMs: 100, retryMaxMs: 100, timeoutMs: 1000 });
    let calls = 0;
    await expect(
      r.guarded(
        'tcp',
        'slow',
        async () => {
          calls++;
          throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
        },
        { deadlineMs: 350 },
      ),
    ).rejects.toBeDefined();
    // Ten retries were allowed: at most four happened, so the deadline stopped them. (A load-
    // delayed timer can only mean fewer attempts, never more.)
    expect(calls).toBeLessThanOrEqual(4);
  });

  it('keeps the number of breakers bounded across 10,000 distinct targets', async () => {
    const r = new Resilience({ ...base, maxBreakers: 100 });
    for (let i = 0; i < 10_000; i++) await r.guarded('dns', `target-${i}`, async () => i);
    expect(r.breakerCount).toBe(100);
    r.shutdown();
  });
});

describe('SSRF policy', () => {
  const open = new SsrfPolicy({ denyPrivate: false, allow: [], deny: [], timeoutMs: 500 });

  it.each([
    '169.254.169.254',
    '2852039166',
    '0251.0376.0251.0376',
    '0xa9fea9fe',
    '[::ffff:169.254.169.254]',
    '::ffff:a9fe:a9fe',
    'fd00:ec2::254',
    'fe80::1',
    '0.0.0.0',
  ])('refuses %s whatever the configuration', async (host) => {
    await expect(open.resolve(host)).rejects.toBeInstanceOf(SsrfError);
    await expect(open.resolve(host)).rejects.toThrow('never a target');
  });

  it('refuses a name that resolves to the metadata service, and says so', async () => {
    const dns = await startDnsStub({
      a: {
        'metadata.test': ['169.254.169.254'],
        'mixed.test': ['127.0.0.1', '169.254.169.254'],
        'ok.test': ['127.0.0.1'],
      },
    });
    try {
      const p = new SsrfPolicy({
        denyPrivate: false,
        allow: [],
        deny: [],
        dnsServers: [dns.server],
        // The stub answers at once: the bound only has to outlast a busy machine.
        timeoutMs: 15_000,
      });
      await expect(p.resolve('metadata.test')).rejects.toThrow(
        'metadata.test refused: resolves to 169.254.169.254; 169.254.169.254 is link-local',
      );
      await expect(p.resolve('mixed.test')).rejects.toThrow('resolves to 169.254.169.254');
      expect(await p.resolve('OK.test')).toEqual({ host: 'ok.test', address: '127.0.0.1', family: 4 });
      await expect(p.resolve('nxdomain.test')).rejects.toThrow(
        'nxdomain.test does not resolve to any address',
      );
    } finally {
      await dns.close();
    }
  });

  it('reports a resolver that fails (SERVFAIL, timeout) as a resolver failure, not as "does not resolve"', async () => {
    const dns = await startDnsStub({ a: { 'ok.test': ['127.0.0.1'] }, servfail: ['broken.test'] });
    try {
      const p = new SsrfPolicy({
        denyPrivate: false,
        allow: [],
        deny: [],
        dnsServers: [dns.server],
        timeoutMs: 15_000,
      });
      const servfail = p.resolve('broken.test');
      await expect(servfail).rejects.toThrow(
        `broken.test could not be resolved: the DNS_SERVERS resolver answered SERVFAIL`,
      );
      await expect(p.resolve('broken.test')).rejects.not.toThrow(/does not resolve/);
      // NXDOMAIN is an answer: the name has no address.
      await expect(p.resolve('nxdomain.test')).rejects.toThrow(
        'nxdomain.test does not resolve to any address',
      );
      // A resolver that never answers. The short bound is what is tested: load can only make the
      // timeout come sooner relative to the work, never turn it into an answer.
      dns.silent = true;
      const mute = new SsrfPolicy({
        denyPrivate: false,
        allow: [],
        deny: [],
        dnsServers: [dns.server],
        timeoutMs: 200,
      });
      await expect(mute.resolve('ok.test')).rejects.toThrow(
        /ok\.test could not be resolved: the DNS_SERVERS resolver did not answer in time \(ETIMEOUT\); check DNS_SERVERS \(127\.0\.0\.1:\d+\)/,
      );
    } finally {
      await dns.close();
    }
  });

  it('allows loopback by default, refuses it with OUTBOUND_DENY_PRIVATE, and honours allow and deny lists', async () => {
    expect((await open.resolve('127.0.0.1')).address).toBe('127.0.0.1');
    const strict = new SsrfPolicy({
      denyPrivate: true,
      allow: ['127.0.0.2'],
      deny: ['127.0.0.3/32'],
      timeoutMs: 500,
    });
    await expect(strict.resolve('127.0.0.1')).rejects.toThrow('refused by OUTBOUND_DENY_PRIVATE=true');
    await expect(strict.resolve('10.1.2.3')).rejects.toThrow('private (RFC 1918)');
    expect((await strict.resolve('127.0.0.2')).address).toBe('127.0.0.2');
    const denying = new SsrfPolicy({
      denyPrivate: false,
      allow: ['169.254.169.254'],
      deny: ['127.0.0.3/32'],
      timeoutMs: 500,
    });
    await expect(denying.resolve('127.0.0.3')).rejects.toThrow('is in OUTBOUND_DENY');
    // Not even an allow-list entry opens the metadata service.
    await expect(denying.resolve('169.254.169.254')).rejects.toThrow('never a target');
  });

  it('unpacks IPv4 carried in NAT64, 6to4 and IPv4-compatible IPv6 addresses', async () => {
    await expect(open.resolve('64:ff9b::a9fe:a9fe')).rejects.toThrow('carries 169.254.169.254');
    await expect(open.resolve('2002:a9fe:a9fe::1')).rejects.toThrow('carries 169.254.169.254');
    const strict = new SsrfPolicy({ denyPrivate: true, allow: [], deny: [], timeoutMs: 500 });
    await expect(strict.resolve('[64:ff9b::a00:1]')).rejects.toThrow('carries 10.0.0.1');
    await expect(strict.resolve('198.18.0.1')).rejects.toThrow('benchmarking');
  });

  it('keeps open breakers bounded too', async () => {
    const r = new Resilience({ ...base, maxBreakers: 10, retries: 0, volumeThreshold: 1 });
    for (let i = 0; i < 100; i++) {
      await r
        .guarded('tcp', `dead-${i}`, async () => {
          throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
        })
        .catch(() => undefined);
    }
    expect(r.breakerCount).toBeLessThanOrEqual(20);
    r.shutdown();
  });

  it('refuses what is no host at all', async () => {
    await expect(open.resolve('exa mple.com')).rejects.toThrow('is not a valid host name or address');
  });
});
