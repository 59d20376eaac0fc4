/**
 * Connects to a TLS server the way a careful client would and records what it saw: the chain,
 * verification against the system CAs (plus an optional CA file), the negotiated protocol and
 * cipher, OCSP stapling, which protocol versions it accepts, and for HTTPS the response headers.
 * Every connection goes to the SSRF-checked address, through the resilience layer.
 */
import { X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import {
  checkServerIdentity,
  connect,
  type ConnectionOptions,
  type DetailedPeerCertificate,
  rootCertificates,
  type TLSSocket,
} from 'node:tls';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityInfoAccessSyntax,
  Certificate,
  CRLDistributionPoints,
  id_ad_ocsp,
  id_ce_cRLDistributionPoints,
  id_pe_authorityInfoAccess,
} from '@peculiar/asn1-x509';
import { judgeSecurityHeaders } from '../audit/http/securityHeaders.js';
import {
  type CertInfo,
  type ProtocolSupport,
  SIGNATURE_ALGORITHMS,
  type TlsFacts,
  TLS_VERSIONS,
  type TlsVersion,
} from '../audit/tls/tlsAnalysis.js';
import type { Resilience } from '../resilience/resilience.js';
import type { ResolvedTarget } from './ssrf.js';
import { timeoutSignal } from '../resilience/timeoutSignal.js';

/** Lets the probe complete handshakes with weak servers so it can report on them. */
const PROBE_CIPHERS = 'DEFAULT:@SECLEVEL=0';

/**
 * Cipher-order probe lists, the ones testssl.sh's run_server_preference offers (forward, then
 * reversed): a server that answers both with the same suite enforces its own order; one that
 * follows the client picks from opposite ends. Names the local OpenSSL lacks are skipped by it.
 */
const ORDER_CIPHERS_FWD = [
  'DHE-RSA-SEED-SHA',
  'SEED-SHA',
  'DES-CBC3-SHA',
  'RC4-MD5',
  'DES-CBC-SHA',
  'RC4-SHA',
  'AES128-SHA',
  'AES128-SHA256',
  'AES256-SHA',
  'ECDHE-RSA-AES128-SHA',
  'DHE-RSA-AES128-SHA',
  'DHE-RSA-AES256-SHA',
  'ECDH-RSA-DES-CBC3-SHA',
  'ECDH-RSA-AES128-SHA',
  'ECDH-RSA-AES256-SHA',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-AES128-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-SHA384',
  'ECDHE-RSA-AES256-SHA',
  'DHE-DSS-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'AES256-SHA256',
  'ECDHE-RSA-DES-CBC3-SHA',
  'ECDHE-RSA-AES128-SHA256',
  'AES256-GCM-SHA384',
  'AES128-GCM-SHA256',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-SHA256',
  'ADH-AES256-GCM-SHA384',
  'AECDH-AES128-SHA',
  'ECDHE-RSA-RC4-SHA',
  'ECDHE-ECDSA-AES128-SHA',
];
/** TLS 1.3 suites, CCM_8 first as testssl.sh sends them; reversed for the second hello. */
const ORDER_SUITES_FWD = [
  'TLS_AES_128_CCM_8_SHA256',
  'TLS_AES_128_CCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_AES_128_GCM_SHA256',
];

export interface TlsTarget {
  /** As given: host, host:port or https://host[:port]/path. */
  input: string;
  host: string;
  port: number;
  path: string;
  https: boolean;
}

export class TargetError extends Error {
  override name = 'TargetError';
}

/** Parses `host`, `host:port`, `[v6]:port` or `https://host[:port]/path`. */
export function parseTlsTarget(input: string): TlsTarget {
  const s = input.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `https://${s}`);
  } catch {
    throw new TargetError(`"${input}" is not a host, host:port or https:// URL`);
  }
  if (url.protocol !== 'https:')
    throw new TargetError(`"${input}": only https:// URLs or host[:port] can be checked for TLS`);
  if (url.username || url.password)
    throw new TargetError(`"${input}": credentials in the URL are not accepted`);
  const port = url.port ? Number(url.port) : 443;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    input: s,
    host,
    port,
    path: `${url.pathname}${url.search}` || '/',
    https: /^https:\/\//i.test(s) || port === 443,
  };
}

export interface ProbeOptions {
  servername?: string;
  ca?: string;
  checkProtocols: boolean;
  checkHeaders: boolean;
  timeoutMs: number;
  signal: AbortSignal;
}

interface Handshake {
  socket: TLSSocket;
  ocsp: Buffer | null | undefined;
}

function handshake(
  resolved: ResolvedTarget,
  port: number,
  servername: string | undefined,
  extra: {
    minVersion?: TlsVersion;
    maxVersion?: TlsVersion;
    ca?: string;
    requestOCSP?: boolean;
    ciphers?: string;
  },
  signal: AbortSignal,
): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    let ocsp: Buffer | null | undefined;
    // requestOCSP is a TLSSocket option that connect() passes on; @types/node omits it here.
    const options: ConnectionOptions & { requestOCSP?: boolean } = {
      host: resolved.address,
      port,
      servername,
      rejectUnauthorized: false,
      // Chain trust only: Node would otherwise report a host-name mismatch as the verify error
      // (ERR_TLS_CERT_ALTNAME_INVALID) and a mismatched but trusted chain would read "untrusted".
      // The name is checked on its own below.
      checkServerIdentity: () => undefined,
      ciphers: extra.ciphers ?? PROBE_CIPHERS,
      minVersion: extra.minVersion ?? 'TLSv1',
      maxVersion: extra.maxVersion ?? 'TLSv1.3',
      ca: extra.ca ? [...rootCertificates, extra.ca] : undefined,
      requestOCSP: extra.requestOCSP ?? false,
    };
    const socket = connect(options);
    const onAbort = () => socket.destroy(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => signal.removeEventListener('abort', onAbort));
    socket.once('OCSPResponse', (r: Buffer) => (ocsp = r));
    socket.once('secureConnect', () => resolve({ socket, ocsp }));
    socket.once('error', (err) => {
      socket.destroy();
      reject(err);
    });
  });
}

function certInfo(c: DetailedPeerCertificate): CertInfo {
  const x = new X509Certificate(c.raw);
  const key = x.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  let sigOid = 'unknown';
  try {
    sigOid = AsnConvert.parse(c.raw, Certificate).signatureAlgorithm.algorithm;
  } catch {
    /* unparsable: reported as unknown */
  }
  const revocation = revocationUris(c.raw);
  const keyType = key.asymmetricKeyType ?? 'unknown';
  const curve = details.namedCurve ?? null;
  return {
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    sans: (x.subjectAltName ?? '').split(', ').filter(Boolean),
    serial: x.serialNumber,
    validFrom: new Date(x.validFrom).toISOString(),
    validTo: new Date(x.validTo).toISOString(),
    keyType,
    keyBits:
      details.modulusLength ?? (curve ? Number(/(\d{3})/.exec(curve)?.[1] ?? Number.NaN) || null : null),
    curve,
    signatureAlgorithm: SIGNATURE_ALGORITHMS[sigOid] ?? sigOid,
    sha256: x.fingerprint256,
    selfIssued: x.subject === x.issuer,
    ...revocation,
  };
}

/** The OCSP responder (AIA) and CRL distribution point URIs a certificate names. */
function revocationUris(raw: Buffer): { ocspUris: string[]; crlUris: string[] } {
  const ocspUris: string[] = [];
  const crlUris: string[] = [];
  try {
    const cert = AsnConvert.parse(raw, Certificate);
    for (const ext of cert.tbsCertificate.extensions ?? []) {
      if (ext.extnID === id_pe_authorityInfoAccess) {
        for (const ad of AsnConvert.parse(ext.extnValue, AuthorityInfoAccessSyntax))
          if (ad.accessMethod === id_ad_ocsp && ad.accessLocation.uniformResourceIdentifier)
            ocspUris.push(ad.accessLocation.uniformResourceIdentifier);
      } else if (ext.extnID === id_ce_cRLDistributionPoints) {
        for (const dp of AsnConvert.parse(ext.extnValue, CRLDistributionPoints))
          for (const n of dp.distributionPoint?.fullName ?? [])
            if (n.uniformResourceIdentifier) crlUris.push(n.uniformResourceIdentifier);
      }
    }
  } catch {
    /* unparsable extensions: reported as none */
  }
  return { ocspUris, crlUris };
}

/** Leaf first, then each issuer: node links them, up to the trust-store root when verified (a root links to itself). */
function chainOf(socket: TLSSocket): CertInfo[] {
  const out: CertInfo[] = [];
  const seen = new Set<string>();
  let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (c && c.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    out.push(certInfo(c));
    c = c.issuerCertificate;
  }
  return out;
}

export async function probeTls(
  target: TlsTarget,
  resolved: ResolvedTarget,
  resilience: Resilience,
  opts: ProbeOptions,
): Promise<TlsFacts> {
  const servername = opts.servername ?? (isIP(target.host) ? undefined : target.host);
  const key = `${resolved.address}:${target.port}`;
  const main = await resilience.guarded(
    'tls',
    key,
    (signal) =>
      handshake(
        resolved,
        target.port,
        servername,
        { ca: opts.ca, requestOCSP: true },
        AbortSignal.any([signal, opts.signal]),
      ),
    { signal: opts.signal },
  );
  const { socket } = main;
  const chain = chainOf(socket);
  const leafRaw = socket.getPeerCertificate(true);
  const identityHost = servername ?? target.host;
  const identityError = leafRaw?.raw ? checkServerIdentity(identityHost, leafRaw) : undefined;
  const facts: TlsFacts = {
    target: target.input,
    host: target.host,
    port: target.port,
    address: resolved.address,
    servername: servername ?? null,
    chain,
    authorized: socket.authorized,
    authorizationError: socket.authorizationError
      ? String((socket.authorizationError as Error & { code?: string }).code ?? socket.authorizationError)
      : null,
    hostnameError: identityError ? identityError.message : null,
    protocol: socket.getProtocol(),
    cipher: socket.getCipher()?.standardName ?? socket.getCipher()?.name ?? null,
    protocols: {},
    cipherOrder: null,
    ocspStapled: main.ocsp === undefined ? null : main.ocsp !== null && main.ocsp.length > 0,
    headers: null,
  };
  socket.destroy();

  if (opts.checkProtocols) {
    const results = await Promise.all(
      TLS_VERSIONS.map(async (v): Promise<[TlsVersion, ProtocolSupport]> => {
        try {
          const h = await handshake(
            resolved,
            target.port,
            servername,
            { minVersion: v, maxVersion: v },
            timeoutSignal(opts.timeoutMs, opts.signal),
          );
          h.socket.destroy();
          return [v, 'accepted'];
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? '';
          // The local OpenSSL cannot speak it at all: no verdict on the server.
          if (code === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE' || code === 'ERR_TLS_INVALID_PROTOCOL_VERSION')
            return [v, 'cannot_test'];
          return [v, 'refused'];
        }
      }),
    );
    facts.protocols = Object.fromEntries(results);
    facts.cipherOrder = await cipherOrder(resolved, target.port, servername, facts.protocols, opts);
  }
  if (opts.checkHeaders && target.https) {
    try {
      const headers = await resilience.guarded(
        'https',
        key,
        (signal) => fetchHeaders(target, resolved, servername, AbortSignal.any([signal, opts.signal])),
        {
          signal: opts.signal,
        },
      );
      facts.headers = judgeSecurityHeaders(headers, { https: true });
    } catch {
      facts.headers = null; // reported by the caller as "headers not checked"
    }
  }
  return facts;
}

/**
 * Whether the server enforces its own cipher order, as testssl.sh tests it: two hellos with the
 * same suites in opposite orders, at the best protocol below TLS 1.3 the server accepts, and
 * again at TLS 1.3. null where that protocol is not offered or no offered suite matched.
 */
async function cipherOrder(
  resolved: ResolvedTarget,
  port: number,
  servername: string | undefined,
  protocols: TlsFacts['protocols'],
  opts: ProbeOptions,
): Promise<TlsFacts['cipherOrder']> {
  const pick = async (v: TlsVersion, list: string[]): Promise<string | null> => {
    try {
      const h = await handshake(
        resolved,
        port,
        servername,
        {
          minVersion: v === 'TLSv1.3' ? v : 'TLSv1',
          maxVersion: v,
          // A TLS 1.3 list holds suites only: a security level alone would be an empty TLS 1.2 list.
          ciphers: v === 'TLSv1.3' ? list.join(':') : `${list.join(':')}:@SECLEVEL=0`,
        },
        timeoutSignal(opts.timeoutMs, opts.signal),
      );
      const c = h.socket.getCipher();
      h.socket.destroy();
      return c?.standardName ?? c?.name ?? null;
    } catch {
      opts.signal.throwIfAborted();
      return null;
    }
  };
  const enforced = async (v: TlsVersion, fwd: string[]): Promise<boolean | null> => {
    const first = await pick(v, fwd);
    if (first === null) return null;
    const second = await pick(v, [...fwd].reverse());
    return second === null ? null : first === second;
  };
  const below13 = (['TLSv1.2', 'TLSv1.1', 'TLSv1'] as const).find((v) => protocols[v] === 'accepted');
  const [tls12, tls13] = await Promise.all([
    below13 ? enforced(below13, ORDER_CIPHERS_FWD) : null,
    protocols['TLSv1.3'] === 'accepted' ? enforced('TLSv1.3', ORDER_SUITES_FWD) : null,
  ]);
  return { below13: below13 ? tls12 : null, tls13 };
}

/** GET the path over TLS to the checked address and keep only the response headers. */
function fetchHeaders(
  target: TlsTarget,
  resolved: ResolvedTarget,
  servername: string | undefined,
  signal: AbortSignal,
): Promise<Record<string, string | string[] | undefined>> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: resolved.address,
        port: target.port,
        path: target.path,
        method: 'GET',
        servername,
        headers: {
          host: target.port === 443 ? target.host : `${target.host}:${target.port}`,
          'user-agent': 'server-audit-mcp check_tls',
        },
        rejectUnauthorized: false,
        ciphers: PROBE_CIPHERS,
        signal,
      },
      (res) => {
        resolve(res.headers);
        res.destroy();
      },
    );
    req.on('error', reject);
    req.end();
  });
}
