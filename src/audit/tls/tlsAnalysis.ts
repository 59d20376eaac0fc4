/** Pure judgement of what a TLS probe saw: certificate, chain, protocols, headers -> findings and a grade. */
import { type Finding, subjectFindings } from '../findings.js';
import { headerFindings, type HeaderReport } from '../http/securityHeaders.js';

export interface CertInfo {
  subject: string;
  issuer: string;
  sans: string[];
  serial: string;
  validFrom: string;
  validTo: string;
  keyType: string;
  /** RSA/DSA modulus bits, EC curve size. */
  keyBits: number | null;
  curve: string | null;
  signatureAlgorithm: string;
  sha256: string;
  selfIssued: boolean;
  /** OCSP responder URIs from Authority Information Access. */
  ocspUris: string[];
  /** CRL distribution point URIs. */
  crlUris: string[];
}

export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];
export type ProtocolSupport = 'accepted' | 'refused' | 'cannot_test';

export interface TlsFacts {
  target: string;
  host: string;
  port: number;
  address: string;
  servername: string | null;
  /** Leaf first. */
  chain: CertInfo[];
  authorized: boolean;
  /** OpenSSL's verification error code, e.g. CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT. */
  authorizationError: string | null;
  hostnameError: string | null;
  protocol: string | null;
  cipher: string | null;
  protocols: Partial<Record<TlsVersion, ProtocolSupport>>;
  /**
   * Whether the server picks the suite by its own order (true) or the client's (false), below
   * TLS 1.3 and at TLS 1.3; null per field when not tested or not offered. Null when protocols
   * were not probed.
   */
  cipherOrder: { below13: boolean | null; tls13: boolean | null } | null;
  ocspStapled: boolean | null;
  headers: HeaderReport[] | null;
}

/** Signature algorithm OIDs to names; SHA-1 and MD5 ones are weak. */
export const SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'rsassaPss',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.2.840.10040.4.3': 'dsa-with-SHA1',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};
const WEAK_SIGNATURE = /sha1|md5/i;

const SELF_SIGNED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);
const INCOMPLETE = new Set([
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
]);
const DATE_ERRORS = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

export interface TlsVerdict {
  findings: Finding[];
  daysRemaining: number | null;
  grade: string;
  gradeReasons: string[];
}

export function analyzeTls(
  f: TlsFacts,
  opts: { now: Date; warnDays: number; criticalDays: number },
): TlsVerdict {
  const findings: Finding[] = [];
  const caps: Array<[string, string]> = [];
  const t = f.target;
  const leaf = f.chain[0];
  const add = subjectFindings(t, findings);
  let daysRemaining: number | null = null;

  if (leaf) {
    const notAfter = Date.parse(leaf.validTo);
    const notBefore = Date.parse(leaf.validFrom);
    daysRemaining = Math.floor((notAfter - opts.now.getTime()) / 86_400_000);
    const renew =
      'Renew the certificate (certbot renew, or your CA) and reload the server; automate renewal.';
    if (opts.now.getTime() > notAfter) {
      add(
        'tls.expired',
        'critical',
        `certificate expired ${-daysRemaining} day(s) ago`,
        `notAfter ${leaf.validTo}`,
        renew,
      );
      caps.push(['T', 'certificate expired']);
    } else if (opts.now.getTime() < notBefore) {
      add(
        'tls.not_yet_valid',
        'critical',
        'certificate is not valid yet',
        `notBefore ${leaf.validFrom}`,
        'Check the server clock and the certificate dates; reissue if they are wrong.',
      );
      caps.push(['T', 'certificate not yet valid']);
    } else if (daysRemaining < opts.criticalDays) {
      add(
        'tls.expiring',
        'critical',
        `certificate expires in ${daysRemaining} day(s)`,
        `notAfter ${leaf.validTo}`,
        renew,
      );
    } else if (daysRemaining < opts.warnDays) {
      add(
        'tls.expiring',
        'high',
        `certificate expires in ${daysRemaining} days`,
        `notAfter ${leaf.validTo}`,
        renew,
      );
    }
    if (f.hostnameError) {
      add(
        'tls.hostname_mismatch',
        'critical',
        'certificate does not match the host name',
        f.hostnameError,
        `Issue a certificate whose SANs include ${f.servername ?? f.host}, or point the name at the right server.`,
      );
      caps.push(['T', 'host name mismatch']);
    }
    const err = f.authorizationError;
    if (err && !DATE_ERRORS.has(err)) {
      if (SELF_SIGNED.has(err) && f.chain.length === 1) {
        add(
          'tls.self_signed',
          'high',
          'self-signed certificate',
          `${err}: subject ${leaf.subject}`,
          "Use a certificate from a public CA (e.g. Let's Encrypt); clients cannot verify a self-signed one.",
        );
        caps.push(['T', 'self-signed']);
      } else if (INCOMPLETE.has(err) && !leaf.selfIssued && f.chain.length === 1) {
        // The server sent the leaf alone: its intermediate is missing (a longer chain with an
        // unknown root is an untrusted CA instead).
        add(
          'tls.incomplete_chain',
          'high',
          'certificate chain is incomplete or untrusted',
          `${err}: the server sent ${f.chain.length} certificate(s); issuer ${leaf.issuer}`,
          'Serve the full chain (leaf + intermediates: fullchain.pem with certbot; ssl_certificate in nginx takes the chain).',
        );
        caps.push(['T', 'chain not trusted']);
      } else {
        add(
          'tls.untrusted',
          'high',
          'certificate chain is not trusted',
          `${err}: issuer ${leaf.issuer}`,
          'Use a certificate from a CA the clients trust, and serve its intermediates.',
        );
        caps.push(['T', 'chain not trusted']);
      }
    }
    for (const [i, c] of f.chain.entries()) {
      // A root's own signature is never checked by clients; only the leaf and intermediates count.
      const isRoot = c.selfIssued && i > 0;
      if (!isRoot && WEAK_SIGNATURE.test(c.signatureAlgorithm)) {
        add(
          `tls.weak_signature.${i}`,
          'high',
          `${i === 0 ? 'certificate' : 'intermediate'} signed with ${c.signatureAlgorithm}`,
          `${c.subject}: ${c.signatureAlgorithm}`,
          'Reissue with a SHA-256 (or better) signature; SHA-1 signatures can be forged.',
        );
        caps.push(['B', 'SHA-1/MD5 signature in the chain']);
      }
    }
    if (leaf.ocspUris.length === 0 && leaf.crlUris.length === 0) {
      // testssl.sh flags this too: with neither, no client can learn the certificate was revoked.
      add(
        'tls.no_revocation_info',
        leaf.selfIssued ? 'low' : 'medium',
        'certificate names neither an OCSP responder nor a CRL',
        `${leaf.subject}: no Authority Information Access OCSP URI and no CRL Distribution Points`,
        leaf.selfIssued
          ? 'A self-signed certificate cannot be revoked; replace it with one from a CA that publishes OCSP or a CRL.'
          : 'Reissue from a CA that puts an OCSP URI (Authority Information Access) or a CRL Distribution Point in its certificates.',
      );
    }
    if (leaf.keyType === 'rsa' && leaf.keyBits !== null && leaf.keyBits < 2048) {
      add(
        'tls.weak_key',
        'high',
        `RSA key of ${leaf.keyBits} bits`,
        `${leaf.subject}: rsa ${leaf.keyBits}`,
        'Reissue with RSA 2048+ or an ECDSA P-256 key.',
      );
      caps.push([leaf.keyBits < 1024 ? 'F' : 'B', `RSA key ${leaf.keyBits} bits`]);
    }
    if (leaf.keyType === 'ec' && leaf.keyBits !== null && leaf.keyBits < 256) {
      add(
        'tls.weak_key',
        'high',
        `EC key of ${leaf.keyBits} bits`,
        `${leaf.subject}: ${leaf.curve}`,
        'Reissue with an ECDSA P-256 (or larger) key.',
      );
      caps.push(['B', `EC key ${leaf.keyBits} bits`]);
    }
  }

  const old = (['TLSv1', 'TLSv1.1'] as const).filter((v) => f.protocols[v] === 'accepted');
  if (old.length > 0) {
    add(
      'tls.old_protocols',
      'medium',
      `accepts ${old.join(' and ')}`,
      `server accepted a ${old.join('/')} handshake`,
      'Allow only TLS 1.2 and 1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3; Apache: SSLProtocol -all +TLSv1.2 +TLSv1.3).',
    );
    caps.push(['B', `${old.join('/')} accepted`]);
  }
  if (f.protocols['TLSv1.2'] === 'refused' && f.protocols['TLSv1.3'] !== 'accepted') {
    // SSL Labs caps a server without TLS 1.2 at C (since 2015); a TLS 1.3-only server is not capped.
    add(
      'tls.no_tls12',
      'medium',
      'TLS 1.2 not offered (nor TLS 1.3)',
      `server refused a TLS 1.2 handshake; accepted: ${acceptedList(f)}`,
      'Enable TLS 1.2 and 1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3; Apache: SSLProtocol -all +TLSv1.2 +TLSv1.3); upgrade the TLS library if it cannot.',
    );
    caps.push(['C', 'TLS 1.2 not offered']);
  }
  if (f.protocols['TLSv1.3'] === 'refused') caps.push(['A-', 'no TLS 1.3']);
  if (f.cipherOrder?.below13 === false) {
    // Below TLS 1.3 the offered suites differ in strength and forward secrecy: the server's
    // preference must win. At TLS 1.3 every suite is strong, so client order is fine there.
    add(
      'tls.no_cipher_order',
      'medium',
      'server does not enforce its cipher order',
      `two hellos offering the same suites in opposite orders got different suites (${f.cipherOrder.tls13 === true ? 'below TLS 1.3; TLS 1.3 has an order' : 'client decides'})`,
      'Make the server choose (nginx: ssl_prefer_server_ciphers on; Apache: SSLHonorCipherOrder on; Node: honorCipherOrder: true) and list strong AEAD suites first.',
    );
  }
  if (f.ocspStapled === false && leaf && !leaf.selfIssued) {
    add(
      'tls.no_ocsp_stapling',
      'info',
      'no OCSP stapling',
      'the server sent no stapled OCSP response',
      'Enable stapling (nginx: ssl_stapling on; ssl_stapling_verify on;) so clients need not ask the CA.',
    );
  }
  if (f.headers) {
    findings.push(...headerFindings(f.headers, t));
    const hsts = f.headers.find((h) => h.name === 'Strict-Transport-Security');
    if (hsts && hsts.verdict !== 'good')
      caps.push(['A', 'no strong HSTS (A+ needs max-age >= 180 days and includeSubDomains)']);
  }
  return { findings, daysRemaining, ...grade(caps, f.headers !== null) };
}

function acceptedList(f: TlsFacts): string {
  const ok = TLS_VERSIONS.filter((v) => f.protocols[v] === 'accepted');
  return ok.length > 0 ? ok.join(', ') : 'none';
}

const ORDER = ['A+', 'A', 'A-', 'B', 'C', 'F', 'T'];

/** SSL Labs-style: start at A+ (A without headers checked), take the worst cap, say why. */
function grade(
  caps: Array<[string, string]>,
  headersChecked: boolean,
): { grade: string; gradeReasons: string[] } {
  let g = headersChecked ? 'A+' : 'A';
  if (!headersChecked) caps.push(['A', 'headers not checked']);
  for (const [cap] of caps) if (ORDER.indexOf(cap) > ORDER.indexOf(g)) g = cap;
  const reasons = [...caps]
    .sort((a, b) => ORDER.indexOf(b[0]) - ORDER.indexOf(a[0]))
    .map(([cap, why]) => `${cap}: ${why}`);
  return { grade: g, gradeReasons: [...new Set(reasons)] };
}
