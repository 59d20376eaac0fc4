import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHttp } from '../../src/runtime.js';
import { connectClient, startInProcess } from '../helpers/servers.js';
import { GOOD_HEADERS, serveTls, TlsTestBed } from '../helpers/tlsTestBed.js';

type Out = {
  results: Array<{
    url: string;
    finalUrl: string | null;
    status: number | null;
    redirects: Array<{ status: number; location: string }>;
    timings: {
      dnsMs: number;
      connectMs: number | null;
      tlsMs: number | null;
      firstByteMs: number;
      totalMs: number;
    } | null;
    bytes: number | null;
    outcome: string;
    error: string | null;
    findings: Array<{ id: string; severity: string }>;
  }>;
  status: string;
};

const root = mkdtempSync(join(tmpdir(), 'http-it-'));
let web: Server;
let base = '';
let httpsUrl = '';
let failures = 0;
const closers: Array<() => void> = [];
let server: RunningHttp;
let client: Client;

beforeAll(async () => {
  web = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/ok') {
      res.writeHead(200, { 'content-type': 'text/plain', ...GOOD_HEADERS });
      res.end('x'.repeat(1234));
    } else if (path === '/moved') {
      res.writeHead(301, { location: '/ok' });
      res.end();
    } else if (path === '/to-creds') {
      // A redirect carrying credentials in its user info (seen in the wild on misconfigured proxies).
      res.writeHead(302, { location: `${base.replace('http://', 'http://admin:s3cret-pw@')}/ok` });
      res.end();
    } else if (path === '/creds-loop') {
      res.writeHead(302, { location: `${base.replace('http://', 'http://admin:s3cret-pw@')}/creds-loop` });
      res.end();
    } else if (path === '/loop') {
      res.writeHead(302, { location: '/loop' });
      res.end();
    } else if (path === '/to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      res.end();
    } else if (path === '/to-decimal-metadata') {
      res.writeHead(302, { location: 'http://2852039166/' });
      res.end();
    } else if (path === '/flaky') {
      // Fails twice, then answers: retried to success.
      if (++failures <= 2) {
        res.writeHead(503);
        res.end();
      } else {
        res.writeHead(200, GOOD_HEADERS);
        res.end('ok');
      }
    } else if (path === '/broken') {
      res.writeHead(500);
      res.end('boom');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  base = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
  const bed = new TlsTestBed(join(root, 'ca'));
  const leaf = bed.leaf({ name: 'localhost', sans: ['localhost', '127.0.0.1'] });
  const tls = await serveTls({ key: leaf.key, cert: bed.fullChain(leaf) });
  closers.push(() => tls.server.close());
  httpsUrl = `https://localhost:${tls.port}/`;
  server = await startInProcess({
    OUTBOUND_TIMEOUT_MS: '1000',
    RETRY_COUNT: '2',
    RETRY_MIN_MS: '10',
    RETRY_MAX_MS: '20',
  });
  client = await connectClient(server.url);
});
afterAll(async () => {
  await client?.close();
  await server?.shutdown('test done');
  web?.close();
  for (const c of closers) c();
  rmSync(root, { recursive: true, force: true });
});

async function http(args: Record<string, unknown>): Promise<Out> {
  const res = await client.callTool({ name: 'check_http', arguments: args });
  expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
  return res.structuredContent as Out;
}
const ids = (r: Out['results'][number] | undefined) =>
  (r?.findings ?? []).map((f) => `${f.severity} ${f.id.split(':')[0]}`);

describe('check_http against local servers', () => {
  it('follows a redirect, times each phase, counts the body and judges headers', async () => {
    const o = await http({ urls: [`${base}/moved`], expectStatus: 200 });
    const r = o.results[0];
    expect(r).toMatchObject({
      status: 200,
      finalUrl: `${base}/ok`,
      bytes: 1234,
      redirects: [{ status: 301, location: `${base}/ok` }],
    });
    expect(r?.timings?.connectMs).not.toBeNull();
    expect(r?.timings?.tlsMs).toBeNull();
    expect(r?.timings?.totalMs).toBeGreaterThanOrEqual(r?.timings?.firstByteMs ?? 0);
    // Plain HTTP is the only thing wrong: HSTS is not asked of http.
    expect(ids(r)).toEqual(['medium http.plaintext']);
  });

  it('never echoes user:password from a Location header (redirects, final URL, findings, errors)', async () => {
    const res = await client.callTool({
      name: 'check_http',
      arguments: { urls: [`${base}/to-creds`, `${base}/creds-loop`], maxRedirects: 2 },
    });
    const everything = JSON.stringify(res);
    expect(everything).not.toContain('s3cret-pw');
    expect(everything).not.toContain('admin:');
    const o = res.structuredContent as Out;
    const shown = base.replace('http://', 'http://redacted@');
    expect(o.results[0]).toMatchObject({
      status: 200,
      finalUrl: `${shown}/ok`,
      redirects: [{ status: 302, location: `${shown}/ok` }],
    });
    expect(o.results[1]?.redirects[0]?.location).toBe(`${shown}/creds-loop`);
    expect(ids(o.results[1])).toContain('high http.too_many_redirects');
  });

  it('retries a 503 twice and then reports the answer', async () => {
    const o = await http({ urls: [`${base}/flaky`] });
    expect(o.results[0]?.status).toBe(200);
    expect(failures).toBe(3);
  });

  it('reports a persistent 500, an unexpected status and a redirect loop', async () => {
    const o = await http({
      urls: [`${base}/broken`, `${base}/nope`, `${base}/loop`],
      expectStatus: 200,
      maxRedirects: 3,
    });
    expect(ids(o.results[0])).toContain('high http.unexpected_status');
    expect(ids(o.results[1])).toContain('high http.unexpected_status');
    expect(ids(o.results[2])).toContain('high http.too_many_redirects');
    expect(o.results[2]?.redirects).toHaveLength(4);
    const plain = await http({ urls: [`${base}/broken`] });
    expect(ids(plain.results[0])).toContain('high http.server_error');
  });

  it.each(['/to-metadata', '/to-decimal-metadata'])(
    'refuses a redirect to the metadata service (%s)',
    async (path) => {
      const res = await client.callTool({ name: 'check_http', arguments: { urls: [`${base}${path}`] } });
      expect(res.isError).toBe(true);
      expect((res.content as Array<{ text: string }>)[0]?.text).toContain(
        'after 1 redirect(s) to http://169.254.169.254/',
      );
      expect((res.content as Array<{ text: string }>)[0]?.text).toContain('never a target');
    },
  );

  it('times TLS and flags a certificate clients would not trust', async () => {
    const o = await http({ urls: [httpsUrl] });
    const r = o.results[0];
    expect(r?.status).toBe(200);
    expect(r?.timings?.tlsMs).not.toBeNull();
    expect(ids(r)).toEqual(['high http.tls_untrusted']);
    expect(ids(r)).not.toContain('medium http.plaintext');
  });

  it('answers a dead port and a bad URL with actionable errors', async () => {
    const dead = await client.callTool({ name: 'check_http', arguments: { urls: ['http://127.0.0.1:1/'] } });
    expect((dead.content as Array<{ text: string }>)[0]?.text).toBe(
      'http://127.0.0.1:1/: connection refused',
    );
    const bad = await client.callTool({ name: 'check_http', arguments: { urls: ['ftp://127.0.0.1/'] } });
    expect(bad.isError).toBe(true);
    expect((bad.content as Array<{ text: string }>)[0]?.text).toContain('must be an http:// or https:// URL');
  });
});
