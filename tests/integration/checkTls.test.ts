import type { AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHttp } from '../../src/runtime.js';
import { type DnsStub, startDnsStub } from '../helpers/dnsStub.js';
import { connectClient, startInProcess } from '../helpers/servers.js';
import { serveOpenssl, serveTls, TlsTestBed } from '../helpers/tlsTestBed.js';

type Result = {
  target: string;
  status: string;
  error: string | null;
  grade: string | null;
  gradeReasons: string[];
  daysRemaining: number | null;
  trusted: boolean | null;
  certificate: {
    subject: string;
    keyBits: number | null;
    signatureAlgorithm: string;
    sans: string[];
    ocspUris: string[];
    crlUris: string[];
  } | null;
  cipherOrder: { below13: boolean | null; tls13: boolean | null } | null;
  chain: unknown[];
  protocol: string | null;
  protocols: Record<string, string>;
  headers: Array<{ name: string; verdict: string }> | null;
  findings: Array<{ id: string; severity: string }>;
};

const root = mkdtempSync(join(tmpdir(), 'tls-it-'));
const servers: Server[] = [];
const stops: Array<() => Promise<void>> = [];
const port: Record<string, number> = {};
let dns: DnsStub;
let server: RunningHttp;
let client: Client;

beforeAll(async () => {
  const bed = new TlsTestBed(join(root, 'ca'));
  mkdirSync(join(root, 'certs'));
  writeFileSync(join(root, 'certs', 'root.pem'), bed.rootPem);
  const start = async (name: string, o: Parameters<typeof serveTls>[0]) => {
    const s = await serveTls(o);
    servers.push(s.server);
    port[name] = s.port;
  };
  const full = (spec: Parameters<TlsTestBed['leaf']>[0]) => {
    const l = bed.leaf(spec);
    return { key: l.key, cert: bed.fullChain(l) };
  };
  await start('valid', full({ name: 'valid.tls.test', sans: ['valid.tls.test'] }));
  await start(
    'expired',
    full({ name: 'expired.tls.test', sans: ['expired.tls.test'], fromDays: -100, toDays: -2 }),
  );
  await start(
    'future',
    full({ name: 'future.tls.test', sans: ['future.tls.test'], fromDays: 3, toDays: 90 }),
  );
  await start('soon', full({ name: 'soon.tls.test', sans: ['soon.tls.test'], toDays: 5 }));
  await start('wrong', full({ name: 'other.tls.test', sans: ['other.tls.test'] }));
  await start('self', bed.leaf({ name: 'self.tls.test', sans: ['self.tls.test'], selfSigned: true }));
  await start('rsa1024', full({ name: 'rsa1024.tls.test', sans: ['rsa1024.tls.test'], bits: 1024 }));
  await start('sha1', full({ name: 'sha1.tls.test', sans: ['sha1.tls.test'], md: 'sha1' }));
  await start('nointermediate', bed.leaf({ name: 'noint.tls.test', sans: ['noint.tls.test'] }));
  await start('old', { ...full({ name: 'old.tls.test', sans: ['old.tls.test'] }), minVersion: 'TLSv1' });
  await start('weakheaders', {
    ...full({ name: 'headers.tls.test', sans: ['headers.tls.test'] }),
    headers: {
      'content-security-policy': "default-src 'self' 'unsafe-inline'",
      'strict-transport-security': 'max-age=600',
    },
  });
  await start('noheaders', { ...full({ name: 'bare.tls.test', sans: ['bare.tls.test'] }), headers: {} });
  await start('noorder', {
    ...full({ name: 'noorder.tls.test', sans: ['noorder.tls.test'] }),
    honorCipherOrder: false,
  });
  await start('norev', full({ name: 'norev.tls.test', sans: ['norev.tls.test'], revocation: false }));
  // Only TLS 1.0, from openssl s_server (Node's default security level refuses to serve it alone).
  const tls10 = await serveOpenssl(
    join(root, 's_server'),
    full({ name: 'tls10.tls.test', sans: ['tls10.tls.test'] }),
    ['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0'],
  );
  stops.push(() => tls10.stop());
  port.tls10 = tls10.port;
  const names = [
    'valid',
    'expired',
    'future',
    'soon',
    'wrong',
    'self',
    'rsa1024',
    'sha1',
    'noint',
    'old',
    'headers',
    'bare',
    'noorder',
    'norev',
    'tls10',
  ];
  dns = await startDnsStub({
    a: {
      ...Object.fromEntries(names.map((n) => [`${n}.tls.test`, ['127.0.0.1']])),
      'metadata.tls.test': ['169.254.169.254'],
    },
  });
  server = await startInProcess({
    HOST_ROOT: root,
    AUDIT_ALLOWED_PATHS: '/certs',
    DNS_SERVERS: dns.server,
    OUTBOUND_TIMEOUT_MS: '2000',
    RETRY_COUNT: '0',
  });
  client = await connectClient(server.url);
});

afterAll(async () => {
  await client?.close();
  await server?.shutdown('test done');
  await dns?.close();
  for (const s of servers) s.close();
  for (const stop of stops) await stop();
  rmSync(root, { recursive: true, force: true });
});

async function check(targets: string[], extra: Record<string, unknown> = {}): Promise<Result[]> {
  const res = await client.callTool({
    name: 'check_tls',
    arguments: { targets, caFile: '/certs/root.pem', ...extra },
  });
  expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
  return (res.structuredContent as { results: Result[] }).results;
}
const ids = (r: Result | undefined) => (r?.findings ?? []).map((f) => `${f.severity} ${f.id.split(':')[0]}`);
const at = (name: string, host = `${name}.tls.test`) =>
  `https://${host}:${port[name === 'noint' ? 'nointermediate' : name === 'headers' ? 'weakheaders' : name === 'bare' ? 'noheaders' : name]}/`;

describe('check_tls against a local test bed', () => {
  it('passes a correct server: trusted chain, match, TLS 1.2/1.3 only, strong headers, grade A+', async () => {
    const [r] = await check([at('valid')]);
    expect(r?.error).toBeNull();
    expect(ids(r)).toEqual(['info tls.no_ocsp_stapling']);
    expect(r).toMatchObject({ status: 'ok', trusted: true, grade: 'A+', protocol: 'TLSv1.3' });
    // Leaf, intermediate, and the local root it was verified against.
    expect(r?.chain).toHaveLength(3);
    expect(r?.protocols).toEqual({
      TLSv1: 'refused',
      'TLSv1.1': 'refused',
      'TLSv1.2': 'accepted',
      'TLSv1.3': 'accepted',
    });
    expect(r?.certificate).toMatchObject({
      keyBits: 2048,
      signatureAlgorithm: 'sha256WithRSAEncryption',
      sans: ['DNS:valid.tls.test'],
    });
    expect(r?.daysRemaining).toBeGreaterThanOrEqual(88);
    expect(r?.headers?.every((h) => h.verdict === 'good')).toBe(true);
  });

  it('without the local CA the same server is untrusted (T), and says why', async () => {
    const [r] = await check([at('valid')], { caFile: undefined });
    expect(ids(r)).toContain('high tls.untrusted');
    expect(r?.grade).toBe('T');
    expect(r?.gradeReasons).toContain('T: chain not trusted');
  });

  it.each([
    ['expired', 'critical tls.expired'],
    ['future', 'critical tls.not_yet_valid'],
    ['soon', 'critical tls.expiring'],
    ['self', 'high tls.self_signed'],
    ['rsa1024', 'high tls.weak_key'],
    ['sha1', 'high tls.weak_signature.0'],
    ['noint', 'high tls.incomplete_chain'],
    ['old', 'medium tls.old_protocols'],
    ['bare', 'medium headers.strict-transport-security'],
    ['headers', 'low headers.content-security-policy'],
  ])('%s: finds %s', async (name, finding) => {
    const [r] = await check([at(name)]);
    expect(r?.error).toBeNull();
    expect(ids(r)).toContain(finding);
  });

  it('reports a host name mismatch as critical, and only that: the chain itself is trusted', async () => {
    const [r] = await check([at('wrong', 'wrong.tls.test')]);
    const h = r?.findings.find((f) => f.id.startsWith('tls.hostname_mismatch'));
    expect(h?.severity).toBe('critical');
    // Issue 16: Node's verify error for the name was read as "chain not trusted" (a false high).
    expect(ids(r)).not.toContain('high tls.untrusted');
    expect(r?.trusted).toBe(true);
    expect(r?.gradeReasons).toEqual(['T: host name mismatch']);
  });

  it('a TLS 1.0-only server: "TLS 1.2 not offered", old protocols, and grade C as SSL Labs caps it', async () => {
    const [r] = await check([`https://tls10.tls.test:${port.tls10}/`], { checkHeaders: false });
    expect(r?.error).toBeNull();
    expect(r?.protocols).toEqual({
      TLSv1: 'accepted',
      'TLSv1.1': 'refused',
      'TLSv1.2': 'refused',
      'TLSv1.3': 'refused',
    });
    expect(ids(r)).toEqual(expect.arrayContaining(['medium tls.no_tls12', 'medium tls.old_protocols']));
    expect(r?.grade).toBe('C');
    expect(r?.gradeReasons).toContain('C: TLS 1.2 not offered');
  });

  it('a TLS 1.3-capable server without TLS 1.0/1.1 has no "TLS 1.2 not offered" finding', async () => {
    const [r] = await check([at('valid')]);
    expect(ids(r)).not.toContain('medium tls.no_tls12');
  });

  it('finds a server that lets the client choose the cipher, and not one that enforces its order', async () => {
    const [bad, good] = await check([`https://noorder.tls.test:${port.noorder}/`, at('valid')]);
    expect(bad?.cipherOrder).toEqual({ below13: false, tls13: false });
    expect(ids(bad)).toContain('medium tls.no_cipher_order');
    expect(good?.cipherOrder).toEqual({ below13: true, tls13: true });
    expect(ids(good)).not.toContain('medium tls.no_cipher_order');
  });

  it('finds a certificate with neither an OCSP nor a CRL URI, and reads them when present', async () => {
    const [bad, good] = await check([`https://norev.tls.test:${port.norev}/`, at('valid')]);
    expect(ids(bad)).toContain('medium tls.no_revocation_info');
    expect(good?.certificate).toMatchObject({
      ocspUris: ['http://ocsp.tls.test/'],
      crlUris: ['http://crl.tls.test/int.crl'],
    });
    expect(ids(good)).not.toContain('medium tls.no_revocation_info');
  });

  it('grades an expiry within warnDays high, within criticalDays critical', async () => {
    const [r] = await check([at('soon')], { criticalDays: 3, warnDays: 30 });
    expect(ids(r)).toContain('high tls.expiring');
  });

  it('says which old protocols it accepted', async () => {
    const [r] = await check([at('old')]);
    expect(r?.protocols.TLSv1).toBe('accepted');
    expect(r?.protocols['TLSv1.1']).toBe('accepted');
    expect(r?.grade).toBe('B');
  });

  it('checks many targets in one call and keeps going when one fails', async () => {
    const rs = await check([at('valid'), at('expired'), `127.0.0.1:1`, 'metadata.tls.test:443']);
    expect(rs.map((r) => r.status)).toEqual(['ok', 'critical', 'error', 'error']);
    expect(rs[2]?.error).toBe('connection refused: nothing listens on that port');
    expect(rs[3]?.error).toContain('refused: resolves to 169.254.169.254');
  });

  it('says plainly when the port does not speak TLS', async () => {
    const plain = createHttpServer((_req, res) => res.end('hello'));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    try {
      const rs = await check([at('valid'), `127.0.0.1:${(plain.address() as AddressInfo).port}`]);
      expect(rs[1]?.error).toBe(
        'the port does not speak TLS (plain HTTP or another protocol answered the handshake)',
      );
    } finally {
      plain.close();
    }
  });

  it('is a tool error when no target could be checked', async () => {
    const res = await client.callTool({ name: 'check_tls', arguments: { targets: ['169.254.169.254'] } });
    expect(res.isError).toBe(true);
    expect((res.content as Array<{ text: string }>)[0]?.text).toContain('never a target');
    const bad = await client.callTool({
      name: 'check_tls',
      arguments: { targets: ['http://valid.tls.test/'] },
    });
    expect((bad.content as Array<{ text: string }>)[0]?.text).toContain('only https:// URLs or host[:port]');
  });

  it('refuses a CA file outside the allowed paths', async () => {
    const res = await client.callTool({
      name: 'check_tls',
      arguments: { targets: [at('valid')], caFile: '/etc/ssl/certs/ca-certificates.crt' },
    });
    expect(res.isError).toBe(true);
    expect((res.content as Array<{ text: string }>)[0]?.text).toContain('outside the allowed paths');
  });
});
