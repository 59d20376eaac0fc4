/**
 * Security headers judged for quality, not only presence: an HSTS of a day or a CSP with
 * 'unsafe-inline' is reported as weak. Shared by check_tls (for HTTPS targets) and check_http.
 */
import type { Finding } from '../findings.js';

export interface HeaderReport {
  name: string;
  value: string | null;
  verdict: 'good' | 'weak' | 'missing';
  note: string;
}

const HALF_YEAR = 15_552_000;

function get(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const v = headers[name.toLowerCase()];
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : v;
}

export function judgeSecurityHeaders(
  headers: Record<string, string | string[] | undefined>,
  opts: { https: boolean },
): HeaderReport[] {
  const out: HeaderReport[] = [];
  const hsts = get(headers, 'strict-transport-security');
  if (opts.https) {
    if (!hsts)
      out.push({
        name: 'Strict-Transport-Security',
        value: null,
        verdict: 'missing',
        note: 'browsers may be downgraded to http',
      });
    else {
      const maxAge = Number(/max-age\s*=\s*"?(\d+)/i.exec(hsts)?.[1] ?? Number.NaN);
      const sub = /includesubdomains/i.test(hsts);
      if (!Number.isFinite(maxAge))
        out.push({
          name: 'Strict-Transport-Security',
          value: hsts,
          verdict: 'weak',
          note: 'no valid max-age',
        });
      else if (maxAge < HALF_YEAR)
        out.push({
          name: 'Strict-Transport-Security',
          value: hsts,
          verdict: 'weak',
          note: `max-age ${maxAge} s is under 180 days`,
        });
      else if (!sub)
        out.push({
          name: 'Strict-Transport-Security',
          value: hsts,
          verdict: 'weak',
          note: 'no includeSubDomains',
        });
      else
        out.push({
          name: 'Strict-Transport-Security',
          value: hsts,
          verdict: 'good',
          note: `max-age ${maxAge} s, includeSubDomains`,
        });
    }
  }
  const csp = get(headers, 'content-security-policy');
  if (!csp)
    out.push({
      name: 'Content-Security-Policy',
      value: null,
      verdict: 'missing',
      note: 'no policy against injected scripts',
    });
  else {
    const problems: string[] = [];
    if (/'unsafe-inline'/i.test(csp)) problems.push("'unsafe-inline'");
    if (/'unsafe-eval'/i.test(csp)) problems.push("'unsafe-eval'");
    if (/(^|[\s;])(default-src|script-src)[^;]*(\s\*(\s|;|$)|\s(https?:|data:)(\s|;|$))/i.test(csp))
      problems.push('a wildcard or scheme-wide script source');
    if (!/(default-src|script-src)/i.test(csp)) problems.push('no default-src or script-src');
    out.push(
      problems.length > 0
        ? {
            name: 'Content-Security-Policy',
            value: csp,
            verdict: 'weak',
            note: `allows ${problems.join(', ')}`,
          }
        : { name: 'Content-Security-Policy', value: csp, verdict: 'good', note: 'restricts script sources' },
    );
  }
  const xcto = get(headers, 'x-content-type-options');
  out.push(
    xcto && /nosniff/i.test(xcto)
      ? { name: 'X-Content-Type-Options', value: xcto, verdict: 'good', note: 'nosniff' }
      : {
          name: 'X-Content-Type-Options',
          value: xcto,
          verdict: xcto ? 'weak' : 'missing',
          note: 'should be nosniff',
        },
  );
  const xfo = get(headers, 'x-frame-options');
  const frameAncestors = csp && /frame-ancestors/i.test(csp);
  out.push(
    xfo && /^(deny|sameorigin)$/i.test(xfo.trim())
      ? { name: 'X-Frame-Options', value: xfo, verdict: 'good', note: xfo }
      : frameAncestors
        ? { name: 'X-Frame-Options', value: xfo, verdict: 'good', note: 'CSP frame-ancestors is set' }
        : {
            name: 'X-Frame-Options',
            value: xfo,
            verdict: xfo ? 'weak' : 'missing',
            note: 'clickjacking protection (DENY, SAMEORIGIN or CSP frame-ancestors)',
          },
  );
  const rp = get(headers, 'referrer-policy');
  out.push(
    !rp
      ? {
          name: 'Referrer-Policy',
          value: null,
          verdict: 'missing',
          note: 'full URLs may leak to other sites',
        }
      : /unsafe-url|no-referrer-when-downgrade/i.test(rp)
        ? { name: 'Referrer-Policy', value: rp, verdict: 'weak', note: 'leaks full URLs' }
        : { name: 'Referrer-Policy', value: rp, verdict: 'good', note: rp },
  );
  const pp = get(headers, 'permissions-policy');
  out.push(
    pp
      ? { name: 'Permissions-Policy', value: pp, verdict: 'good', note: 'set' }
      : {
          name: 'Permissions-Policy',
          value: null,
          verdict: 'missing',
          note: 'browser features not restricted',
        },
  );
  return out;
}

/** Findings for missing or weak headers: HSTS missing is medium, the rest low. */
export function headerFindings(reports: HeaderReport[], subject: string): Finding[] {
  return reports
    .filter((h) => h.verdict !== 'good')
    .map((h) => ({
      id: `headers.${h.name.toLowerCase()}:${subject}`,
      severity: h.name === 'Strict-Transport-Security' && h.verdict === 'missing' ? 'medium' : 'low',
      title: `${h.name} ${h.verdict} on ${subject}`,
      evidence:
        h.value === null
          ? `no ${h.name} header (${h.note})`
          : `${h.name}: ${h.value.slice(0, 200)} (${h.note})`,
      recommendation: RECOMMEND[h.name] ?? `Set ${h.name}.`,
    }));
}

const RECOMMEND: Record<string, string> = {
  'Strict-Transport-Security':
    'Send "Strict-Transport-Security: max-age=31536000; includeSubDomains" on every HTTPS response (nginx: add_header ... always;).',
  'Content-Security-Policy':
    "Send a Content-Security-Policy with default-src 'self' and explicit script sources; replace inline scripts with files or nonces instead of 'unsafe-inline'.",
  'X-Content-Type-Options': 'Send "X-Content-Type-Options: nosniff".',
  'X-Frame-Options': 'Send "X-Frame-Options: DENY" (or SAMEORIGIN), or CSP frame-ancestors.',
  'Referrer-Policy': 'Send "Referrer-Policy: strict-origin-when-cross-origin" (or stricter).',
  'Permissions-Policy':
    'Send a Permissions-Policy that turns off what the site does not use, e.g. "camera=(), microphone=(), geolocation=()".',
};
