/**
 * A TLS test bed made at test time with the openssl CLI: a root CA, an intermediate, and leaf
 * certificates for every case check_tls must recognise, served by node:https servers on
 * 127.0.0.1. Nothing here reaches beyond loopback.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { freePort, waitForPort } from './peers.js';

const openssl = (dir: string, args: string[]) =>
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

/** YYYYMMDDHHMMSSZ, as `openssl ca -startdate/-enddate` want it. */
const asn1Time = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
const DAY = 86_400_000;

export interface LeafSpec {
  name: string;
  sans: string[];
  fromDays?: number;
  toDays?: number;
  bits?: number;
  md?: 'sha256' | 'sha1';
  selfSigned?: boolean;
  /** Name an OCSP responder and a CRL in the leaf, as public CAs do (default true; CA-issued only). */
  revocation?: boolean;
}

export interface Leaf {
  key: string;
  cert: string;
}

export class TlsTestBed {
  readonly rootPem: string;
  private readonly intKey: string;
  private readonly intPem: string;
  private serial = 0;

  constructor(private readonly dir: string) {
    mkdirSync(join(dir, 'newcerts'), { recursive: true });
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), '1000\n');
    writeFileSync(
      join(dir, 'ca.cnf'),
      [
        '[ca]',
        'default_ca = local',
        '[local]',
        `dir = ${dir}`,
        'database = $dir/index.txt',
        'new_certs_dir = $dir/newcerts',
        'serial = $dir/serial',
        'policy = any',
        'default_md = sha256',
        'unique_subject = no',
        'copy_extensions = none',
        '[any]',
        'commonName = supplied',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'ca.ext'),
      'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n',
    );
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'root.key',
      '-out',
      'root.pem',
      '-subj',
      '/CN=Test Root CA',
      '-days',
      '3650',
      '-sha256',
      '-addext',
      'basicConstraints=critical,CA:true',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    openssl(dir, [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'int.key',
      '-out',
      'int.csr',
      '-subj',
      '/CN=Test Intermediate CA',
    ]);
    this.sign('int', 'root', 'ca.ext', -1, 1000, 'sha256');
    this.rootPem = readFileSync(join(dir, 'root.pem'), 'utf8');
    this.intKey = readFileSync(join(dir, 'int.key'), 'utf8');
    this.intPem = readFileSync(join(dir, 'int.pem'), 'utf8');
  }

  private sign(
    name: string,
    issuer: string,
    ext: string,
    fromDays: number,
    toDays: number,
    md: string,
  ): void {
    const now = Date.now();
    openssl(this.dir, [
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-notext',
      '-cert',
      `${issuer}.pem`,
      '-keyfile',
      `${issuer}.key`,
      '-in',
      `${name}.csr`,
      '-out',
      `${name}.pem`,
      '-extfile',
      ext,
      '-md',
      md,
      '-startdate',
      asn1Time(now + fromDays * DAY),
      '-enddate',
      asn1Time(now + toDays * DAY),
    ]);
  }

  leaf(spec: LeafSpec): Leaf {
    const id = `leaf${++this.serial}`;
    const dir = this.dir;
    const bits = spec.bits ?? 2048;
    const san = spec.sans.map((s) => (/^[\d.]+$/.test(s) ? `IP:${s}` : `DNS:${s}`)).join(',');
    if (spec.selfSigned) {
      openssl(dir, [
        'req',
        '-x509',
        '-newkey',
        `rsa:${bits}`,
        '-nodes',
        '-keyout',
        `${id}.key`,
        '-out',
        `${id}.pem`,
        '-subj',
        `/CN=${spec.name}`,
        '-days',
        '90',
        `-${spec.md ?? 'sha256'}`,
        '-addext',
        `subjectAltName=${san}`,
      ]);
    } else {
      writeFileSync(
        join(dir, `${id}.ext`),
        `basicConstraints=CA:false\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n` +
          (spec.revocation === false
            ? ''
            : 'authorityInfoAccess=OCSP;URI:http://ocsp.tls.test/\ncrlDistributionPoints=URI:http://crl.tls.test/int.crl\n'),
      );
      openssl(dir, [
        'req',
        '-newkey',
        `rsa:${bits}`,
        '-nodes',
        '-keyout',
        `${id}.key`,
        '-out',
        `${id}.csr`,
        '-subj',
        `/CN=${spec.name}`,
      ]);
      this.sign(id, 'int', `${id}.ext`, spec.fromDays ?? -1, spec.toDays ?? 90, spec.md ?? 'sha256');
    }
    return {
      key: readFileSync(join(dir, `${id}.key`), 'utf8'),
      cert: readFileSync(join(dir, `${id}.pem`), 'utf8'),
    };
  }

  /** The leaf with its intermediate, as a correctly configured server sends it. */
  fullChain(leaf: Leaf): string {
    return leaf.cert + this.intPem;
  }

  get intermediate(): { key: string; cert: string } {
    return { key: this.intKey, cert: this.intPem };
  }
}

export const GOOD_HEADERS: Record<string, string> = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'permissions-policy': 'camera=(), microphone=()',
};

/** An HTTPS server on 127.0.0.1 with the given certificate (chain) and response headers. */
export async function serveTls(opts: {
  key: string;
  cert: string;
  minVersion?: 'TLSv1' | 'TLSv1.2';
  maxVersion?: 'TLSv1' | 'TLSv1.2' | 'TLSv1.3';
  /** Enforce the server's cipher order (default true, as a well-configured server does). */
  honorCipherOrder?: boolean;
  headers?: Record<string, string>;
}): Promise<{ server: Server; port: number }> {
  const server = createServer(
    {
      key: opts.key,
      cert: opts.cert,
      minVersion: opts.minVersion ?? 'TLSv1.2',
      maxVersion: opts.maxVersion ?? 'TLSv1.3',
      honorCipherOrder: opts.honorCipherOrder ?? true,
      // Old protocols and weak keys need the lowest security level to be served at all.
      ciphers: 'DEFAULT:@SECLEVEL=0',
    },
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', ...(opts.headers ?? GOOD_HEADERS) });
      res.end('<h1>ok</h1>');
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * `openssl s_server -www` on 127.0.0.1: a TLS peer that is not Node, for what Node will not serve
 * (only TLS 1.0, say). `args` are extra s_server flags, e.g. ['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0'].
 */
export async function serveOpenssl(
  dir: string,
  leaf: { key: string; cert: string },
  args: string[],
): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `s_server-${port}.key`), leaf.key);
  // s_server -cert reads one certificate; the intermediates go to -cert_chain.
  const [first, ...rest] = leaf.cert.split(/(?<=-----END CERTIFICATE-----\n?)/).filter((p) => p.trim());
  writeFileSync(join(dir, `s_server-${port}.pem`), first ?? '');
  writeFileSync(join(dir, `s_server-${port}.chain.pem`), rest.join(''));
  if (rest.length > 0) args = ['-cert_chain', join(dir, `s_server-${port}.chain.pem`), ...args];
  const child = spawn(
    'openssl',
    [
      's_server',
      '-accept',
      `127.0.0.1:${port}`,
      '-key',
      join(dir, `s_server-${port}.key`),
      '-cert',
      join(dir, `s_server-${port}.pem`),
      '-www',
      '-quiet',
      ...args,
    ],
    { stdio: 'ignore' },
  );
  await waitForPort(port, 30_000);
  return {
    port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
