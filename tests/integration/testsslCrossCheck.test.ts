/**
 * check_tls and testssl.sh (an independent, widely used TLS auditor) judge the same local peers;
 * on every verdict both make they must agree: offered protocols, "TLS 1.2 not offered", expiry,
 * chain trust (judged apart from the host name), host name, self-signed, server cipher order and
 * OCSP/CRL presence. Each peer is built so that some verdicts are "bad", and the test checks that
 * they are (so agreement cannot come from both tools seeing nothing). testssl.sh comes from
 * Debian's package; .ci/run installs it, so under CI its absence fails.
 *
 * testssl.sh is slow (about 80-100 s a run on a busy 2-core machine, mostly bash and openssl
 * forks): runs go two at a time, and the time bounds are many times what one run needs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutbound, type Outbound } from '../../src/net/outbound.js';
import { createLogger } from '../../src/observability/logger.js';
import { checkTlsTool } from '../../src/tools/checkTls.js';
import type { ToolContext } from '../../src/tools/types.js';
import { configFrom } from '../helpers/servers.js';
import { hasBinary } from '../helpers/peers.js';
import { serveOpenssl, serveTls, TlsTestBed } from '../helpers/tlsTestBed.js';

// Debian ships it as testssl; upstream calls it testssl.sh.
const testssl = ['testssl', 'testssl.sh'].find(hasBinary);
if (!testssl && process.env.CI === 'true')
  throw new Error('testssl.sh is not installed: apt-get install testssl.sh (.ci/run does)');

/** One testssl.sh run: far above the ~100 s one takes here, so a loaded machine does not fail it. */
const RUN_TIMEOUT_MS = 900_000;
/** The whole comparison: every run, two at a time, with the same margin. */
const TEST_TIMEOUT_MS = 3_600_000;

const root = mkdtempSync(join(tmpdir(), 'testssl-'));
const servers: Server[] = [];
const stops: Array<() => Promise<void>> = [];
let outbound: Outbound;
let caFile: string;

/** A peer and whether the bed's root CA is trusted when it is judged. */
interface Peer {
  name: string;
  port: number;
  withCa: boolean;
  /** Verdicts this peer is built to fail: both tools must say so. */
  bad: Verdict[];
}
type Verdict =
  | 'untrusted'
  | 'self_signed'
  | 'hostname_mismatch'
  | 'expired'
  | 'old_protocols'
  | 'no_tls12'
  | 'no_cipher_order'
  | 'no_revocation_info';
const VERDICTS: Verdict[] = [
  'untrusted',
  'self_signed',
  'hostname_mismatch',
  'expired',
  'old_protocols',
  'no_tls12',
  'no_cipher_order',
  'no_revocation_info',
];
const peers: Peer[] = [];

beforeAll(async () => {
  const bed = new TlsTestBed(join(root, 'ca'));
  caFile = join(root, 'root.pem');
  writeFileSync(caFile, bed.rootPem);
  const node = async (p: Omit<Peer, 'port'>, o: Parameters<typeof serveTls>[0]) => {
    const s = await serveTls(o);
    servers.push(s.server);
    peers.push({ ...p, port: s.port });
  };
  const chain = (spec: Parameters<TlsTestBed['leaf']>[0]) => {
    const l = bed.leaf(spec);
    return { key: l.key, cert: bed.fullChain(l) };
  };
  // Self-signed for the right name, TLS 1.0 to 1.3, enforces its order.
  await node(
    {
      name: 'self-signed, TLS 1.0+',
      withCa: false,
      bad: ['untrusted', 'self_signed', 'old_protocols', 'no_revocation_info'],
    },
    { ...bed.leaf({ name: 'localhost', sans: ['localhost'], selfSigned: true }), minVersion: 'TLSv1' },
  );
  // A trusted chain issued for another name: the host name is wrong, the chain is not.
  await node(
    { name: 'trusted chain, other name', withCa: true, bad: ['hostname_mismatch'] },
    chain({ name: 'other.test', sans: ['other.test'] }),
  );
  // A correct chain judged without its root; no cipher order; neither OCSP nor CRL.
  await node(
    {
      name: 'unknown CA, client order, no OCSP/CRL',
      withCa: false,
      bad: ['untrusted', 'no_cipher_order', 'no_revocation_info'],
    },
    { ...chain({ name: 'localhost', sans: ['localhost'], revocation: false }), honorCipherOrder: false },
  );
  await node(
    { name: 'expired', withCa: true, bad: ['expired', 'untrusted'] },
    chain({ name: 'localhost', sans: ['localhost'], fromDays: -100, toDays: -2 }),
  );
  // TLS 1.0 only, from openssl s_server (no server preference by default).
  const tls10 = await serveOpenssl(
    join(root, 's_server'),
    chain({ name: 'localhost', sans: ['localhost'] }),
    ['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0'],
  );
  stops.push(() => tls10.stop());
  peers.push({
    name: 'TLS 1.0 only (openssl s_server)',
    port: tls10.port,
    withCa: true,
    bad: ['old_protocols', 'no_tls12', 'no_cipher_order'],
  });
}, 300_000);

afterAll(async () => {
  for (const s of servers) s.close();
  for (const stop of stops) await stop();
  outbound?.close();
  rmSync(root, { recursive: true, force: true });
});

type Item = { id: string; severity: string; finding: string };
async function runTestssl(p: Peer): Promise<Map<string, Item>> {
  const out = join(root, `testssl-${p.port}.json`);
  const ran = await promisify(execFile)(
    testssl as string,
    [
      '--quiet',
      '--warnings',
      'off',
      '--color',
      '0',
      // No DNS beyond A/AAAA: CAA and similar lookups for localhost only wait for timeouts offline.
      '--nodns',
      'min',
      '--jsonfile',
      out,
      '--protocols',
      '--server-defaults',
      '--server-preference',
      ...(p.withCa ? ['--add-ca', caFile] : []),
      '--ip',
      '127.0.0.1',
      `localhost:${p.port}`,
    ],
    // A hang guard only: testssl is a large shell script and takes minutes on a busy machine.
    { timeout: RUN_TIMEOUT_MS },
  ).then(
    () => undefined,
    // testssl exits non-zero when it finds problems; the JSON is what counts, unless it was killed.
    (err: { killed?: boolean; signal?: string }) => err,
  );
  if (ran?.killed)
    throw new Error(`testssl did not finish within ${RUN_TIMEOUT_MS / 60_000} min (killed by ${ran.signal})`);
  return new Map((JSON.parse(readFileSync(out, 'utf8')) as Item[]).map((i) => [i.id, i]));
}

async function ours(p: Peer) {
  const config = configFrom({ AUDIT_ALLOWED_PATHS: root });
  outbound ??= createOutbound(config);
  const ctx = {
    config,
    host: { proc: '/proc', sys: '/sys', root: '/' },
    logger: createLogger('silent'),
    outbound,
    signal: new AbortController().signal,
    progress: async () => {},
  } as unknown as ToolContext;
  const { structured } = await checkTlsTool.handler(
    {
      targets: [`localhost:${p.port}`],
      warnDays: 30,
      criticalDays: 14,
      checkProtocols: true,
      checkHeaders: false,
      ...(p.withCa ? { caFile } : {}),
    },
    ctx,
  );
  return structured.results[0]!;
}

const offered = (i: Item | undefined) => (i?.finding.startsWith('offered') ? 'accepted' : 'refused');

/** testssl.sh's verdicts, in our terms. */
function theirs(t: Map<string, Item>): Record<Verdict, boolean> {
  const f = (id: string) => t.get(id)?.finding ?? '';
  const tls12 = t.get('TLS1_2');
  return {
    untrusted: f('cert_chain_of_trust') !== 'passed.',
    self_signed:
      /self signed\)/.test(f('cert_chain_of_trust')) && !/CA in chain/.test(f('cert_chain_of_trust')),
    hostname_mismatch: !/^Ok/.test(f('cert_trust')),
    expired: f('cert_expirationStatus') === 'expired',
    old_protocols: offered(t.get('TLS1')) === 'accepted' || offered(t.get('TLS1_1')) === 'accepted',
    // "not offered" is MEDIUM without TLS 1.3 and INFO beside it, as our finding.
    no_tls12: tls12?.severity === 'MEDIUM' && /^not offered/.test(tls12.finding),
    no_cipher_order: t.get('cipher_order')?.severity === 'HIGH',
    no_revocation_info: t.has('cert_revocation'),
  };
}

function mine(r: Awaited<ReturnType<typeof ours>>): Record<Verdict, boolean> {
  const ids = new Set(r.findings.map((x) => x.id.split(':')[0]));
  return {
    untrusted: r.trusted === false,
    self_signed: ids.has('tls.self_signed'),
    hostname_mismatch: ids.has('tls.hostname_mismatch'),
    expired: ids.has('tls.expired'),
    old_protocols: ids.has('tls.old_protocols'),
    no_tls12: ids.has('tls.no_tls12'),
    no_cipher_order: ids.has('tls.no_cipher_order'),
    no_revocation_info: ids.has('tls.no_revocation_info'),
  };
}

/** Runs fn over items, `n` at a time, in order. */
async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

describe.skipIf(!testssl)('check_tls agrees with testssl.sh', () => {
  it(
    'on every peer of the bed: protocols, TLS 1.2, expiry, trust, host name, self-signed, cipher order, OCSP/CRL',
    async () => {
      const judged = await pool(peers, 2, async (p) => ({ p, t: await runTestssl(p), o: await ours(p) }));
      const table: string[] = ['| peer | verdict | testssl.sh | check_tls |', '| --- | --- | --- | --- |'];
      const disagreements: string[] = [];
      for (const { p, t, o } of judged) {
        expect(o.error, p.name).toBeNull();
        // Offered protocol versions, one by one.
        expect(o.protocols, p.name).toEqual({
          TLSv1: offered(t.get('TLS1')),
          'TLSv1.1': offered(t.get('TLS1_1')),
          'TLSv1.2': offered(t.get('TLS1_2')),
          'TLSv1.3': offered(t.get('TLS1_3')),
        });
        // Expiry: testssl prints notAfter to the minute in UTC.
        expect(o.certificate?.validTo.slice(0, 16).replace('T', ' '), p.name).toBe(
          t.get('cert_notAfter')?.finding,
        );
        const a = theirs(t);
        const b = mine(o);
        for (const v of VERDICTS) {
          table.push(`| ${p.name} | ${v} | ${a[v]} | ${b[v]} |`);
          if (a[v] !== b[v]) disagreements.push(`${p.name}: ${v}: testssl.sh ${a[v]}, check_tls ${b[v]}`);
          // The peer was built to fail these: an agreement on "fine" would prove nothing.
          if (p.bad.includes(v) !== b[v])
            disagreements.push(
              `${p.name}: ${v}: built ${p.bad.includes(v) ? 'bad' : 'fine'}, check_tls ${b[v]}`,
            );
        }
      }
      console.log(table.join('\n'));
      expect(disagreements).toEqual([]);
      expect(judged).toHaveLength(5);
    },
    TEST_TIMEOUT_MS,
  );
});
